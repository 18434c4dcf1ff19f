import WhisperTensor

/// The audio encoder: two convolutions with GELU, positions, pre-norm transformer blocks, final norm.
struct Encoder {
    let weights: ModelWeights
    /// The precision of the matrix products (``ProductPrecision/available``).
    let precision: ProductPrecision

    init(weights: ModelWeights, precision: ProductPrecision = .float32) {
        self.weights = weights
        self.precision = precision.available
    }

    /// Encodes one window of `windowFrames × melBins` features (time-major) into `audioPositions × width` states.
    func encode(_ features: [Float]) -> Tensor {
        let hyper = weights.hyper
        let frames = features.count / hyper.melBins
        var x = features.withUnsafeBufferPointer {
            weights.conv1.apply(
                $0.baseAddress!, frames: frames, frameStride: hyper.melBins, channelStride: 1, precision: precision, thenGELU: true)
        }
        x = x.storage.withUnsafeBufferPointer {
            weights.conv2.apply(
                $0.baseAddress!, frames: x.rows, frameStride: hyper.width, channelStride: 1, precision: precision, thenGELU: true)
        }
        precondition(x.rows <= hyper.audioPositions, "encoder input longer than the model's positions")
        weights.encoderPositions.withUnsafeBufferPointer { positions in
            x.storage.withUnsafeMutableBufferPointer { values in
                Activations.add(positions.baseAddress!, into: values.baseAddress!, count: values.count)
            }
        }
        // Scratch for the attention scores, left uninitialised: only the part the attention writes is touched (one
        // block of 128 query rows, the first thread's, on oneDNN), not all 9 MB.
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: precision == .float32 ? x.rows * x.rows : 0)
        defer { scores.deallocate() }
        for layer in weights.encoderLayers {
            let qkv = layer.queryKeyValue(layer.attentionNorm(x), precision: precision)
            var attended = Tensor(uninitializedRows: x.rows, columns: hyper.width)
            qkv.storage.withUnsafeBufferPointer { q in
                attended.storage.withUnsafeMutableBufferPointer { out in
                    if precision == .bfloat16 {
                        return Attention.selfAttentionBFloat16(
                            queryKeyValue: q.baseAddress!, rows: x.rows, width: hyper.width, heads: hyper.heads,
                            output: out.baseAddress!)
                    }
                    let stride = 3 * hyper.width
                    Attention.multiHead(
                        query: .init(base: q.baseAddress!, rows: x.rows, stride: stride),
                        keys: .init(base: q.baseAddress! + hyper.width, rows: x.rows, stride: stride),
                        values: .init(base: q.baseAddress! + 2 * hyper.width, rows: x.rows, stride: stride),
                        output: out.baseAddress!, outputStride: hyper.width,
                        heads: hyper.heads, headWidth: hyper.headWidth, scores: scores)
                }
            }
            layer.attentionOutput.addProduct(of: attended, to: &x, precision: precision)
            let hidden = layer.feedForwardIn(layer.feedForwardNorm(x), precision: precision, thenGELU: true)
            layer.feedForwardOut.addProduct(of: hidden, to: &x, precision: precision)
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
