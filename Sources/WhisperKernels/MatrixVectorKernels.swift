import CPrefetch

/// The kernels of products of a few activation rows with a weight matrix, `Y[r] = W · X[r]` for `W`
/// `[outputs × inputs]`, over a range of outputs, in vectors of `V`.
///
/// Each output's sum runs in the same order whatever the number of rows (one accumulator of `V` over the inputs, then
/// its lanes added as a tree, ``KernelVector/laneSum()``), so a row's results are bit-identical alone or with others.
public enum MatrixVectorKernels<V: KernelVector> {
    /// The most input rows one call handles.
    public static var maximumRows: Int { 8 }

    /// `output[r · outputStride + j] = Σₖ weights[j · inputs + k] · input[r · inputs + k]` for `j` in `range` and
    /// `rows` ≤ ``maximumRows``.
    @inlinable @inline(__always)
    public static func multiply<Weight: WidenableScalar>(
        _ weights: UnsafePointer<Weight>, outputs range: Range<Int>, inputs: Int,
        input: UnsafePointer<Float>, rows: Int, output: UnsafeMutablePointer<Float>, outputStride: Int
    ) {
        if rows == 1 {
            singleRow(weights, outputs: range, inputs: inputs, input: input, output: output)
        } else {
            severalRows(weights, outputs: range, inputs: inputs, input: input, rows: rows, output: output, outputStride: outputStride)
        }
    }

    /// One input row: four weight rows at a time for independent accumulators.
    @inlinable
    static func singleRow<Weight: WidenableScalar>(
        _ weights: UnsafePointer<Weight>, outputs range: Range<Int>, inputs: Int,
        input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>
    ) {
        let vectorEnd = inputs - inputs % V.scalarCount
        var j = range.lowerBound
        while j + 4 <= range.upperBound {
            let w0 = weights + j * inputs
            let w1 = w0 + inputs
            let w2 = w1 + inputs
            let w3 = w2 + inputs
            prefetch(w0, count: 4 * inputs)
            var a0 = V(), a1 = V(), a2 = V(), a3 = V()
            var k = 0
            while k < vectorEnd {
                let x = V.load(input, at: k)
                a0 = a0.addingProduct(Weight.vector(w0, at: k), x)
                a1 = a1.addingProduct(Weight.vector(w1, at: k), x)
                a2 = a2.addingProduct(Weight.vector(w2, at: k), x)
                a3 = a3.addingProduct(Weight.vector(w3, at: k), x)
                k += V.scalarCount
            }
            var s0 = a0.laneSum(), s1 = a1.laneSum(), s2 = a2.laneSum(), s3 = a3.laneSum()
            while k < inputs {
                s0 += Weight.widen(w0[k]) * input[k]
                s1 += Weight.widen(w1[k]) * input[k]
                s2 += Weight.widen(w2[k]) * input[k]
                s3 += Weight.widen(w3[k]) * input[k]
                k += 1
            }
            output[j] = s0
            output[j + 1] = s1
            output[j + 2] = s2
            output[j + 3] = s3
            j += 4
        }
        while j < range.upperBound {
            let w = weights + j * inputs
            var a = V()
            var k = 0
            while k < vectorEnd {
                a = a.addingProduct(Weight.vector(w, at: k), V.load(input, at: k))
                k += V.scalarCount
            }
            var s = a.laneSum()
            while k < inputs {
                s += Weight.widen(w[k]) * input[k]
                k += 1
            }
            output[j] = s
            j += 1
        }
    }

    /// How far ahead of the rows being multiplied the kernels ask for weights, in bytes: on the logits product, the
    /// largest the decoder reads, nearer let the kernels wait on memory and farther gained nothing.
    @inlinable static var prefetchDistance: Int { 1024 }

    /// Asks the cache for the `count` weights from `start` + ``prefetchDistance`` bytes, so the weight stream arrives
    /// before the kernel needs it (the hardware prefetcher alone falls behind when the kernel has several rows).
    @inlinable @inline(__always)
    static func prefetch<Weight>(_ start: UnsafePointer<Weight>, count: Int) {
        let base = UnsafeRawPointer(start) + prefetchDistance
        let bytes = count * MemoryLayout<Weight>.stride
        var offset = 0
        while offset < bytes {
            whisper_prefetch(base + offset)
            offset += 64
        }
    }

