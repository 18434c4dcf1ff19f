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
    /// `vocabularySize × width`; also the output projection (tied).
    let tokenEmbedding: [Float]
    /// `textPositions × width`.
    let decoderPositions: [Float]
    let decoderLayers: [DecoderLayerWeights]
    let decoderNorm: LayerNorm

    var parameterCount: Int {
        func linear(_ l: Linear) -> Int { l.weight.count + l.bias.count }
        func norm(_ n: LayerNorm) -> Int { n.gamma.count * 2 }
        let encoder = encoderLayers.reduce(0) {
            $0 + norm($1.attentionNorm) + linear($1.queryKeyValue) + linear($1.attentionOutput)
                + norm($1.feedForwardNorm) + linear($1.feedForwardIn) + linear($1.feedForwardOut)
        }
        let decoder = decoderLayers.reduce(0) {
            $0 + norm($1.selfAttentionNorm) + linear($1.selfQueryKeyValue) + linear($1.selfAttentionOutput)
                + norm($1.crossAttentionNorm) + linear($1.crossQuery) + linear($1.crossKeyValue)
                + linear($1.crossAttentionOutput) + norm($1.feedForwardNorm) + linear($1.feedForwardIn)
                + linear($1.feedForwardOut)
        }
        return conv1.weight.count + conv1.bias.count + conv2.weight.count + conv2.bias.count + encoderPositions.count
            + encoder + norm(encoderNorm) + tokenEmbedding.count + decoderPositions.count + decoder + norm(decoderNorm)
    }
}
