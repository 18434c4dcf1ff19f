/// A fully connected layer `Y = X · Wᵀ + b` with weights in PyTorch's `[out, in]` layout.
public struct Linear: Sendable {
    /// `outputs × inputs` values, row-major.
    public let weight: [Float]
    /// `outputs` values, or empty for no bias.
    public let bias: [Float]
    /// Input width.
    public let inputs: Int
    /// Output width.
    public let outputs: Int

    /// Creates a layer; `weight.count` must be `outputs × inputs` and `bias` empty or `outputs` long.
    public init(weight: [Float], bias: [Float], inputs: Int, outputs: Int) {
        precondition(weight.count == inputs * outputs, "linear weight shape mismatch")
        precondition(bias.isEmpty || bias.count == outputs, "linear bias shape mismatch")
        self.weight = weight
        self.bias = bias
        self.inputs = inputs
        self.outputs = outputs
    }

    /// Applies the layer to `rows` input rows (stride `inputs`), writing `rows` output rows (stride `outputs`).
    public func apply(_ input: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>) {
        weight.withUnsafeBufferPointer { w in
            Matrix.multiply(input, w.baseAddress!, into: output, m: rows, n: outputs, k: inputs, transposeB: true)
        }
        guard !bias.isEmpty else { return }
        bias.withUnsafeBufferPointer { b in
            for row in 0..<rows {
                let out = output + row * outputs
                for j in 0..<outputs { out[j] += b[j] }
            }
        }
    }

    /// Applies the layer to a tensor whose columns are `inputs`.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        precondition(input.columns == inputs, "linear input width mismatch")
        var output = Tensor(rows: input.rows, columns: outputs)
        input.storage.withUnsafeBufferPointer { x in
            output.storage.withUnsafeMutableBufferPointer { y in
                apply(x.baseAddress!, rows: input.rows, into: y.baseAddress!)
            }
        }
        return output
    }
}
