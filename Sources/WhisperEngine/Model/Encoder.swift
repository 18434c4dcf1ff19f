import WhisperTensor

/// The audio encoder: two convolutions with GELU, positions, pre-norm transformer blocks, final norm.
struct Encoder {
    let weights: ModelWeights

    /// Encodes one window of `windowFrames × melBins` features (time-major) into `audioPositions × width` states.
    func encode(_ features: [Float]) -> Tensor {
        let hyper = weights.hyper
        let frames = features.count / hyper.melBins
        var x = features.withUnsafeBufferPointer {
            weights.conv1.apply($0.baseAddress!, frames: frames, frameStride: hyper.melBins, channelStride: 1)
        }
        x.applyGELU()
        x = x.storage.withUnsafeBufferPointer {
            weights.conv2.apply($0.baseAddress!, frames: x.rows, frameStride: hyper.width, channelStride: 1)
        }
        x.applyGELU()
        precondition(x.rows <= hyper.audioPositions, "encoder input longer than the model's positions")
        weights.encoderPositions.withUnsafeBufferPointer { positions in
            x.storage.withUnsafeMutableBufferPointer { values in
                Activations.add(positions.baseAddress!, into: values.baseAddress!, count: values.count)
            }
        }
        var scores = [Float](repeating: 0, count: x.rows * x.rows)
        for layer in weights.encoderLayers {
            let qkv = layer.queryKeyValue(layer.attentionNorm(x))
            var attended = Tensor(rows: x.rows, columns: hyper.width)
            qkv.storage.withUnsafeBufferPointer { q in
                attended.storage.withUnsafeMutableBufferPointer { out in
                    scores.withUnsafeMutableBufferPointer { s in
                        let stride = 3 * hyper.width
                        Attention.multiHead(
                            query: .init(base: q.baseAddress!, rows: x.rows, stride: stride),
                            keys: .init(base: q.baseAddress! + hyper.width, rows: x.rows, stride: stride),
                            values: .init(base: q.baseAddress! + 2 * hyper.width, rows: x.rows, stride: stride),
                            output: out.baseAddress!, outputStride: hyper.width,
                            heads: hyper.heads, headWidth: hyper.headWidth, scores: s.baseAddress!)
                    }
                }
            }
            x.add(layer.attentionOutput(attended))
            var hidden = layer.feedForwardIn(layer.feedForwardNorm(x))
            hidden.applyGELU()
            x.add(layer.feedForwardOut(hidden))
        }
        return weights.encoderNorm(x)
    }
}

extension Tensor {
    /// Adds another tensor of the same shape, in place.
    mutating func add(_ other: Tensor) {
        other.storage.withUnsafeBufferPointer { source in
            storage.withUnsafeMutableBufferPointer { target in
                Activations.add(source.baseAddress!, into: target.baseAddress!, count: target.count)
            }
        }
    }
}
