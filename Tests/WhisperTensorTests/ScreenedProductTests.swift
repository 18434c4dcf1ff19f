import Testing
@testable import WhisperTensor

/// The screened product (an 8-bit pass, then the candidates for the largest output recomputed) against the full
/// product on the same weights: the largest output and the always-exact ones bit for bit, the rest within their bound.
@Suite struct ScreenedProductTests {
    var random = TensorOperationTests.Generator(seed: 11)

    mutating func values(_ count: Int, scale: Float) -> [Float] {
        (0..<count).map { _ in Float(Float16(Float.random(in: -scale...scale, using: &random))) }
    }

    /// A vocabulary-like layer (half-precision weights, no bias) with near ties planted: rows that differ from another
    /// row by one unit in the last place of one weight, which the 8-bit copy cannot tell apart.
    mutating func layer(outputs: Int, inputs: Int) -> (Linear, [Float]) {
        var weight = values(outputs * inputs, scale: 0.1)
        for (copy, original) in [(700, 300), (1_401, 1_400), (outputs - 1, 5)] {
            for k in 0..<inputs { weight[copy * inputs + k] = weight[original * inputs + k] }
            weight[copy * inputs + 3] = Float(Float16(weight[copy * inputs + 3]).nextUp)
        }
        return (Linear(weight: weight, bias: [], inputs: inputs, outputs: outputs), weight)
    }

    /// Both 8-bit passes where the CPU has AVX512-VNNI (`Float` inputs, and inputs rounded to bytes), else the first.
    static let roundings = VNNIWeights.isAvailable ? [false, true] : [false]

    @Test(arguments: [1, 3, 8], roundings) mutating func largestAndAlwaysExactOutputsMatchTheFullProduct(rows: Int, roundingInputs: Bool) throws {
        let (inputs, outputs) = (384, 3_001)
        let (full, weight) = layer(outputs: outputs, inputs: inputs)
        let screen = try #require(ScreenedProduct(full, roundingInputs: roundingInputs))
        // The 8-bit copy (interleaved in blocks of 16 outputs for VNNI, row-major for AVX-512, packed in blocks of 8
        // outputs for AVX2) and two figures per output row.
        let copyBytes =
            screen.roundsInputs
            ? (outputs + 15) / 16 * 16 * inputs : MatrixVector.usesAVX512 ? inputs * outputs : (outputs + 7) / 8 * 8 * inputs
        #expect(screen.screenBytes == copyBytes + 2 * outputs * MemoryLayout<Float>.size)
        // Inputs aimed at the planted rows, so that the near ties are the largest outputs.
        var x = values(rows * inputs, scale: 1)
        for r in 0..<rows {
            let target = [300, 1_400, 5][r % 3]
            for k in 0..<inputs { x[r * inputs + k] += 4 * weight[target * inputs + k] }
        }
        var expected = [Float](repeating: 0, count: rows * outputs)
        var screened = expected
        full.apply(x, rows: rows, into: &expected)
        let alwaysExact = 2_900..<outputs
        let excluded = [17, 1_000, 2_950]
        let recomputed = screen.apply(x, rows: rows, into: &screened, alwaysExact: alwaysExact, excluded: excluded)
        #expect(recomputed >= rows && recomputed < rows * 50, "a few candidates per row: \(recomputed)")
        for r in 0..<rows {
            let (want, got) = (Array(expected[r * outputs..<(r + 1) * outputs]), Array(screened[r * outputs..<(r + 1) * outputs]))
            for j in alwaysExact { #expect(got[j] == want[j]) }
            for j in excluded where !alwaysExact.contains(j) { #expect(got[j] == -.infinity) }
            // The largest output outside the always-exact range and the excluded ones, exactly, at the same index.
            let candidates = (0..<alwaysExact.lowerBound).filter { !excluded.contains($0) }
            let best = try #require(candidates.max { want[$0] < want[$1] })
            #expect(got[best] == want[best])
            #expect(candidates.allSatisfy { got[$0] <= got[best] })
            // Every other output within its bound: half a step of its row's scale per unit of Σ|x|, and where the
            // inputs are rounded to bytes (twice: at most half of max|x| / 127²), that error per unit of Σ|q|.
            let row = x[r * inputs..<(r + 1) * inputs]
            let norm = row.reduce(0) { $0 + abs($1) }
            let inputStep = screen.roundsInputs ? row.reduce(0) { max($0, abs($1)) } / (127 * 127) : 0
            for j in candidates {
                let weights = weight[j * inputs..<(j + 1) * inputs]
                let scale = weights.reduce(0) { max($0, abs($1)) } / 127
                let magnitude = weights.reduce(0) { $0 + abs(($1 / scale).rounded()) }
                #expect(abs(got[j] - want[j]) <= scale * (norm / 2 + magnitude * inputStep / 2) * 1.001 + 1e-5, "output \(j)")
            }
        }
    }

    /// A row's outputs are the same screened alone or with others (batched decoder steps stay deterministic).
    @Test(arguments: roundings) mutating func rowsAreTheSameAloneOrTogether(roundingInputs: Bool) throws {
        let (inputs, outputs) = (384, 2_048)
        let (full, _) = layer(outputs: outputs, inputs: inputs)
        let screen = try #require(ScreenedProduct(full, roundingInputs: roundingInputs))
        let x = values(8 * inputs, scale: 1)
        var together = [Float](repeating: 0, count: 8 * outputs)
        screen.apply(x, rows: 8, into: &together, alwaysExact: 2_000..<outputs)
        for r in 0..<8 {
            var alone = [Float](repeating: 0, count: outputs)
            screen.apply(Array(x[r * inputs..<(r + 1) * inputs]), rows: 1, into: &alone, alwaysExact: 2_000..<outputs)
            #expect(alone == Array(together[r * outputs..<(r + 1) * outputs]), "row \(r)")
        }
    }

    /// Layers with a bias, or already in 8 bits, are not screened.
    @Test mutating func onlyLayersWithoutBiasAndWithWiderWeights() {
        let weight = values(16 * 8, scale: 1)
        #expect(ScreenedProduct(Linear(weight: weight, bias: values(16, scale: 1), inputs: 8, outputs: 16)) == nil)
        #expect(ScreenedProduct(Linear(weight: weight, bias: [], inputs: 8, outputs: 16).quantizedToInt8()) == nil)
        #expect(ScreenedProduct(Linear(weight: weight, bias: [], inputs: 8, outputs: 16)) != nil)
    }
}
