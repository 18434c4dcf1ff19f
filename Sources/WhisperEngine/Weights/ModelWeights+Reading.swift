import WhisperTensor

extension ModelWeights {
    /// Reads every weight by its canonical name; hyper-parameters come from the tensors' shapes.
    /// - Parameter file: the weights, in any format.
    /// - Throws: ``ModelLoadingError`` naming the file and the missing or malformed tensor.
    init(source file: some TensorSource) throws(ModelLoadingError) {
        let embeddingShape = try file.shape("decoder/embeddings/weight")
        let conv1Shape = try file.shape("encoder/conv1/weight")
        let audioShape = try file.shape("encoder/position_encodings/encodings")
        let textShape = try file.shape("decoder/position_encodings/encodings")
        guard embeddingShape.count == 2, conv1Shape.count == 3, audioShape.count == 2, textShape.count == 2 else {
            throw ModelLoadingError(.corrupt, "\(file.fileName): unexpected tensor ranks for a Whisper model")
        }
        let width = embeddingShape[1]
        let heads = try file.integer("encoder/num_heads")
        guard heads > 0, width % heads == 0 else {
            throw ModelLoadingError(.corrupt, "\(file.fileName): width \(width) is not divisible by \(heads) heads")
        }
        func layerCount(_ prefix: String) -> Int {
            var count = 0
            while file.contains("\(prefix)/layer_\(count)/ffn/linear_0/weight") { count += 1 }
            return count
        }
        let hyper = HyperParameters(
            melBins: conv1Shape[1], width: width, heads: heads,
            encoderLayers: layerCount("encoder"), decoderLayers: layerCount("decoder"),
            audioPositions: audioShape[0], textPositions: textShape[0], vocabularySize: embeddingShape[0])
        guard hyper.encoderLayers > 0, hyper.decoderLayers > 0 else {
            throw ModelLoadingError(.corrupt, "\(file.fileName): no encoder or decoder layers found")
        }
        for name in ["decoder/pre_norm", "decoder/scale_embeddings"] where file.contains(name) {
            let expected = name == "decoder/pre_norm" ? 1 : 0
            if try file.integer(name) != expected {
                throw ModelLoadingError(.unsupported, "\(file.fileName): \(name) = \(1 - expected) is not a Whisper architecture")
            }
        }

        func linear(_ prefix: String, inputs: Int, outputs: Int) throws(ModelLoadingError) -> Linear {
            let weight = try file.floats(prefix + "/weight", shape: [outputs, inputs])
            let bias = file.contains(prefix + "/bias") ? try file.floats(prefix + "/bias", shape: [outputs]) : []
            return Linear(weight: weight, bias: bias, inputs: inputs, outputs: outputs)
        }
        func norm(_ prefix: String) throws(ModelLoadingError) -> LayerNorm {
            LayerNorm(gamma: try file.floats(prefix + "/gamma", shape: [width]), beta: try file.floats(prefix + "/beta", shape: [width]))
        }
        func conv(_ prefix: String, inChannels: Int, stride: Int) throws(ModelLoadingError) -> Convolution1D {
            Convolution1D(
                weight: try file.floats(prefix + "/weight", shape: [width, inChannels, 3]),
                bias: try file.floats(prefix + "/bias", shape: [width]),
                inChannels: inChannels, outChannels: width, kernel: 3, stride: stride, padding: 1)
        }
        let hidden = try file.shape("encoder/layer_0/ffn/linear_0/weight")[0]
        let tokenEmbedding = Linear(
            weight: try file.floats("decoder/embeddings/weight"), bias: [], inputs: width, outputs: hyper.vocabularySize)

        var encoderLayers: [EncoderLayerWeights] = []
        for index in 0..<hyper.encoderLayers {
            let p = "encoder/layer_\(index)"
            encoderLayers.append(
                EncoderLayerWeights(
                    attentionNorm: try norm("\(p)/self_attention/layer_norm"),
                    queryKeyValue: try linear("\(p)/self_attention/linear_0", inputs: width, outputs: 3 * width),
                    attentionOutput: try linear("\(p)/self_attention/linear_1", inputs: width, outputs: width),
                    feedForwardNorm: try norm("\(p)/ffn/layer_norm"),
                    feedForwardIn: try linear("\(p)/ffn/linear_0", inputs: width, outputs: hidden),
                    feedForwardOut: try linear("\(p)/ffn/linear_1", inputs: hidden, outputs: width)))
        }
        var decoderLayers: [DecoderLayerWeights] = []
        for index in 0..<hyper.decoderLayers {
            let p = "decoder/layer_\(index)"
            decoderLayers.append(
                DecoderLayerWeights(
                    selfAttentionNorm: try norm("\(p)/self_attention/layer_norm"),
                    selfQueryKeyValue: try linear("\(p)/self_attention/linear_0", inputs: width, outputs: 3 * width),
                    selfAttentionOutput: try linear("\(p)/self_attention/linear_1", inputs: width, outputs: width),
                    crossAttentionNorm: try norm("\(p)/attention/layer_norm"),
                    crossQuery: try linear("\(p)/attention/linear_0", inputs: width, outputs: width),
                    crossKeyValue: try linear("\(p)/attention/linear_1", inputs: width, outputs: 2 * width),
                    crossAttentionOutput: try linear("\(p)/attention/linear_2", inputs: width, outputs: width),
                    feedForwardNorm: try norm("\(p)/ffn/layer_norm"),
                    feedForwardIn: try linear("\(p)/ffn/linear_0", inputs: width, outputs: hidden),
                    feedForwardOut: try linear("\(p)/ffn/linear_1", inputs: hidden, outputs: width)))
        }
        self.init(
            hyper: hyper,
            conv1: try conv("encoder/conv1", inChannels: hyper.melBins, stride: 1),
            conv2: try conv("encoder/conv2", inChannels: width, stride: 2),
            encoderPositions: try file.floats("encoder/position_encodings/encodings"),
            encoderLayers: encoderLayers,
            encoderNorm: try norm("encoder/layer_norm"),
            tokenEmbedding: tokenEmbedding, logitScreen: ScreenedProduct(tokenEmbedding),
            decoderPositions: try file.floats("decoder/position_encodings/encodings"),
            decoderLayers: decoderLayers,
            decoderNorm: try norm("decoder/layer_norm"))
    }
}
