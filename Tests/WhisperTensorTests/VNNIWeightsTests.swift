import Testing
@testable import WhisperTensor

/// The 8-bit products on AVX512-VNNI against integer arithmetic done here: the same two roundings of the inputs (to
/// steps of max|x| / 127, then what that left to steps of its own largest value / 127), exact sums.
@Suite(.enabled(if: VNNIWeights.isAvailable, "the CPU has no AVX512-VNNI"))
struct VNNIWeightsTests {
    var random = TensorOperationTests.Generator(seed: 23)

    /// Shapes with a partial last block of outputs and a partial last group of inputs, and the logits' width.
    @Test(arguments: [(37, 13), (300, 384), (2_051, 384)])
    mutating func productsAreTheExactSumsOfTheRoundedInputs(shape: (outputs: Int, inputs: Int)) {
        let (outputs, inputs) = shape
        let values = (0..<outputs * inputs).map { _ in Int8.random(in: -127...127, using: &random) }
        let weights = values.withUnsafeBufferPointer { VNNIWeights(values: $0.baseAddress!, outputs: outputs, inputs: inputs) }
        for rows in 1...8 {
            var x = (0..<rows * inputs).map { _ in Float.random(in: -3...3, using: &random) }
            if rows == 2 { for k in 0..<inputs { x[inputs + k] = 0 } }  // a row of zeros
            var output = [Float](repeating: .nan, count: rows * outputs)
            let errors = x.withUnsafeBufferPointer { x in
                output.withUnsafeMutableBufferPointer { weights.multiply(x.baseAddress!, rows: rows, into: $0.baseAddress!) }
            }
            /// Steps of `values`' largest magnitude / 127: the bytes, the step, and what the rounding left.
            func round(_ values: [Float]) -> (bytes: [Float], step: Float, left: [Float]) {
                let largest = values.reduce(0) { max($0, abs($1)) }
                guard largest > 0 else { return (values.map { _ in 0 }, 0, values) }
                let bytes = values.map { max(-127, min(127, ($0 * (127 / largest)).rounded())) }
                return (bytes, largest / 127, zip(values, bytes).map { $0 - largest / 127 * $1 })
            }
            for r in 0..<rows {
                let row = Array(x[r * inputs..<(r + 1) * inputs])
                let coarse = round(row)
                let fine = round(coarse.left)
                let error = fine.left.reduce(0) { max($0, abs($1)) }
                #expect(errors[r] >= error && errors[r] <= error * 1.01 + coarse.step * 1e-3, "row \(r) of \(rows)")
                #expect(error <= coarse.step / 254 * 1.001, "row \(r) of \(rows)")
                for j in 0..<outputs {
                    var (sum, fineSum): (Int32, Int32) = (0, 0)
                    for k in 0..<inputs {
                        sum += Int32(values[j * inputs + k]) * Int32(coarse.bytes[k])
                        fineSum += Int32(values[j * inputs + k]) * Int32(fine.bytes[k])
                    }
                    let expected = Float(sum) * coarse.step + Float(fineSum) * fine.step
                    #expect(output[r * outputs + j] == expected, "row \(r) of \(rows), output \(j)")
                }
            }
        }
    }

    /// A row's results are the same alone or with seven others, on one thread or several.
    @Test mutating func rowsAreTheSameAloneOrTogether() {
        let (outputs, inputs) = (4_099, 384)
        let values = (0..<outputs * inputs).map { _ in Int8.random(in: -127...127, using: &random) }
        let weights = values.withUnsafeBufferPointer { VNNIWeights(values: $0.baseAddress!, outputs: outputs, inputs: inputs) }
        let x = (0..<8 * inputs).map { _ in Float.random(in: -1...1, using: &random) }
        var together = [Float](repeating: 0, count: 8 * outputs)
        _ = together.withUnsafeMutableBufferPointer { weights.multiply(x, rows: 8, into: $0.baseAddress!) }
        for r in 0..<8 {
            var alone = [Float](repeating: 0, count: outputs)
            _ = Matrix.withThreadLimit(1) {
                alone.withUnsafeMutableBufferPointer { weights.multiply(Array(x[r * inputs..<(r + 1) * inputs]), rows: 1, into: $0.baseAddress!) }
            }
            #expect(alone == Array(together[r * outputs..<(r + 1) * outputs]), "row \(r)")
        }
    }
}
