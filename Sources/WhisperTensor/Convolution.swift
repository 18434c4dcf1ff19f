/// One-dimensional convolution over time as a matrix product (im2col), output time-major `[frames, outChannels]`.
public struct Convolution1D: Sendable {
    /// The kernel as a matrix over im2col patches: `outChannels × (inChannels · kernel)`, with the bias.
    let layer: Linear
    /// Input channels.
    public let inChannels: Int
    /// Output channels.
    public let outChannels: Int
    /// Kernel width.
    public let kernel: Int
    /// Step between output frames.
    public let stride: Int
    /// Zero frames added on both sides.
    public let padding: Int

    /// Creates a convolution; shapes are checked.
    public init(weight: [Float], bias: [Float], inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int) {
        precondition(weight.count == outChannels * inChannels * kernel && bias.count == outChannels, "conv shape mismatch")
        self.layer = Linear(weight: weight, bias: bias, inputs: inChannels * kernel, outputs: outChannels)
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
    }

    /// Weights and biases.
    public var parameterCount: Int { layer.parameterCount }

    /// Output frames for `frames` input frames.
    public func outputFrames(for frames: Int) -> Int {
        (frames + 2 * padding - kernel) / stride + 1
    }

    /// Convolves `frames` input frames, where channel `c` of frame `t` is at `input[t · frameStride + c · channelStride]`.
    /// The product runs in `precision` (see ``Linear/callAsFunction(_:precision:thenGELU:)``), followed by exact GELU
    /// when `thenGELU` is set.
    /// - Returns: `[outputFrames, outChannels]`, row-major.
    public func apply(
        _ input: UnsafePointer<Float>, frames: Int, frameStride: Int, channelStride: Int,
        precision: ProductPrecision = .float32, thenGELU: Bool = false
    ) -> Tensor {
        let outFrames = outputFrames(for: frames)
        let patch = inChannels * kernel
        var columns = [Float](repeating: 0, count: outFrames * patch)
        columns.withUnsafeMutableBufferPointer { cols in
            for t in 0..<outFrames {
                let row = cols.baseAddress! + t * patch
                for k in 0..<kernel {
                    let source = t * stride + k - padding
                    guard source >= 0 && source < frames else { continue }
                    let frame = input + source * frameStride
                    for c in 0..<inChannels { row[c * kernel + k] = frame[c * channelStride] }
                }
            }
        }
        return layer(Tensor(rows: outFrames, columns: patch, values: columns), precision: precision, thenGELU: thenGELU)
    }
}
