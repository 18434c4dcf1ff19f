import Foundation
import Testing
@testable import WhisperTensor

/// bfloat16 products (AVX512-BF16 or AMX through oneDNN) against double precision: within bfloat16's rounding (8 bits of mantissa on
/// the operands, so relative errors around 2⁻⁹ per product, which grow with the square root of the sum's length).
/// Where the CPU has neither, ``ProductPrecision/bfloat16`` falls back to `float32` and the results must be exact.
@Suite struct BFloat16ProductTests {
    var random = TensorOperationTests.Generator(seed: 11)

    mutating func values(_ count: Int) -> [Float] {
        (0..<count).map { _ in Float.random(in: -1...1, using: &random) }
    }

    /// `‖a − b‖ / ‖b‖`.
    func relativeError(_ a: [Float], _ b: [Double]) -> Double {
        var (difference, norm) = (0.0, 0.0)
        for (x, y) in zip(a, b) {
            difference += (Double(x) - y) * (Double(x) - y)
            norm += y * y
        }
        return (difference / norm).squareRoot()
    }

    func gelu(_ x: Double) -> Double { 0.5 * x * (1 + erf(x / 2.0.squareRoot())) }

    @Test func roundingToBFloat16IsToNearestEven() {
        // bfloat16 values near 1 are 2⁻⁷ = 0.0078125 apart.
        let source: [Float] = [1, -2.5, 1.00390625, 1.01171875, 1.001953125, 3.0e38, 1e-40] + Array(repeating: 0.1, count: 9)
        var target = [UInt16](repeating: 0, count: source.count)
        BFloat16.convert(source, count: source.count, into: &target)
        let widened = target.map { Float(bitPattern: UInt32($0) << 16) }
        #expect(widened[0] == 1 && widened[1] == -2.5)
        #expect(widened[2] == 1)  // halfway between 1 and 1 + 2⁻⁷: to the even one
        #expect(widened[3] == 1.015625)  // halfway between 1 + 2⁻⁷ and 1 + 2⁻⁶: to the even one
        #expect(widened[4] == 1)
        for (value, original) in zip(widened, source) where original.isNormal {
            #expect(abs(value - original) <= abs(original) / 256)
        }
    }

    /// Every epilogue, on more rows than the GEMV path takes, with half-precision weights as Whisper's are.
    @Test mutating func linearLayerMatchesDoublePrecision() {
        let (rows, inputs, outputs) = (37, 384, 200)
        let weight = values(inputs * outputs).map { Float(Float16($0)) }
        let bias = values(outputs)
        let layer = Linear(weight: weight, bias: bias, inputs: inputs, outputs: outputs)
        let x = Tensor(rows: rows, columns: inputs, values: values(rows * inputs))
        let residual = Tensor(rows: rows, columns: outputs, values: values(rows * outputs))
        let exact = TensorOperationTests().naiveLinear(x.storage, rows: rows, weight: weight, bias: bias, inputs: inputs, outputs: outputs)
        let tolerance = ProductPrecision.bfloat16IsAccelerated ? 1e-2 : 1e-6

        let plain = layer(x, precision: .bfloat16)
        #expect(relativeError(plain.storage, exact) < tolerance)
        let activated = layer(x, precision: .bfloat16, thenGELU: true)
        #expect(relativeError(activated.storage, exact.map(gelu)) < tolerance)
        var accumulated = residual
        layer.addProduct(of: x, to: &accumulated, precision: .bfloat16)
        #expect(relativeError(accumulated.storage, zip(exact, residual.storage).map { $0 + Double($1) }) < tolerance)

        // The bfloat16 path really ran where it is available (its results are not float32's), and not elsewhere.
        let single = layer(x, precision: .float32)
        #expect((plain.storage != single.storage) == ProductPrecision.bfloat16IsAccelerated)
        #expect(ProductPrecision.bfloat16.available == (ProductPrecision.bfloat16IsAccelerated ? .bfloat16 : .float32))
        // A second call reuses the packed weights and gives the same result.
        #expect(layer(x, precision: .bfloat16).storage == plain.storage)
    }

    /// Few rows go through the `Float` GEMV kernels whatever the precision (the decoder's steps).
    @Test mutating func fewRowsStayInSinglePrecision() {
        let layer = Linear(weight: values(64 * 32), bias: values(32), inputs: 64, outputs: 32)
        let x = Tensor(rows: 3, columns: 64, values: values(3 * 64))
        #expect(layer(x, precision: .bfloat16).storage == layer(x, precision: .float32).storage)
    }

    /// Query counts with and without a partial last block of queries, against the `Float` attention.
    @Test(arguments: [200, 256, 300]) mutating func selfAttentionMatchesSinglePrecision(rows: Int) {
        guard ProductPrecision.bfloat16IsAccelerated else { return }
        let (heads, headWidth) = (6, 64)
        let width = heads * headWidth
        // Keys scaled up so that the weights are far from uniform and rounding shows if anything is misplaced.
        let qkv = values(rows * 3 * width).enumerated().map { $0.offset % (3 * width) < width ? $0.element * 4 : $0.element }
        var reduced = [Float](repeating: 0, count: rows * width)
        var single = [Float](repeating: 0, count: rows * width)
        var scores = [Float](repeating: 0, count: rows * rows)
        qkv.withUnsafeBufferPointer { q in
            Attention.selfAttentionBFloat16(queryKeyValue: q.baseAddress!, rows: rows, width: width, heads: heads, output: &reduced)
            Attention.multiHead(
                query: .init(base: q.baseAddress!, rows: rows, stride: 3 * width),
                keys: .init(base: q.baseAddress! + width, rows: rows, stride: 3 * width),
                values: .init(base: q.baseAddress! + 2 * width, rows: rows, stride: 3 * width),
                output: &single, outputStride: width, heads: heads, headWidth: headWidth, scores: &scores)
        }
        let error = relativeError(reduced, single.map(Double.init))
        #expect(error < 2e-2, "relative error \(error)")
        #expect(error > 0)
    }
}
