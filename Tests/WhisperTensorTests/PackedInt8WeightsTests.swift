import Testing
@testable import WhisperTensor

/// The 8-bit screen packed in blocks of eight outputs (AVX2): every output is its inputs' products added in order, one
/// fused multiply-add after the other, whatever the rows, blocks and threads beside it.
@Suite struct PackedInt8WeightsTests {
    var random = TensorOperationTests.Generator(seed: 23)

    /// `outputs × inputs` bytes in −127...127 and `rows` input rows in −1...1.
    mutating func operands(outputs: Int, inputs: Int, rows: Int) -> ([Int8], [Float]) {
        let weights = (0..<outputs * inputs).map { _ in Int8.random(in: -127...127, using: &random) }
        let x = (0..<rows * inputs).map { _ in Float.random(in: -1...1, using: &random) }
        return (weights, x)
    }

    /// The packed product of `rows` rows on `threads` threads.
    func product(_ packed: PackedInt8Weights, _ x: [Float], rows: Int, threads: Int) -> [Float] {
        var y = [Float](repeating: .nan, count: rows * packed.outputs)
        Matrix.withThreadLimit(threads) {
            x.withUnsafeBufferPointer { x in
                y.withUnsafeMutableBufferPointer { packed.multiply(x.baseAddress!, rows: rows, into: $0.baseAddress!) }
            }
        }
        return y
    }

    /// Every row count the kernels specialise (1 to 8), an output count that leaves a partial last block and enough
    /// outputs to be split between threads: each output equals the in-order sum of fused multiply-adds, bit for bit.
    @Test(arguments: 1...8) mutating func outputsAreTheInOrderSumsOfTheirProducts(rows: Int) {
        let (outputs, inputs) = (1_029, 384)
        let (weights, x) = operands(outputs: outputs, inputs: inputs, rows: rows)
        let packed = weights.withUnsafeBufferPointer { PackedInt8Weights(values: $0.baseAddress!, outputs: outputs, inputs: inputs) }
        #expect(packed.bytes == (outputs + 7) / 8 * 8 * inputs)
        for threads in [1, 2] {
            let y = product(packed, x, rows: rows, threads: threads)
            for r in 0..<rows {
                for j in 0..<outputs {
                    var sum: Float = 0
                    for k in 0..<inputs { sum = sum.addingProduct(Float(weights[j * inputs + k]), x[r * inputs + k]) }
                    #expect(y[r * outputs + j] == sum, "row \(r) of \(rows), output \(j), \(threads) threads")
                }
            }
        }
    }

    /// A row's outputs are the same computed alone or with up to seven others (batched decoder steps stay
    /// deterministic).
    @Test mutating func rowsAreTheSameAloneOrTogether() {
        let (outputs, inputs) = (517, 64)
        let (weights, x) = operands(outputs: outputs, inputs: inputs, rows: 8)
        let packed = weights.withUnsafeBufferPointer { PackedInt8Weights(values: $0.baseAddress!, outputs: outputs, inputs: inputs) }
        let alone = (0..<8).map { r in product(packed, Array(x[r * inputs..<(r + 1) * inputs]), rows: 1, threads: 1) }
        for rows in 2...8 {
            let together = product(packed, Array(x[0..<rows * inputs]), rows: rows, threads: 2)
            for r in 0..<rows { #expect(Array(together[r * outputs..<(r + 1) * outputs]) == alone[r], "row \(r) of \(rows)") }
        }
    }
}
