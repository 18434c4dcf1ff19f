/// A fully connected layer `Y = X · Wᵀ + b` with weights in PyTorch's `[out, in]` layout.
///
/// Weights that half precision represents exactly (Whisper checkpoints are trained and usually shipped in float16) are
/// stored as `Float16`, halving memory and the bandwidth the one-token-at-a-time decoder needs; products are always
/// computed in `Float`. Few input rows go through ``MatrixVector`` (bandwidth-bound), many through `sgemm`.
public struct Linear: Sendable {
    /// Input width.
    public let inputs: Int
    /// Output width.
    public let outputs: Int
    /// `outputs` values, or empty for no bias.
    public let bias: [Float]
    let weight: WeightStorage

    /// Creates a layer; `weight.count` must be `outputs × inputs` and `bias` empty or `outputs` long.
    public init(weight: [Float], bias: [Float], inputs: Int, outputs: Int) {
        precondition(weight.count == inputs * outputs, "linear weight shape mismatch")
        precondition(bias.isEmpty || bias.count == outputs, "linear bias shape mismatch")
        self.weight = WeightStorage(compacting: weight)
        self.bias = bias
        self.inputs = inputs
        self.outputs = outputs
    }

    /// Weights and biases.
    public var parameterCount: Int { inputs * outputs + bias.count }

    /// Whether the weights are held in half precision (they were exactly representable).
    public var storesHalfPrecision: Bool {
        if case .half = weight { true } else { false }
    }

    /// Bytes the weights and biases occupy.
    public var memoryBytes: Int { weight.memoryBytes + bias.count * MemoryLayout<Float>.size }

    /// Writes row `index` of the weight matrix (`inputs` values) to `output`, e.g. a token's embedding.
    public func row(_ index: Int, into output: UnsafeMutablePointer<Float>) {
        precondition(index >= 0 && index < outputs, "row out of range")
        weight.copyRows(index..<index + 1, width: inputs, into: output)
    }

    /// Applies the layer to `rows` input rows (stride `inputs`), writing `rows` output rows (stride `outputs`).
    public func apply(_ input: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>) {
        if rows <= MatrixVector.maximumRows {
            switch weight {
            case .half(let values):
                values.withUnsafeBufferPointer {
                    MatrixVector.multiply($0.baseAddress!, outputs: outputs, inputs: inputs, by: input, rows: rows, into: output)
                }
            case .single(let values):
                values.withUnsafeBufferPointer {
                    MatrixVector.multiply($0.baseAddress!, outputs: outputs, inputs: inputs, by: input, rows: rows, into: output)
                }
            }
        } else {
            weight.withSinglePrecision(count: outputs * inputs) { w in
                Matrix.multiply(input, w, into: output, m: rows, n: outputs, k: inputs, transposeB: true)
            }
        }
        guard !bias.isEmpty else { return }
        bias.withUnsafeBufferPointer { b in
            for row in 0..<rows {
                Activations.add(b.baseAddress!, into: output + row * outputs, count: outputs)
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

/// A weight matrix in `Float` or, when that loses nothing, `Float16`.
enum WeightStorage: Sendable {
    case single([Float])
    case half([Float16])

    /// Half precision when every value survives the round trip exactly, single otherwise.
    init(compacting values: [Float]) {
        var half = [Float16](repeating: 0, count: values.count)
        let exact = values.withUnsafeBufferPointer { source in
            half.withUnsafeMutableBufferPointer { target in
                for i in source.indices {
                    let h = Float16(source[i])
                    target[i] = h
                    if Float(h) != source[i] && !source[i].isNaN { return false }
                }
                return true
            }
        }
        self = exact ? .half(half) : .single(values)
    }

    var memoryBytes: Int {
        switch self {
        case .single(let values): values.count * MemoryLayout<Float>.size
        case .half(let values): values.count * MemoryLayout<Float16>.size
        }
    }

    /// Copies rows `range` (each `width` wide) as `Float`.
    func copyRows(_ range: Range<Int>, width: Int, into output: UnsafeMutablePointer<Float>) {
        switch self {
        case .single(let values):
            values.withUnsafeBufferPointer { output.update(from: $0.baseAddress! + range.lowerBound * width, count: range.count * width) }
        case .half(let values):
            values.withUnsafeBufferPointer {
                MatrixVector.widen($0.baseAddress! + range.lowerBound * width, count: range.count * width, into: output)
            }
        }
    }

    /// Calls `body` with all `count` values in `Float` (widened into a temporary buffer when stored as `Float16`).
    func withSinglePrecision<Result>(count: Int, _ body: (UnsafePointer<Float>) -> Result) -> Result {
        switch self {
        case .single(let values):
            return values.withUnsafeBufferPointer { body($0.baseAddress!) }
        case .half:
            let widened = UnsafeMutablePointer<Float>.allocate(capacity: count)
            defer { widened.deallocate() }
            copyRows(0..<1, width: count, into: widened)
            return body(widened)
        }
    }
}
