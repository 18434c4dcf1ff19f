import WhisperTensor

/// Hyper-parameters read from the weights' shapes.
struct HyperParameters: Sendable, Equatable {
    var melBins: Int
    var width: Int
    var heads: Int
    var encoderLayers: Int
    var decoderLayers: Int
    var audioPositions: Int
    var textPositions: Int
    var vocabularySize: Int

    var headWidth: Int { width / heads }
}

/// One encoder block: pre-norm self-attention and feed-forward.
struct EncoderLayerWeights: Sendable {
    let attentionNorm: LayerNorm
    /// Q, K and V fused: `3·width` outputs.
    let queryKeyValue: Linear
    let attentionOutput: Linear
    let feedForwardNorm: LayerNorm
    let feedForwardIn: Linear
    let feedForwardOut: Linear
}

/// One decoder block: causal self-attention, cross-attention over the audio, feed-forward.
struct DecoderLayerWeights: Sendable {
    let selfAttentionNorm: LayerNorm
    let selfQueryKeyValue: Linear
    let selfAttentionOutput: Linear
    let crossAttentionNorm: LayerNorm
    let crossQuery: Linear
    /// Cross-attention K and V fused: `2·width` outputs, applied once per audio window.
    let crossKeyValue: Linear
    let crossAttentionOutput: Linear
    let feedForwardNorm: LayerNorm
    let feedForwardIn: Linear
    let feedForwardOut: Linear
}

/// All weights of a Whisper model, in `Float`, immutable after load.
struct ModelWeights: Sendable {
    let hyper: HyperParameters
    let conv1: Convolution1D
    let conv2: Convolution1D
    /// `audioPositions × width`.
    let encoderPositions: [Float]
    let encoderLayers: [EncoderLayerWeights]
    let encoderNorm: LayerNorm
    /// `vocabularySize × width` token embeddings, also the output projection (tied): rows are looked up with
    /// ``Linear/row(_:into:)`` and the layer applied gives the logits.
    let tokenEmbedding: Linear
    /// The tied embedding screened by an 8-bit copy for the logits of a decoder step (``ScreenedProduct``); `nil`
    /// when the embedding is itself in 8 bits.
    let logitScreen: ScreenedProduct?
    /// `textPositions × width`.
    let decoderPositions: [Float]
    let decoderLayers: [DecoderLayerWeights]
    let decoderNorm: LayerNorm

    /// Every fully connected layer, the tied embedding included.
    private var linearLayers: [Linear] {
        encoderLayers.flatMap { [$0.queryKeyValue, $0.attentionOutput, $0.feedForwardIn, $0.feedForwardOut] }
            + decoderLayers.flatMap {
                [$0.selfQueryKeyValue, $0.selfAttentionOutput, $0.crossQuery, $0.crossKeyValue, $0.crossAttentionOutput,
                 $0.feedForwardIn, $0.feedForwardOut]
            } + [tokenEmbedding]
    }

    /// Parameters held in `Float` whatever the checkpoint's precision: norms, convolutions, positions.
    private var otherParameterCount: Int {
        let norms = encoderLayers.flatMap { [$0.attentionNorm, $0.feedForwardNorm] }
            + decoderLayers.flatMap { [$0.selfAttentionNorm, $0.crossAttentionNorm, $0.feedForwardNorm] }
            + [encoderNorm, decoderNorm]
        return norms.reduce(0) { $0 + 2 * $1.gamma.count } + conv1.parameterCount + conv2.parameterCount
            + encoderPositions.count + decoderPositions.count
    }

    var parameterCount: Int {
        linearLayers.reduce(0) { $0 + $1.parameterCount } + otherParameterCount
    }

    /// Bytes of weights one decoder step reads, however many sequences it advances: the decoder layers' matrices
    /// except the cross-attention keys/values (applied once per window), and the tied embedding for the logits.
    var decoderStepBytes: Int {
        decoderLayers.reduce(tokenEmbedding.memoryBytes) { total, layer in
            [layer.selfQueryKeyValue, layer.selfAttentionOutput, layer.crossQuery, layer.crossAttentionOutput,
             layer.feedForwardIn, layer.feedForwardOut].reduce(total) { $0 + $1.memoryBytes }
        }
    }

    /// Bytes the weights occupy in memory (matrices exactly representable in half precision are stored so), the 8-bit
    /// copy of the embedding for screened logits included.
    var memoryBytes: Int {
        linearLayers.reduce(0) { $0 + $1.memoryBytes } + otherParameterCount * MemoryLayout<Float>.size
            + (logitScreen?.screenBytes ?? 0)
    }
}

extension ModelWeights {
    /// The same weights with the matrices every decoder step reads (the decoder layers' but the cross-attention
    /// keys/values, and the tied embedding) quantised to 8 bits with a scale per row (``Linear/quantizedToInt8()``).
    func withInt8Decoder() -> ModelWeights {
        ModelWeights(
            hyper: hyper, conv1: conv1, conv2: conv2, encoderPositions: encoderPositions, encoderLayers: encoderLayers,
            encoderNorm: encoderNorm, tokenEmbedding: tokenEmbedding.quantizedToInt8(), logitScreen: nil,
            decoderPositions: decoderPositions,
            decoderLayers: decoderLayers.map {
                DecoderLayerWeights(
                    selfAttentionNorm: $0.selfAttentionNorm, selfQueryKeyValue: $0.selfQueryKeyValue.quantizedToInt8(),
                    selfAttentionOutput: $0.selfAttentionOutput.quantizedToInt8(), crossAttentionNorm: $0.crossAttentionNorm,
                    crossQuery: $0.crossQuery.quantizedToInt8(), crossKeyValue: $0.crossKeyValue,
                    crossAttentionOutput: $0.crossAttentionOutput.quantizedToInt8(), feedForwardNorm: $0.feedForwardNorm,
                    feedForwardIn: $0.feedForwardIn.quantizedToInt8(), feedForwardOut: $0.feedForwardOut.quantizedToInt8())
            },
            decoderNorm: decoderNorm)
    }
}

