/// What a loaded model is and can do, read from its files.
public struct ModelInfo: Sendable, Equatable {
    /// The model's weight format: `"ctranslate2"`, `"ggml-f32"`, `"ggml-f16"`, `"ggml-q8_0"`, `"ggml-q5_0"`,
    /// `"ggml-q5_1"`, `"safetensors-f32"`, `"safetensors-f16"` or `"safetensors-bf16"`.
    public var format: String
    /// Whether the vocabulary has language tokens (English-only models have none to choose from).
    public var isMultilingual: Bool
    /// Mel bins of the input features (80, or 128 for large-v3).
    public var melBins: Int
    /// Hidden width of encoder and decoder.
    public var width: Int
    /// Attention heads per layer.
    public var heads: Int
    /// Encoder layers.
    public var encoderLayers: Int
    /// Decoder layers.
    public var decoderLayers: Int
    /// Tokens in the vocabulary.
    public var vocabularySize: Int
    /// Longest token sequence the decoder's positions allow.
    public var maxTextPositions: Int
    /// Number of weights.
    public var parameterCount: Int
    /// Size of the weight file on disk.
    public var fileBytes: Int
    /// Bytes the loaded weights occupy in memory.
    public var memoryBytes: Int
    /// Bytes of weights one decoder step reads, shared by every sequence it advances (batched steps read them once).
    public var decoderStepBytes: Int
    /// Bytes of cross-attention keys and values over one 30 s window that each sequence's decoder step reads.
    public var crossAttentionBytesPerWindow: Int

    /// Whether the model can translate to English.
    public var canTranslate: Bool { isMultilingual }

    /// Describes `weights` and `tokenizer` loaded from a weight file of `fileBytes` bytes in `format`.
    init(format: String, weights: ModelWeights, tokenizer: Tokenizer, fileBytes: Int) {
        let hyper = weights.hyper
        self.format = format
        isMultilingual = tokenizer.specialTokens.isMultilingual
        melBins = hyper.melBins
        width = hyper.width
        heads = hyper.heads
        encoderLayers = hyper.encoderLayers
        decoderLayers = hyper.decoderLayers
        vocabularySize = hyper.vocabularySize
        maxTextPositions = hyper.textPositions
        parameterCount = weights.parameterCount
        self.fileBytes = fileBytes
        memoryBytes = weights.memoryBytes
        decoderStepBytes = weights.decoderStepBytes
        crossAttentionBytesPerWindow = hyper.decoderLayers * hyper.audioPositions * 2 * hyper.width * MemoryLayout<Float16>.size
    }
}
