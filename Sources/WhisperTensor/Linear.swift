import Dispatch
import WhisperKernels

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
    /// This layer's oneDNN products, prepared on first use (``oneDNNPrecision(_:rows:)``).
    private let oneDNNProducts = OnceCache<LayerProductKey, LayerProduct>()

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

    /// Whether the weights are quantised to 8 bits (``quantizedToInt8()``).
    public var storesInt8: Bool {
        if case .int8 = weight { true } else { false }
    }

    /// The same layer with its weights quantised to 8 bits: each output row `w` becomes `round(w / s)` with
    /// `s = max|w| / 127`, and products are scaled by `s` after the sum (activations stay `Float`). A quarter of the
    /// `Float` bytes, half of half precision's, for the bandwidth-bound one-token-at-a-time products.
    public func quantizedToInt8() -> Linear {
        var values = [Int8](repeating: 0, count: outputs * inputs)
        var scales = [Float](repeating: 1, count: outputs)
        let (inputs, outputs, weight) = (inputs, outputs, weight)
        values.withUnsafeMutableBufferPointer { values in
            scales.withUnsafeMutableBufferPointer { scales in
                nonisolated(unsafe) let (values, scales) = (values.baseAddress!, scales.baseAddress!)
                // Rows in blocks spread over the cores (the token embedding has 51,864 rows).
                let block = 1024
                DispatchQueue.concurrentPerform(iterations: (outputs + block - 1) / block) { part in
                    let row = UnsafeMutablePointer<Float>.allocate(capacity: inputs)
                    defer { row.deallocate() }
                    for j in part * block..<min(outputs, (part + 1) * block) {
                        weight.copyRows(j..<j + 1, width: inputs, into: row)
                        var largest = Lanes()
                        var k = 0
                        while k + laneCount <= inputs {
                            let magnitude = UnsafePointer(row).lanes(at: k).magnitude
                            largest.replace(with: magnitude, where: magnitude .> largest)
                            k += laneCount
                        }
                        var largestValue = largest.max()
                        for k in k..<inputs { largestValue = max(largestValue, abs(row[k])) }
                        let scale = largestValue > 0 ? largestValue / 127 : 1
                        scales[j] = scale
                        let target = values + j * inputs
                        var k2 = 0
                        while k2 + laneCount <= inputs {
                            let q = (UnsafePointer(row).lanes(at: k2) / Lanes(repeating: scale)).rounded(.toNearestOrAwayFromZero)
                            for lane in 0..<laneCount { target[k2 + lane] = Int8(q[lane]) }
                            k2 += laneCount
                        }
                        for k in k2..<inputs { target[k] = Int8((row[k] / scale).rounded()) }
                    }
                }
            }
        }
        return Linear(storage: .int8(values, scales: scales), bias: bias, inputs: inputs, outputs: outputs)
    }

    private init(storage: WeightStorage, bias: [Float], inputs: Int, outputs: Int) {
        self.weight = storage
        self.bias = bias
        self.inputs = inputs
        self.outputs = outputs
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
            case .int8(let values, let scales):
                values.withUnsafeBufferPointer {
                    MatrixVector.multiply($0.baseAddress!, outputs: outputs, inputs: inputs, by: input, rows: rows, into: output)
                }
                scales.withUnsafeBufferPointer { s in
                    for row in 0..<rows { VectorMath.multiply(output + row * outputs, by: s.baseAddress!, count: outputs) }
                }
            }
        } else if Self.runsSgemmInRowBlocks(rows: rows) {
            return applySgemmInRowBlocks(input, rows: rows, into: output, thenGELU: false)
        } else {
            weight.withSinglePrecision(rows: outputs, width: inputs) { w in
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

    /// Applies the layer to a tensor whose columns are `inputs`, followed by exact GELU when `thenGELU` is set.
    /// - Parameter precision: ``ProductPrecision/bfloat16`` computes products of more than
    ///   ``MatrixVector/maximumRows`` rows in bfloat16 (with the GELU fused); fewer rows are always `Float`.
    public func callAsFunction(_ input: Tensor, precision: ProductPrecision = .float32, thenGELU: Bool = false) -> Tensor {
        precondition(input.columns == inputs, "linear input width mismatch")
        let epilogue: ProductEpilogue = thenGELU ? .gelu : .none
        var output = Tensor(uninitializedRows: input.rows, columns: outputs)
        input.storage.withUnsafeBufferPointer { x in
            output.storage.withUnsafeMutableBufferPointer { y in
                if let product = oneDNNPrecision(precision, rows: input.rows, epilogue: epilogue) {
                    applyOneDNN(x.baseAddress!, rows: input.rows, into: y.baseAddress!, epilogue: epilogue, precision: product)
                } else if Self.runsSgemmInRowBlocks(rows: input.rows) {
                    applySgemmInRowBlocks(x.baseAddress!, rows: input.rows, into: y.baseAddress!, thenGELU: thenGELU)
                } else {
                    apply(x.baseAddress!, rows: input.rows, into: y.baseAddress!)
                }
            }
        }
        if thenGELU && !fusesGELU(precision, rows: input.rows) { output.applyGELU() }
        return output
    }

    /// Whether a product of `rows` rows with GELU applies it as it goes (oneDNN's epilogue, or row blocks).
    private func fusesGELU(_ precision: ProductPrecision, rows: Int) -> Bool {
        oneDNNPrecision(precision, rows: rows, epilogue: .gelu) != nil || Self.runsSgemmInRowBlocks(rows: rows)
    }

    /// Whether a `Float` product of `rows` rows outside oneDNN's matmul runs on `sgemm` in row blocks
    /// (``applySgemmInRowBlocks(_:rows:into:thenGELU:)``): beyond ``MatrixVector``'s rows, where oneDNN is the GEMM
    /// library (OpenBLAS has one process-wide thread count, so its products stay whole).
    private static func runsSgemmInRowBlocks(rows: Int) -> Bool {
        rows > MatrixVector.maximumRows && Matrix.backend == .oneDNN
    }

    /// Adds the layer applied to `input` to `output` (a residual connection), in `precision` as
    /// ``callAsFunction(_:precision:thenGELU:)`` does.
    public func addProduct(of input: Tensor, to output: inout Tensor, precision: ProductPrecision = .float32) {
        precondition(input.columns == inputs && output.columns == outputs && output.rows == input.rows, "linear shape mismatch")
        guard let product = oneDNNPrecision(precision, rows: input.rows, epilogue: .accumulate) else {
            let product = self(input)
            product.storage.withUnsafeBufferPointer { source in
                output.storage.withUnsafeMutableBufferPointer { target in
                    Activations.add(source.baseAddress!, into: target.baseAddress!, count: target.count)
                }
            }
            return
        }
        input.storage.withUnsafeBufferPointer { x in
            output.storage.withUnsafeMutableBufferPointer { y in
                applyOneDNN(x.baseAddress!, rows: input.rows, into: y.baseAddress!, epilogue: .accumulate, precision: product)
            }
        }
    }

    /// Rows from which a `Float` product without GELU runs on oneDNN's matmul with its bias (and residual sum) fused,
    /// rather than on `sgemm` followed by passes for them: the encoder's 1,500 rows and the decoder's projections of the
    /// audio. The fused residual sum saves a pass over the feed-forward output; oneDNN 2.6's GELU post-op is
    /// slower than `sgemm` and this module's AVX-512 GELU pass, so GELU products stay there (row block by row block,
    /// see ``applySgemmInRowBlocks(_:rows:into:thenGELU:)``).
    static let fusedRows = 1000

    /// The precision of the oneDNN product (``LayerProduct``) a product of `rows` rows runs on, `nil` for
    /// ``MatrixVector`` or `sgemm`: bfloat16 where asked for (and accelerated), `Float` for many rows without GELU
    /// where oneDNN is the GEMM library.
    private func oneDNNPrecision(_ precision: ProductPrecision, rows: Int, epilogue: ProductEpilogue) -> ProductPrecision? {
        if precision.available == .bfloat16 && rows > MatrixVector.maximumRows { return .bfloat16 }
        return Matrix.backend == .oneDNN && rows >= Self.fusedRows && epilogue != .gelu ? .float32 : nil
    }

    /// Runs the oneDNN product in row blocks (``Matrix/forEachRowBlock(_:_:)``), with one prepared product per block
    /// height (two for the encoder: 94 rows and the last 90).
    private func applyOneDNN(
        _ input: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>, epilogue: ProductEpilogue,
        precision: ProductPrecision
    ) {
        let (products, bias, weight, inputs, outputs) = (oneDNNProducts, bias, weight, inputs, outputs)
        /// The product of a block of `rows` rows, prepared on first use.
        @Sendable func product(rows: Int) -> LayerProduct {
            products.value(for: LayerProductKey(rows: rows, epilogue: epilogue, precision: precision)) {
                // A bfloat16 product packs its own copy of the weights; a `Float` one reads the layer's at each call.
                guard precision == .bfloat16 else {
                    return LayerProduct(
                        weight: nil, bias: bias, rows: rows, inputs: inputs, outputs: outputs, epilogue: epilogue, precision: precision)
                }
                return weight.withSinglePrecision(rows: outputs, width: inputs) {
                    LayerProduct(weight: $0, bias: bias, rows: rows, inputs: inputs, outputs: outputs, epilogue: epilogue, precision: precision)
                }
            }
        }
        nonisolated(unsafe) let (input, output) = (input, output)
        func runInRowBlocks(weight: UnsafePointer<Float>?) {
            nonisolated(unsafe) let weight = weight
            Matrix.forEachRowBlock(rows) { block in
                product(rows: block.count).apply(
                    input + block.lowerBound * inputs, weight: weight, into: output + block.lowerBound * outputs, threads: 1)
            }
        }
        if precision == .bfloat16 { return runInRowBlocks(weight: nil) }
        weight.withSinglePrecision(rows: outputs, width: inputs) { runInRowBlocks(weight: $0) }
    }

    /// `sgemm` (oneDNN) in row blocks (``Matrix/forEachRowBlock(_:_:)``), each block's bias and GELU applied while the
    /// block is in the core's cache.
    private func applySgemmInRowBlocks(_ input: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>, thenGELU: Bool) {
        let (inputs, outputs, bias) = (inputs, outputs, bias)
        nonisolated(unsafe) let (input, output) = (input, output)
        weight.withSinglePrecision(rows: outputs, width: inputs) { w in
            nonisolated(unsafe) let w = w
            Matrix.forEachRowBlock(rows) { block in
                let (x, y) = (input + block.lowerBound * inputs, output + block.lowerBound * outputs)
                Matrix.gemm(
                    x, w, y, m: block.count, n: outputs, k: inputs, transposeB: true, lda: inputs, ldb: inputs, ldc: outputs,
                    alpha: 1, beta: 0, threads: 1)
                if !bias.isEmpty {
                    bias.withUnsafeBufferPointer { b in
                        for row in 0..<block.count { Activations.add(b.baseAddress!, into: y + row * outputs, count: outputs) }
                    }
                }
                if thenGELU { Activations.gelu(UnsafeMutableBufferPointer(start: y, count: block.count * outputs)) }
            }
        }
    }
}

/// Which oneDNN product of a layer: they are prepared per row count, epilogue and precision.
struct LayerProductKey: Hashable, Sendable {
    let rows: Int
    let epilogue: ProductEpilogue
    let precision: ProductPrecision
}

/// A weight matrix in `Float` or, when that loses nothing, `Float16`.
enum WeightStorage: Sendable {
    case single([Float])
    case half([Float16])
    /// 8-bit values and one scale per row (``Linear/quantizedToInt8()``).
    case int8([Int8], scales: [Float])

    /// Half precision when every value survives the round trip exactly, single otherwise.
    init(compacting values: [Float]) {
        var half = [Float16](repeating: 0, count: values.count)
        let exact = values.withUnsafeBufferPointer { source in
            half.withUnsafeMutableBufferPointer { target in
                let (source, target, count) = (source.baseAddress!, target.baseAddress!, source.count)
                MatrixVector.narrow(source, count: count, into: target)
                // Every value must come back from half precision unchanged (NaNs aside), eight at a time.
                let widened = UnsafeMutablePointer<Float>.allocate(capacity: laneCount)
                defer { widened.deallocate() }
                var j = 0
                while j + laneCount <= count {
                    MatrixVector.widen(target + j, count: laneCount, into: widened)
                    let (back, original) = (UnsafePointer(widened).lanes(at: 0), source.lanes(at: j))
                    if any((back .!= original) .& (original .== original)) { return false }
                    j += laneCount
                }
                return (j..<count).allSatisfy { Float(target[$0]) == source[$0] || source[$0].isNaN }
            }
        }
        self = exact ? .half(half) : .single(values)
    }

    var memoryBytes: Int {
        switch self {
        case .single(let values): values.count * MemoryLayout<Float>.size
        case .half(let values): values.count * MemoryLayout<Float16>.size
        case .int8(let values, let scales): values.count + scales.count * MemoryLayout<Float>.size
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
        case .int8(let values, let scales):
            values.withUnsafeBufferPointer { values in
                for (index, row) in range.enumerated() {
                    let (source, target) = (values.baseAddress! + row * width, output + index * width)
                    var k = 0
                    while k + laneCount <= width {
                        target.store(Int8.lanes(source, at: k) * scales[row], at: k)
                        k += laneCount
                    }
                    for k in k..<width { target[k] = Float(source[k]) * scales[row] }
                }
            }
        }
    }

    /// Calls `body` with all `rows × width` values in `Float` (widened into a temporary buffer unless stored so).
    func withSinglePrecision<Result>(rows: Int, width: Int, _ body: (UnsafePointer<Float>) -> Result) -> Result {
        if case .single(let values) = self {
            return values.withUnsafeBufferPointer { body($0.baseAddress!) }
        }
        let widened = UnsafeMutablePointer<Float>.allocate(capacity: rows * width)
        defer { widened.deallocate() }
        copyRows(0..<rows, width: width, into: widened)
        return body(widened)
    }
}
