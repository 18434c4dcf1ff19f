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
                    normalise(input + row * width, into: output + row * width, width: width, gamma: g.baseAddress!, beta: b.baseAddress!)
                }
            }
        }
    }

    @inline(__always)
    private func normalise(
        _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, width: Int,
        gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>
    ) {
        let vectorEnd = width - width % laneCount
        var sum = Lanes()
        var j = 0
        while j < vectorEnd {
            sum += x.lanes(at: j)
            j += laneCount
        }
        var total = sum.sum()
        for k in vectorEnd..<width { total += x[k] }
        let mean = total / Float(width)
        var squares = Lanes()
        j = 0
        while j < vectorEnd {
            let d = x.lanes(at: j) - mean
            squares = squares.addingProduct(d, d)
            j += laneCount
        }
        var squareTotal = squares.sum()
        for k in vectorEnd..<width { squareTotal += (x[k] - mean) * (x[k] - mean) }
        let inverse = 1 / (squareTotal / Float(width) + epsilon).squareRoot()
        j = 0
        while j < vectorEnd {
            y.store((x.lanes(at: j) - mean) * inverse * gamma.lanes(at: j) + beta.lanes(at: j), at: j)
            j += laneCount
        }
        for k in vectorEnd..<width { y[k] = (x[k] - mean) * inverse * gamma[k] + beta[k] }
    }

    /// Normalises every row of a tensor.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        var output = Tensor(uninitializedRows: input.rows, columns: input.columns)
        input.storage.withUnsafeBufferPointer { x in
            output.storage.withUnsafeMutableBufferPointer { y in
                apply(x.baseAddress!, rows: input.rows, into: y.baseAddress!)
            }
        }
        return output
    }
}
