/// The cross-attention heads that follow the audio in OpenAI's released Whisper models, as the reference
/// publishes them (`_ALIGNMENT_HEADS` in openai-whisper), for weights that ship without them (ggml files).
///
/// Models are told apart by their shapes; large-v1 and large-v2 share theirs, so neither is listed, and
/// unknown models (distilled ones, fine-tunes with new shapes) get the word aligner's own fallback.
enum AlignmentHeads {
    private struct Shape: Hashable {
        let encoderLayers: Int
        let decoderLayers: Int
        let width: Int
        let vocabularySize: Int
    }

    private static let known: [Shape: [(layer: Int, head: Int)]] = [
        Shape(encoderLayers: 4, decoderLayers: 4, width: 384, vocabularySize: 51_864):  // tiny.en
            [(1, 0), (2, 0), (2, 5), (3, 0), (3, 1), (3, 2), (3, 3), (3, 4)],
        Shape(encoderLayers: 4, decoderLayers: 4, width: 384, vocabularySize: 51_865):  // tiny
            [(2, 2), (3, 0), (3, 2), (3, 3), (3, 4), (3, 5)],
        Shape(encoderLayers: 6, decoderLayers: 6, width: 512, vocabularySize: 51_864):  // base.en
            [(3, 3), (4, 7), (5, 1), (5, 5), (5, 7)],
        Shape(encoderLayers: 6, decoderLayers: 6, width: 512, vocabularySize: 51_865):  // base
            [(3, 1), (4, 2), (4, 3), (4, 7), (5, 1), (5, 2), (5, 4), (5, 6)],
        Shape(encoderLayers: 12, decoderLayers: 12, width: 768, vocabularySize: 51_864):  // small.en
            [(6, 6), (7, 0), (7, 3), (7, 8), (8, 2), (8, 5), (8, 7), (9, 0), (9, 4), (9, 8), (9, 10), (10, 0), (10, 1), (10, 2),
             (10, 3), (10, 6), (10, 11), (11, 2), (11, 4)],
        Shape(encoderLayers: 12, decoderLayers: 12, width: 768, vocabularySize: 51_865):  // small
            [(5, 3), (5, 9), (8, 0), (8, 4), (8, 7), (8, 8), (9, 0), (9, 7), (9, 9), (10, 5)],
        Shape(encoderLayers: 24, decoderLayers: 24, width: 1024, vocabularySize: 51_864):  // medium.en
            [(11, 4), (14, 1), (14, 12), (14, 14), (15, 4), (16, 0), (16, 4), (16, 9), (17, 12), (17, 14), (18, 7), (18, 10),
             (18, 15), (20, 0), (20, 3), (20, 9), (20, 14), (21, 12)],
        Shape(encoderLayers: 24, decoderLayers: 24, width: 1024, vocabularySize: 51_865):  // medium
            [(13, 15), (15, 4), (15, 15), (16, 1), (20, 0), (23, 4)],
        Shape(encoderLayers: 32, decoderLayers: 32, width: 1280, vocabularySize: 51_866):  // large-v3
            [(7, 0), (10, 17), (12, 18), (13, 12), (16, 1), (17, 14), (19, 11), (21, 4), (24, 1), (25, 6)],
        Shape(encoderLayers: 32, decoderLayers: 4, width: 1280, vocabularySize: 51_866):  // large-v3-turbo
            [(2, 4), (2, 11), (3, 3), (3, 6), (3, 11), (3, 14)],
    ]

    /// The released model's alignment heads for weights of these shapes, or none when the shapes are not one of them.
    static func forShapes(_ hyper: HyperParameters) -> [(layer: Int, head: Int)] {
        known[Shape(encoderLayers: hyper.encoderLayers, decoderLayers: hyper.decoderLayers, width: hyper.width, vocabularySize: hyper.vocabularySize)] ?? []
    }
}
