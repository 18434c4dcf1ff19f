import Foundation
import Testing
import WhisperKernels
import WhisperKernelsAVX512
@testable import WhisperTensor

/// Each operation against a straightforward double-precision implementation, within 1e-4.
@Suite struct TensorOperationTests {
    var random = Generator(seed: 7)

    struct Generator: RandomNumberGenerator {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state
        }
    }

    mutating func values(_ count: Int) -> [Float] {
        (0..<count).map { _ in Float.random(in: -1...1, using: &random) }
    }

    /// `Y = X · Wᵀ + b` in double precision.
    func naiveLinear(_ x: [Float], rows: Int, weight: [Float], bias: [Float], inputs: Int, outputs: Int) -> [Double] {
        (0..<rows * outputs).map { index in
            let (r, o) = (index / outputs, index % outputs)
            var sum = bias.isEmpty ? 0 : Double(bias[o])
            for i in 0..<inputs { sum += Double(x[r * inputs + i]) * Double(weight[o * inputs + i]) }
            return sum
        }
    }

    /// Every path: one row (4-row blocks and the remainder), 2–8 rows (one pass over the weights), more rows (sgemm),
    /// 1,000 rows and more (oneDNN's matmul with the bias fused, where oneDNN is the GEMM library), widths that are and
    /// are not multiples of the vector width, single and half precision storage.
    @Test(arguments: [1, 2, 3, 5, 8, 9, 40, Linear.fusedRows]) mutating func linearMatchesNaiveProduct(rows: Int) {
        for (inputs, outputs) in [(17, 9), (64, 35)] {
            for half in [false, true] {
                var weight = values(inputs * outputs)
                if half { weight = weight.map { Float(Float16($0)) } }
                let bias = values(outputs)
                let x = values(rows * inputs)
                let layer = Linear(weight: weight, bias: bias, inputs: inputs, outputs: outputs)
                #expect(layer.storesHalfPrecision == half)
                let y = layer(Tensor(rows: rows, columns: inputs, values: x))
                let expected = naiveLinear(x, rows: rows, weight: weight, bias: bias, inputs: inputs, outputs: outputs)
                for (got, want) in zip(y.storage, expected) { #expect(abs(Double(got) - want) < 1e-4) }
            }
        }
    }

    /// A residual connection (``Linear/addProduct(of:to:precision:)``) and a product followed by GELU on every path,
    /// including the fused oneDNN products of 1,000 rows and more: `output + X · Wᵀ + b` and `GELU(X · Wᵀ + b)` within
    /// 1e-4 of double precision.
    @Test(arguments: [3, 40, Linear.fusedRows]) mutating func residualAndGELUProductsMatchNaive(rows: Int) {
        let (inputs, outputs) = (64, 35)
        let weight = values(inputs * outputs).map { Float(Float16($0)) }
        let bias = values(outputs)
        let x = values(rows * inputs)
        let start = values(rows * outputs)
        let layer = Linear(weight: weight, bias: bias, inputs: inputs, outputs: outputs)
        let expected = naiveLinear(x, rows: rows, weight: weight, bias: bias, inputs: inputs, outputs: outputs)
        var residual = Tensor(rows: rows, columns: outputs, values: start)
        layer.addProduct(of: Tensor(rows: rows, columns: inputs, values: x), to: &residual)
        for i in expected.indices { #expect(abs(Double(residual.storage[i]) - (Double(start[i]) + expected[i])) < 1e-4) }
        let activated = layer(Tensor(rows: rows, columns: inputs, values: x), thenGELU: true)
        for i in expected.indices {
            let gelu = 0.5 * expected[i] * (1 + erf(expected[i] / 2.0.squareRoot()))
            #expect(abs(Double(activated.storage[i]) - gelu) < 1e-4)
        }
    }

    /// Many-row products run in row blocks taken by whichever thread comes free (``Matrix/forEachRowBlock(_:_:)``): the
    /// plain, residual and GELU products of the encoder's 1,500 rows give the same bits on one thread as on two, and
    /// the 16 blocks (the last one short) cover every row; so do the two blocks of a prompt's 41 rows.
    @Test mutating func rowBlockedProductsDoNotDependOnTheThreadCount() {
        let threads = Matrix.threadCount
        defer { Matrix.threadCount = threads }
        Matrix.threadCount = 2
        let (rows, inputs, outputs) = (1500, 48, 40)
        let (weight, bias) = (values(inputs * outputs), values(outputs))
        let layer = Linear(weight: weight, bias: bias, inputs: inputs, outputs: outputs)
        let x = Tensor(rows: rows, columns: inputs, values: values(rows * inputs))
        let start = values(rows * outputs)
        func products() -> [[Float]] {
            var residual = Tensor(rows: rows, columns: outputs, values: start)
            layer.addProduct(of: x, to: &residual)
            return [layer(x).storage, residual.storage, layer(x, thenGELU: true).storage]
        }
        let two = products()
        let one = Matrix.withThreadLimit(1) { products() }
        #expect(one == two)
        let last = (rows - 1) * inputs
        let expected = naiveLinear(Array(x.storage[last...]), rows: 1, weight: weight, bias: bias, inputs: inputs, outputs: outputs)
        for j in 0..<outputs { #expect(abs(Double(two[0][(rows - 1) * outputs + j]) - expected[j]) < 1e-4) }
        let prompt = Tensor(rows: 41, columns: inputs, values: Array(x.storage[..<(41 * inputs)]))
        let promptProduct = layer(prompt, thenGELU: true)
        #expect(promptProduct.storage == Matrix.withThreadLimit(1) { layer(prompt, thenGELU: true) }.storage)
        let naivePrompt = naiveLinear(prompt.storage, rows: 41, weight: weight, bias: bias, inputs: inputs, outputs: outputs)
        for i in naivePrompt.indices {
            let gelu = 0.5 * naivePrompt[i] * (1 + erf(naivePrompt[i] / 2.0.squareRoot()))
            #expect(abs(Double(promptProduct.storage[i]) - gelu) < 1e-4)
        }
    }

    /// A matrix large enough to be split between threads gives the same products as the naive sum.
    @Test mutating func largeMatrixVectorProductIsSplitCorrectly() {
        let (inputs, outputs) = (384, 3001)
        let weight = values(inputs * outputs).map { Float(Float16($0)) }
        let x = values(2 * inputs)
        let layer = Linear(weight: weight, bias: [], inputs: inputs, outputs: outputs)
        for rows in [1, 2] {
            let input = Array(x[0..<rows * inputs])
            let y = layer(Tensor(rows: rows, columns: inputs, values: input))
            let expected = naiveLinear(input, rows: rows, weight: weight, bias: [], inputs: inputs, outputs: outputs)
            let worst = zip(y.storage, expected).map { abs(Double($0) - $1) }.max()!
            #expect(worst < 1e-4)
        }
    }

    /// Two to eight rows give, bit for bit, what each row gives alone (so a decoder step's result does not depend
    /// on what it is batched with), for single and half precision weights and an odd number of outputs.
    @Test mutating func severalRowsMatchSingleRowsExactly() {
        let (inputs, outputs) = (384, 67)
        for (half, int8) in [(false, false), (true, false), (true, true)] {
            var weight = values(inputs * outputs)
            if half { weight = weight.map { Float(Float16($0)) } }
            var layer = Linear(weight: weight, bias: values(outputs), inputs: inputs, outputs: outputs)
            if int8 { layer = layer.quantizedToInt8() }
            let x = values(8 * inputs)
            let alone = (0..<8).map { r in layer(Tensor(rows: 1, columns: inputs, values: Array(x[r * inputs..<(r + 1) * inputs]))).storage }
            for rows in 2...8 {
                let together = layer(Tensor(rows: rows, columns: inputs, values: Array(x[0..<rows * inputs]))).storage
                #expect(together == Array(alone[0..<rows].joined()), "rows \(rows), half \(half), int8 \(int8)")
            }
        }
    }

    /// Both kernel families, called directly (whichever the CPU selects for ``MatrixVector``): sixteen-lane AVX-512 (where
    /// the CPU has it) and eight-lane AVX2 kernels each give every row of a 1–8 row product bit for bit what it gives
    /// alone, for `Float`, `Float16` and `Int8` weights, and agree with each other and the double-precision sum
    /// within 1e-4 of each output's magnitude (they add in a different order).
    @Test mutating func avx512AndAVX2KernelsAgree() {
        let (inputs, outputs) = (400, 37)  // 400 = 25 × 16: no leftover columns; 37 outputs: odd pairs and quads
        let weight = values(inputs * outputs).map { Float(Float16($0)) }
        let half = weight.map { Float16($0) }
        let int8 = weight.map { Int8(($0 * 127).rounded()) }
        let x = values(8 * inputs)
        func product<Weight: WidenableScalar>(
            _ w: [Weight], rows: Int, from first: Int, avx512: Bool
        ) -> [Float] {
            var y = [Float](repeating: 0, count: rows * outputs)
            w.withUnsafeBufferPointer { w in
                x.withUnsafeBufferPointer { x in
                    let input = x.baseAddress! + first * inputs
                    if avx512 {
                        AVX512MatrixVector.multiply(
                            w.baseAddress!, outputs: 0..<outputs, inputs: inputs, input: input, rows: rows, output: &y,
                            outputStride: outputs)
                    } else {
                        MatrixVectorKernels<SIMD8<Float>>.multiply(
                            w.baseAddress!, outputs: 0..<outputs, inputs: inputs, input: input, rows: rows, output: &y,
                            outputStride: outputs)
                    }
                }
            }
            return y
        }
        func check<Weight: WidenableScalar>(_ w: [Weight], _ name: String) {
            let exact = (0..<8).map { r in
                (0..<outputs).map { j in
                    (0..<inputs).reduce(0.0) { $0 + Double(Weight.widen(w[j * inputs + $1])) * Double(x[r * inputs + $1]) }
                }
            }
            for avx512 in MatrixVector.usesAVX512 ? [false, true] : [false] {
                let alone = (0..<8).map { product(w, rows: 1, from: $0, avx512: avx512) }
                for rows in 1...8 {
                    let together = product(w, rows: rows, from: 0, avx512: avx512)
                    #expect(together == Array(alone[0..<rows].joined()), "\(name), rows \(rows), AVX-512 \(avx512)")
                }
                for r in 0..<8 {
                    for j in 0..<outputs {
                        #expect(abs(Double(alone[r][j]) - exact[r][j]) <= 1e-4 * max(1, abs(exact[r][j])), "\(name) AVX-512 \(avx512)")
                    }
                }
            }
        }
        check(weight, "Float")
        check(half, "Float16")
        check(int8, "Int8")
    }

    /// The maximum of a row is found wherever it is: in any of the four running maxima, the eight-lane tail or the
    /// scalar tail; a row of −∞ (fully masked) gives −∞.
    @Test mutating func maximumFindsTheLargestAnywhere() {
        for count in [1, 7, 8, 9, 31, 32, 33, 40, 100, 1001] {
            for position in Set([0, count / 3, count / 2, count - 8, count - 1].filter { $0 >= 0 }) {
                var row = values(count)
                row[position] = 5
                #expect(Activations.maximum(&row, count: count) == 5, "count \(count), position \(position)")
            }
        }
        var masked = [Float](repeating: -.infinity, count: 37)
        #expect(Activations.maximum(&masked, count: masked.count) == -.infinity)
    }

    /// 8-bit weights with a scale per row, on every path (one row, several, `sgemm` over the dequantised matrix): within
    /// the quantisation error (half a step of `max|w| / 127` per weight, so about 0.4% of a row's largest weight).
    @Test(arguments: [1, 3, 8, 40]) mutating func int8LinearMatchesDoublePrecision(rows: Int) {
        let (inputs, outputs) = (384, 131)
        let weight = values(inputs * outputs)
        let bias = values(outputs)
        let layer = Linear(weight: weight, bias: bias, inputs: inputs, outputs: outputs).quantizedToInt8()
        #expect(layer.storesInt8)
        #expect(layer.memoryBytes == inputs * outputs + 2 * outputs * MemoryLayout<Float>.size)
        let x = values(rows * inputs)
        let y = layer(Tensor(rows: rows, columns: inputs, values: x))
        let expected = naiveLinear(x, rows: rows, weight: weight, bias: bias, inputs: inputs, outputs: outputs)
        var (difference, norm) = (0.0, 0.0)
        for (a, b) in zip(y.storage, expected) {
            difference += (Double(a) - b) * (Double(a) - b)
            norm += b * b
        }
        #expect((difference / norm).squareRoot() < 5e-3)
        #expect((difference / norm).squareRoot() > 0)
        // Rows looked up (the token embedding) are the dequantised ones.
        var row = [Float](repeating: 0, count: inputs)
        layer.row(5, into: &row)
        #expect(zip(row, weight[5 * inputs..<6 * inputs]).allSatisfy { abs($0 - $1) <= 0.5 / 127 + 1e-6 })
    }

    /// Both `sgemm` libraries agree with the definition, with and without a transposed right operand, with strides,
    /// alpha and beta.
    @Test(arguments: GEMMBackend.allCases) mutating func gemmBackendsMatchNaiveProduct(backend: GEMMBackend) {
        let (m, n, k) = (37, 53, 29)
        let (lda, ldb, ldc) = (k + 3, n + 5, n + 2)
        for transposeB in [false, true] {
            let a = values(m * lda)
            let b = values(transposeB ? n * (k + 1) : k * ldb)
            let ldbUsed = transposeB ? k + 1 : ldb
            let initial = values(m * ldc)
            var c = initial
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    c.withUnsafeMutableBufferPointer { c in
                        Matrix.gemm(
                            a.baseAddress!, b.baseAddress!, c.baseAddress!, m: m, n: n, k: k, transposeB: transposeB,
                            lda: lda, ldb: ldbUsed, ldc: ldc, alpha: 0.5, beta: 2, backend: backend)
                    }
                }
            }
            for i in 0..<m {
                for j in 0..<n {
                    var sum = 0.0
                    for p in 0..<k {
                        let bValue = transposeB ? b[j * ldbUsed + p] : b[p * ldbUsed + j]
                        sum += Double(a[i * lda + p]) * Double(bValue)
                    }
                    let expected = 0.5 * sum + 2 * Double(initial[i * ldc + j])
                    #expect(abs(Double(c[i * ldc + j]) - expected) < 1e-4)
                }
            }
        }
    }

    /// Half-precision bytes at an odd address (as inside a weights file) widen exactly, vector part and tail.
    @Test mutating func halfPrecisionBytesWidenAtAnyAlignment() {
        let halves = values(21).map { Float16($0 * 100) }
        var bytes = [UInt8](repeating: 0, count: 1 + 2 * halves.count)
        for (i, h) in halves.enumerated() {
            bytes[1 + 2 * i] = UInt8(h.bitPattern & 0xFF)
            bytes[2 + 2 * i] = UInt8(h.bitPattern >> 8)
        }
        var widened = [Float](repeating: 0, count: halves.count)
        bytes.withUnsafeBytes { raw in
            MatrixVector.widen(halfPrecisionBytes: raw.baseAddress! + 1, count: halves.count, into: &widened)
        }
        #expect(widened == halves.map { Float($0) })
    }

    @Test mutating func rowLookupReturnsTheStoredRow() {
        let weight = values(5 * 12).map { Float(Float16($0)) }
        let layer = Linear(weight: weight, bias: [], inputs: 12, outputs: 5)
        var row = [Float](repeating: 0, count: 12)
        row.withUnsafeMutableBufferPointer { layer.row(3, into: $0.baseAddress!) }
        #expect(row == Array(weight[36..<48]))
    }

    @Test mutating func layerNormNormalisesRows() {
        let x = Tensor(rows: 2, columns: 64, values: values(128).map { $0 * 5 + 3 })
        let norm = LayerNorm(gamma: [Float](repeating: 1, count: 64), beta: [Float](repeating: 0, count: 64))
        let y = norm(x)
        for r in 0..<2 {
            let row = (0..<64).map { Double(y[r, $0]) }
            let mean = row.reduce(0, +) / 64
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 64
            #expect(abs(mean) < 1e-4)
            #expect(abs(variance - 1) < 1e-3)
        }
    }

    @Test func geluMatchesErfDefinition() {
        let inputs = stride(from: -9.0, through: 9.0, by: 0.037).map { $0 }
        var data = inputs.map(Float.init)
        data.withUnsafeMutableBufferPointer { Activations.gelu($0) }
        for (x, y) in zip(inputs, data) {
            let exact = 0.5 * Double(Float(x)) * (1 + erf(Double(Float(x)) / 2.0.squareRoot()))
            #expect(abs(Double(y) - exact) < 2e-6 * max(1, abs(x)))
        }
    }

    /// The element-wise kernels in both widths (AVX-512 where the CPU has it, AVX2) against double precision, on row
    /// lengths with and without a padded tail: `exp` within 3e-7 relative down to e⁻⁸⁷ and exactly 0 from −88 (and for
    /// −∞), GELU within 2e-6, softmax rows within a few roundings, and the deferred form (``Activations/softmax(_:rows:width:stride:unnormalisedSums:)``)
    /// equal to the normalised one once divided.
    @Test mutating func elementwiseKernelsMatchDoublePrecisionInBothWidths() {
        func check<V: KernelVector>(_: V.Type, _ gelu: (UnsafeMutablePointer<Float>, Int) -> Void,
                                    _ softmax: (UnsafeMutablePointer<Float>, Int, Int, UnsafeMutablePointer<Float>?) -> Void) {
            let name = "\(V.scalarCount) lanes"
            for x in stride(from: -87.0, through: 88.0, by: 0.173) {
                let e = ElementwiseKernels<V>.exp(V(repeating: Float(x)))
                let exact = Foundation.exp(Double(Float(x)))
                #expect(abs(Double(e[0]) - exact) <= 3e-7 * exact, "\(name), exp(\(x))")
            }
            for x: Float in [-88, -90, -1000, -.infinity] {
                #expect(ElementwiseKernels<V>.exp(V(repeating: x)) == V(repeating: 0), "\(name), exp(\(x))")
            }
            for count in [1, 7, 15, 16, 17, 33, 1500] {
                let inputs = values(count).map { $0 * 6 }
                var data = inputs
                gelu(&data, count)
                for (x, y) in zip(inputs, data) {
                    let exact = 0.5 * Double(x) * (1 + erf(Double(x) / 2.0.squareRoot()))
                    #expect(abs(Double(y) - exact) < 2e-6 * max(1, abs(Double(x))), "\(name), GELU(\(x))")
                }
                let rows = 3
                var scores = values(rows * count).map { $0 * 30 }
                let masked = count > 1 ? count / 2 : nil  // a masked key in the first row
                if let masked { scores[masked] = -.infinity }
                var normalised = scores, deferred = scores
                var sums = [Float](repeating: 0, count: rows)
                softmax(&normalised, rows, count, nil)
                softmax(&deferred, rows, count, &sums)
                for r in 0..<rows {
                    let row = scores[(r * count)..<((r + 1) * count)].map(Double.init)
                    let maximum = row.max()!
                    let total = row.reduce(0) { $0 + Foundation.exp($1 - maximum) }
                    for (i, x) in row.enumerated() where x > -.infinity {
                        let expected = Foundation.exp(x - maximum) / total
                        let tolerance = (5e-7 + 1.2e-7 * abs(x - maximum)) * expected
                        #expect(abs(Double(normalised[r * count + i]) - expected) <= tolerance, "\(name), softmax")
                        #expect(abs(Double(deferred[r * count + i] / sums[r]) - expected) <= tolerance + 1e-7 * expected)
                    }
                }
                if let masked {
                    #expect(normalised[masked] == 0 && deferred[masked] == 0, "\(name): a masked key weighs nothing")
                }
            }
        }
        check(SIMD8<Float>.self, { ElementwiseKernels<SIMD8<Float>>.gelu($0, count: $1) }) {
            ElementwiseKernels<SIMD8<Float>>.softmax($0, rows: $1, width: $2, stride: $2, sums: $3)
        }
        if MatrixVector.usesAVX512 {
            check(SIMD16<Float>.self, { AVX512Elementwise.gelu($0, count: $1) }) {
                AVX512Elementwise.softmax($0, rows: $1, width: $2, stride: $2, sums: $3)
            }
        }
    }

    /// GELU over a tensor large enough to be split between threads equals one pass, bit for bit.
    @Test mutating func splitGELUMatchesOnePass() {
        let threads = Matrix.threadCount
        defer { Matrix.threadCount = threads }
        Matrix.threadCount = 2
        let x = values((1 << 18) + 13).map { $0 * 6 }
        var tensor = Tensor(rows: 1, columns: x.count, values: x)
        tensor.applyGELU()
        var expected = x
        expected.withUnsafeMutableBufferPointer { Activations.gelu($0) }
        #expect(tensor.storage == expected)
    }

    @Test func softmaxIsStableForLargeLogits() {
        var data: [Float] = [1000, 1001, 1002, -.infinity]
        data.withUnsafeMutableBufferPointer { Activations.softmax($0.baseAddress!, rows: 1, width: 4) }
        let e = [exp(-2.0), exp(-1.0), 1]
        let total = e.reduce(0, +)
        for i in 0..<3 { #expect(abs(Double(data[i]) - e[i] / total) < 1e-6) }
        #expect(data[3] == 0)
    }

    /// Softmax and log-probabilities (value minus log-sum-exp) over a long row (vector body and scalar tail) against
    /// double precision: relative error within a few float roundings of `x − max` (which costs |x − max| · 2⁻²⁴
    /// before any exponential); the argmax is the first of the largest.
    @Test mutating func softmaxAndLogProbabilitiesMatchDoublePrecision() {
        let row = values(1003).map { $0 * 40 }
        let maximum = Double(row.max()!)
        let total = row.reduce(0.0) { $0 + exp(Double($1) - maximum) }
        var soft = row
        soft.withUnsafeMutableBufferPointer { Activations.softmax($0.baseAddress!, rows: 1, width: $0.count) }
        let logTotal = row.withUnsafeBufferPointer { Activations.logSumExp($0.baseAddress!, count: $0.count) }
        let logSoft = row.map { $0 - logTotal }
        var tied = row
        tied[1001] = row.max()!
        let argmax = tied.withUnsafeBufferPointer { Activations.argmax($0.baseAddress!, count: $0.count) }
        #expect(argmax == tied.firstIndex(of: tied.max()!)!)
        for i in row.indices {
            let expected = exp(Double(row[i]) - maximum) / total
            let tolerance = 5e-7 + 1.2e-7 * abs(Double(row[i]) - maximum)
            #expect(abs(Double(soft[i]) - expected) <= tolerance * expected)
            #expect(abs(Double(logSoft[i]) - log(expected)) < 1e-4)
        }
    }

    /// Few query rows (the decoder's own kernels, generic and 64-wide) and many (BLAS), causal with a cache offset
    /// and not, keys and values side by side or in one block per head, against the definition; the attention weights
    /// handed to `onWeights` are the softmax rows (0 where hidden).
    @Test(arguments: [
        (1, 7, 6, 16), (3, 3, 0, 16), (5, 5, 0, 64), (1, 9, 8, 64), (12, 12, 0, 16), (2, 1500, nil, 64), (16, 40, nil, 64),
    ] as [(Int, Int, Int?, Int)])
    mutating func attentionMatchesNaive(queries: Int, keyCount: Int, causalOffset: Int?, headWidth: Int) {
        for blocked in [false, true] {
            checkAttention(queries: queries, keyCount: keyCount, causalOffset: causalOffset, headWidth: headWidth, blocked: blocked)
        }
    }

    /// Without a weights callback, heads are shared between threads (six heads): a decoder step over many keys, and
    /// many queries (the encoder; with oneDNN each head's products on one thread, in blocks of
    /// ``Attention/queryBlock`` queries, the causal mask following each block); same results.
    @Test(arguments: [
        (1, 1500, nil, 64), (5, 1500, nil, 64), (3, 3000, 2000, 16), (40, 40, nil, 16), (20, 30, 10, 64),
        (300, 700, nil, 64), (260, 400, 140, 16),
    ] as [(Int, Int, Int?, Int)])
    mutating func attentionSplitBetweenThreadsMatchesNaive(queries: Int, keyCount: Int, causalOffset: Int?, headWidth: Int) {
        let threads = Matrix.threadCount
        defer { Matrix.threadCount = threads }
        Matrix.threadCount = 2
        checkAttention(
            queries: queries, keyCount: keyCount, causalOffset: causalOffset, headWidth: headWidth, blocked: true,
            reportWeights: false, heads: 6)
    }

    /// Half-precision keys and values (the decoder's cross-attention memory), few queries and many, with and without
    /// the weights callback, against the definition over the same half-precision values.
    @Test(arguments: [(1, 1500, true), (5, 1500, false), (5, 40, true), (20, 30, true), (40, 40, false)] as [(Int, Int, Bool)])
    mutating func halfPrecisionKeysAndValuesMatchNaive(queries: Int, keyCount: Int, reportWeights: Bool) {
        let threads = Matrix.threadCount
        defer { Matrix.threadCount = threads }
        Matrix.threadCount = 2
        checkAttention(
            queries: queries, keyCount: keyCount, causalOffset: nil, headWidth: 64, blocked: true,
            reportWeights: reportWeights, heads: 6, halfKeysAndValues: true)
    }

    mutating func checkAttention(
        queries: Int, keyCount: Int, causalOffset: Int?, headWidth: Int, blocked: Bool, reportWeights: Bool = true,
        heads: Int = 2, halfKeysAndValues: Bool = false
    ) {
        let width = heads * headWidth
        let q = values(queries * width)
        var k = values(keyCount * width), v = values(keyCount * width)
        if halfKeysAndValues {
            k = k.map { Float(Float16($0)) }
            v = v.map { Float(Float16($0)) }
        }
        // The same keys and values rearranged into one `keyCount × headWidth` block per head.
        func perHead(_ m: [Float]) -> [Float] {
            var blocks: [Float] = []
            for h in 0..<heads {
                for t in 0..<keyCount {
                    let start = t * width + h * headWidth
                    blocks += m[start..<start + headWidth]
                }
            }
            return blocks
        }
        let (keyData, valueData) = blocked ? (perHead(k), perHead(v)) : (k, v)
        let (rowStride, headStride) = blocked ? (headWidth, keyCount * headWidth) : (width, headWidth)
        var output = [Float](repeating: 0, count: queries * width)
        var scores = [Float](repeating: 0, count: queries * keyCount)
        var reported: [[Float]] = []
        func attend<Element: WidenableScalar>(_ keyData: [Element], _ valueData: [Element]) {
            q.withUnsafeBufferPointer { qp in
                keyData.withUnsafeBufferPointer { kp in
                    valueData.withUnsafeBufferPointer { vp in
                        Attention.multiHead(
                            query: .init(base: qp.baseAddress!, rows: queries, stride: width),
                            keys: .init(base: kp.baseAddress!, rows: keyCount, stride: rowStride, headStride: headStride),
                            values: .init(base: vp.baseAddress!, rows: keyCount, stride: rowStride, headStride: headStride),
                            output: &output, outputStride: width, heads: heads, headWidth: headWidth,
                            causalOffset: causalOffset, scores: &scores,
                            onWeights: reportWeights
                                ? { _, weights in reported.append(Array(UnsafeBufferPointer(start: weights, count: queries * keyCount))) }
                                : nil)
                    }
                }
            }
        }
        if halfKeysAndValues {
            attend(keyData.map { Float16($0) }, valueData.map { Float16($0) })
        } else {
            attend(keyData, valueData)
        }
        #expect(reported.count == (reportWeights ? heads : 0))
        for h in 0..<heads {
            for i in 0..<queries {
                let visible = causalOffset.map { min(keyCount, $0 + i + 1) } ?? keyCount
                var weights: [Double] = []
                for j in 0..<visible {
                    var dot = 0.0
                    for d in 0..<headWidth { dot += Double(q[i * width + h * headWidth + d]) * Double(k[j * width + h * headWidth + d]) }
                    weights.append(exp(dot / Double(headWidth).squareRoot()))
                }
                let total = weights.reduce(0, +)
                for j in 0..<keyCount where reportWeights {
                    let expected = j < visible ? weights[j] / total : 0
                    #expect(abs(Double(reported[h][i * keyCount + j]) - expected) < 1e-5)
                }
                for d in 0..<headWidth {
                    var expected = 0.0
                    for j in 0..<visible { expected += weights[j] / total * Double(v[j * width + h * headWidth + d]) }
                    #expect(abs(Double(output[i * width + h * headWidth + d]) - expected) < 1e-4)
                }
            }
        }
    }

    @Test mutating func strideTwoConvolutionMatchesNaive() {
        let (inChannels, outChannels, frames) = (3, 4, 9)
        let (weight, bias) = (values(outChannels * inChannels * 3), values(outChannels))
        let conv = Convolution1D(
            weight: weight, bias: bias, inChannels: inChannels,
            outChannels: outChannels, kernel: 3, stride: 2, padding: 1)
        let input = values(inChannels * frames)  // channel-major [inChannels, frames]
        let y = input.withUnsafeBufferPointer { conv.apply($0.baseAddress!, frames: frames, frameStride: 1, channelStride: frames) }
        #expect(y.rows == 5)
        for t in 0..<y.rows {
            for o in 0..<outChannels {
                var expected = Double(bias[o])
                for c in 0..<inChannels {
                    for k in 0..<3 {
                        let source = t * 2 + k - 1
                        if source >= 0 && source < frames {
                            expected += Double(weight[(o * inChannels + c) * 3 + k]) * Double(input[c * frames + source])
                        }
                    }
                }
                #expect(abs(Double(y[t, o]) - expected) < 1e-4)
            }
        }
    }
}

extension TensorOperationTests {
    /// The attention's weighted sums in both vector widths: each row bit-identical alone or with up to seven others
    /// (beams share one call), and within 1e-5 of double precision, for Whisper's 64-wide heads and widths with
    /// leftover columns (after four vectors, after two, one at a time).
    @Test(arguments: [64, 24, 88]) mutating func weightedSumsMatchAloneAndDoublePrecision(width: Int) {
        let count = 300
        let weights = values(8 * count).map { abs($0) / Float(count) }
        let valuesFloat = values(count * width).map { Float(Float16($0)) }
        let valuesHalf = valuesFloat.map { Float16($0) }
        func sums<Value: WidenableScalar>(_ v: [Value], rows: Int, from first: Int, avx512: Bool) -> [Float] {
            var out = [Float](repeating: .nan, count: rows * width)
            weights.withUnsafeBufferPointer { w in
                v.withUnsafeBufferPointer { v in
                    let start = w.baseAddress! + first * count
                    if avx512 {
                        AVX512Attention.weightedSums(
                            start, weightStride: count, rows: rows, values: v.baseAddress!, count: count, width: width,
                            into: &out, outputStride: width)
                    } else {
                        AttentionKernels<SIMD8<Float>>.weightedSums(
                            start, weightStride: count, rows: rows, values: v.baseAddress!, count: count, width: width,
                            into: &out, outputStride: width)
                    }
                }
            }
            return out
        }
        func check<Value: WidenableScalar>(_ v: [Value], _ name: String) {
            for avx512 in MatrixVector.usesAVX512 ? [false, true] : [false] {
                let alone = (0..<8).map { sums(v, rows: 1, from: $0, avx512: avx512) }
                for rows in 2...8 {
                    #expect(sums(v, rows: rows, from: 0, avx512: avx512) == Array(alone[0..<rows].joined()), "\(name) \(rows) rows")
                }
                for r in 0..<8 {
                    for d in 0..<width {
                        let exact = (0..<count).reduce(0.0) { $0 + Double(weights[r * count + $1]) * Double(valuesFloat[$1 * width + d]) }
                        #expect(abs(Double(alone[r][d]) - exact) < 1e-5, "\(name) AVX-512 \(avx512)")
                    }
                }
            }
        }
        check(valuesFloat, "Float")
        check(valuesHalf, "Float16")
    }
}