    /// Two to eight input rows: each weight vector is loaded once and used for every row. The row count is a type
    /// parameter of ``rowBlock``, so each specialisation's loop is straight-line code for exactly that many rows.
    @inlinable
    static func severalRows<Weight: WidenableScalar>(
        _ weights: UnsafePointer<Weight>, outputs range: Range<Int>, inputs: Int,
        input: UnsafePointer<Float>, rows: Int, output: UnsafeMutablePointer<Float>, outputStride: Int
    ) {
        func block<Count: RowCount>(_: Count.Type) {
            rowBlock(weights, outputs: range, inputs: inputs, input: input, rows: Count.self, output: output, outputStride: outputStride)
        }
        switch rows {
        case 2: block(TwoRows.self)
        case 3: block(ThreeRows.self)
        case 4: block(FourRows.self)
        case 5: block(FiveRows.self)
        case 6: block(SixRows.self)
        case 7: block(SevenRows.self)
        default: block(EightRows.self)
        }
    }

    /// One accumulator per input row (up to eight).
    public typealias RowSums = (V, V, V, V, V, V, V, V)
    /// Up to eight input rows; rows past the last repeat it (never read: the row count is a constant).
    public typealias RowPointers = (
        UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>,
        UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>
    )

    /// Input rows up to which two weight rows go together: the accumulators (two per row), two weight vectors and an
    /// input vector must fit the registers (16 with AVX2, 32 with AVX-512).
    @inlinable static var pairedRows: Int { V.scalarCount >= 16 ? 8 : 6 }

    @inlinable
    static func rowBlock<Weight: WidenableScalar, Count: RowCount>(
        _ weights: UnsafePointer<Weight>, outputs range: Range<Int>, inputs: Int,
        input: UnsafePointer<Float>, rows _: Count.Type, output: UnsafeMutablePointer<Float>, outputStride: Int
    ) {
        let rows = Count.value
        func row(_ index: Int) -> UnsafePointer<Float> { input + min(index, rows - 1) * inputs }
        let x = (row(0), row(1), row(2), row(3), row(4), row(5), row(6), row(7))
        var j = range.lowerBound
        // Two weight rows at a time, so at least four independent multiply-add chains hide the instruction latency.
        if rows <= pairedRows {
            while j + 2 <= range.upperBound {
                prefetch(weights + j * inputs, count: 2 * inputs)
                let (a, b) = pairOfWeightRows(weights + j * inputs, inputs: inputs, x: x, rows: Count.self)
                storeSums(a, weights + j * inputs, inputs: inputs, x: x, rows: rows, output: output + j, outputStride: outputStride)
                storeSums(
                    b, weights + (j + 1) * inputs, inputs: inputs, x: x, rows: rows, output: output + j + 1,
                    outputStride: outputStride)
                j += 2
            }
        }
        while j < range.upperBound {
            prefetch(weights + j * inputs, count: inputs)
            let a = oneWeightRow(weights + j * inputs, inputs: inputs, x: x, rows: Count.self)
            storeSums(a, weights + j * inputs, inputs: inputs, x: x, rows: rows, output: output + j, outputStride: outputStride)
            j += 1
        }
    }

    /// Sums of weight rows `w` and `w + inputs` with every input row, over whole vectors.
    @inlinable @inline(__always)
    static func pairOfWeightRows<Weight: WidenableScalar, Count: RowCount>(
        _ w: UnsafePointer<Weight>, inputs: Int, x: RowPointers, rows _: Count.Type
    ) -> (RowSums, RowSums) {
        let rows = Count.value
        let u = w + inputs
        let vectorEnd = inputs - inputs % V.scalarCount
        var a: RowSums = (V(), V(), V(), V(), V(), V(), V(), V())
        var b = a
        var k = 0
        while k < vectorEnd {
            let (v, t): (V, V) = (Weight.vector(w, at: k), Weight.vector(u, at: k))
            var y = V.load(x.0, at: k)
            a.0 = a.0.addingProduct(v, y); b.0 = b.0.addingProduct(t, y)
            y = V.load(x.1, at: k)
            a.1 = a.1.addingProduct(v, y); b.1 = b.1.addingProduct(t, y)
            if rows > 2 { y = V.load(x.2, at: k); a.2 = a.2.addingProduct(v, y); b.2 = b.2.addingProduct(t, y) }
            if rows > 3 { y = V.load(x.3, at: k); a.3 = a.3.addingProduct(v, y); b.3 = b.3.addingProduct(t, y) }
            if rows > 4 { y = V.load(x.4, at: k); a.4 = a.4.addingProduct(v, y); b.4 = b.4.addingProduct(t, y) }
            if rows > 5 { y = V.load(x.5, at: k); a.5 = a.5.addingProduct(v, y); b.5 = b.5.addingProduct(t, y) }
            if rows > 6 { y = V.load(x.6, at: k); a.6 = a.6.addingProduct(v, y); b.6 = b.6.addingProduct(t, y) }
            if rows > 7 { y = V.load(x.7, at: k); a.7 = a.7.addingProduct(v, y); b.7 = b.7.addingProduct(t, y) }
            k += V.scalarCount
        }
        return (a, b)
    }

