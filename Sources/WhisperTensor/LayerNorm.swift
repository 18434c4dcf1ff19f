/// Layer normalisation over each row: `(x − mean) / sqrt(var + ε) · γ + β`.
public struct LayerNorm: Sendable {
    /// Scale, one per column.
    public let gamma: [Float]
    /// Shift, one per column.
    public let beta: [Float]
    /// Added to the variance.
    public let epsilon: Float

    /// Creates a layer norm; `gamma` and `beta` have the row width.
    public init(gamma: [Float], beta: [Float], epsilon: Float = 1e-5) {
        precondition(gamma.count == beta.count, "layer norm shape mismatch")
        self.gamma = gamma
        self.beta = beta
        self.epsilon = epsilon
    }

    /// Normalises `rows` rows of `input` into `output` (which may be the same buffer).
    public func apply(_ input: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>) {
        let width = gamma.count
        gamma.withUnsafeBufferPointer { g in
            beta.withUnsafeBufferPointer { b in
                for row in 0..<rows {
                    let x = input + row * width
                    let y = output + row * width
                    var sum: Float = 0
                    for j in 0..<width { sum += x[j] }
                    let mean = sum / Float(width)
                    var squares: Float = 0
                    for j in 0..<width {
                        let d = x[j] - mean
                        squares += d * d
                    }
                    let inverse = 1 / (squares / Float(width) + epsilon).squareRoot()
                    for j in 0..<width { y[j] = (x[j] - mean) * inverse * g[j] + b[j] }
                }
            }
        }
    }

    /// Normalises every row of a tensor.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        var output = Tensor(rows: input.rows, columns: input.columns)
        input.storage.withUnsafeBufferPointer { x in
            output.storage.withUnsafeMutableBufferPointer { y in
                apply(x.baseAddress!, rows: input.rows, into: y.baseAddress!)
            }
        }
        return output
    }
}
