import Foundation

/// Loads a whisper.cpp ggml model file; a `tokenizer.json` or `vocabulary.txt` beside it is preferred to the file's
/// own vocabulary, and decoding settings are the reference's defaults.
struct GGMLLoader {
    let file: URL

    func load() throws(ModelLoadingError) -> WhisperModel {
        let ggml = try GGMLFile(url: file)
        let header = ggml.hyper
        guard header.audioWidth == header.textWidth, header.audioHeads == header.textHeads else {
            throw ModelLoadingError(
                .unsupported, "\(ggml.fileName): encoder and decoder differ in width or heads, which is not a Whisper architecture")
        }
        let source = CheckpointTensors(file: ggml, naming: .openAI, scalars: ["encoder/num_heads": header.audioHeads])
        let weights = try ModelWeights(source: source)
        let hyper = weights.hyper
        let expected = HyperParameters(
            melBins: header.melBins, width: header.audioWidth, heads: header.audioHeads, encoderLayers: header.audioLayers,
            decoderLayers: header.textLayers, audioPositions: header.audioContext, textPositions: header.textContext,
            vocabularySize: header.vocabularySize)
        guard hyper == expected else {
            throw ModelLoadingError(.corrupt, "\(ggml.fileName): the tensors' shapes \(hyper) do not match the header's \(expected)")
        }
        let directory = file.deletingLastPathComponent()
        let tokenizer: Tokenizer
        if ["tokenizer.json", "vocabulary.txt"].contains(where: { FileManager.default.fileExists(atPath: directory.appendingPathComponent($0).path) }) {
            tokenizer = try Tokenizer(directory: directory, vocabularySize: hyper.vocabularySize)
        } else {
            tokenizer = try Tokenizer(ordinaryTokens: ggml.vocabulary, vocabularySize: hyper.vocabularySize)
        }
        let info = ModelInfo(
            format: header.formatName ?? "ggml", weights: weights, tokenizer: tokenizer, fileBytes: ModelFormat.fileSize(file))
        return WhisperModel(info: info, weights: weights, tokenizer: tokenizer, configuration: ModelConfiguration(defaultsFor: tokenizer, hyper: hyper))
    }
}