    /// Sums of weight row `w` with every input row, over whole vectors.
    @inlinable @inline(__always)
    static func oneWeightRow<Weight: WidenableScalar, Count: RowCount>(
        _ w: UnsafePointer<Weight>, inputs: Int, x: RowPointers, rows _: Count.Type
    ) -> RowSums {
        let rows = Count.value
        let vectorEnd = inputs - inputs % V.scalarCount
        var a: RowSums = (V(), V(), V(), V(), V(), V(), V(), V())
        var k = 0
        while k < vectorEnd {
            let v: V = Weight.vector(w, at: k)
            a.0 = a.0.addingProduct(v, V.load(x.0, at: k))
            a.1 = a.1.addingProduct(v, V.load(x.1, at: k))
            if rows > 2 { a.2 = a.2.addingProduct(v, V.load(x.2, at: k)) }
            if rows > 3 { a.3 = a.3.addingProduct(v, V.load(x.3, at: k)) }
            if rows > 4 { a.4 = a.4.addingProduct(v, V.load(x.4, at: k)) }
            if rows > 5 { a.5 = a.5.addingProduct(v, V.load(x.5, at: k)) }
            if rows > 6 { a.6 = a.6.addingProduct(v, V.load(x.6, at: k)) }
            if rows > 7 { a.7 = a.7.addingProduct(v, V.load(x.7, at: k)) }
            k += V.scalarCount
        }
        return a
    }

    /// Writes one weight row's results for `rows` input rows, adding leftover columns when `inputs` is not a multiple
    /// of the lane count (never for Whisper's widths).
    @inlinable @inline(__always)
    static func storeSums<Weight: WidenableScalar>(
        _ sums: RowSums, _ w: UnsafePointer<Weight>, inputs: Int, x: RowPointers, rows: Int,
        output: UnsafeMutablePointer<Float>, outputStride: Int
    ) {
        let vectorEnd = inputs - inputs % V.scalarCount
        func tail(_ row: UnsafePointer<Float>) -> Float {
            var sum: Float = 0
            for k in vectorEnd..<inputs { sum += Weight.widen(w[k]) * row[k] }
            return sum
        }
        output[0] = sums.0.laneSum() + tail(x.0)
        output[outputStride] = sums.1.laneSum() + tail(x.1)
        if rows > 2 { output[2 * outputStride] = sums.2.laneSum() + tail(x.2) }
        if rows > 3 { output[3 * outputStride] = sums.3.laneSum() + tail(x.3) }
        if rows > 4 { output[4 * outputStride] = sums.4.laneSum() + tail(x.4) }
        if rows > 5 { output[5 * outputStride] = sums.5.laneSum() + tail(x.5) }
        if rows > 6 { output[6 * outputStride] = sums.6.laneSum() + tail(x.6) }
        if rows > 7 { output[7 * outputStride] = sums.7.laneSum() + tail(x.7) }
    }
}

/// A row count as a type, so kernels specialise on it.
public protocol RowCount { static var value: Int { get } }
public enum OneRow: RowCount { @inlinable public static var value: Int { 1 } }
public enum TwoRows: RowCount { @inlinable public static var value: Int { 2 } }
public enum ThreeRows: RowCount { @inlinable public static var value: Int { 3 } }
public enum FourRows: RowCount { @inlinable public static var value: Int { 4 } }
public enum FiveRows: RowCount { @inlinable public static var value: Int { 5 } }
public enum SixRows: RowCount { @inlinable public static var value: Int { 6 } }
public enum SevenRows: RowCount { @inlinable public static var value: Int { 7 } }
public enum EightRows: RowCount { @inlinable public static var value: Int { 8 } }
