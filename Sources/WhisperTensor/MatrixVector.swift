import Dispatch

/// Products of a few activation rows with a weight matrix, `Y[r] = W · X[r]` for `W` `[outputs × inputs]`: the shape
/// of every decoder step, where each weight is used once per row and the cost is reading the weights.
///
/// Each weight row is loaded once and multiplied with all input rows (up to ``maximumRows``); large matrices are split
/// between ``Matrix/threadCount`` threads. Weights may be `Float` or `Float16` (widened in registers).
public enum MatrixVector {
    /// The most input rows one call handles; more rows are a matrix product for `sgemm`.
    public static let maximumRows = 8
    /// Weight elements below which a product stays on the calling thread (a 384 × 384 layer is just above).
    static let parallelThreshold = 1 << 17
    /// Weight elements from which each thread takes several chunks.
    static let manyChunksThreshold = 1 << 20

    /// `output[r · outputs + j] = Σₖ weights[j · inputs + k] · input[r · inputs + k]` for `rows` ≤ ``maximumRows``.
    public static func multiply<Weight: WidenableScalar>(
        _ weights: UnsafePointer<Weight>, outputs: Int, inputs: Int,
        by input: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>
    ) {
        precondition(rows >= 1 && rows <= maximumRows, "MatrixVector takes 1 to \(maximumRows) rows")
        let parts = outputs * inputs >= parallelThreshold ? max(1, min(Matrix.threadCount, 8)) : 1
        if parts == 1 {
            kernel(weights, outputs: 0..<outputs, inputs: inputs, input: input, rows: rows, output: output, outputStride: outputs)
            return
        }
        // Several chunks per thread, taken as threads come free, so a thread the OS preempts (another process on the
        // machine) delays only its current chunk; chunks are whole cache lines of output.
        let chunks = parts * (outputs * inputs >= manyChunksThreshold ? 8 : 4)
        let chunk = (outputs + chunks - 1) / chunks + 15 & ~15
        nonisolated(unsafe) let (w, x, y) = (weights, input, output)
        DispatchQueue.concurrentPerform(iterations: chunks) { part in
            let range = min(outputs, part * chunk)..<min(outputs, (part + 1) * chunk)
            kernel(w, outputs: range, inputs: inputs, input: x, rows: rows, output: y, outputStride: outputs)
        }
    }

    /// Widens `count` little-endian half-precision values stored at any byte address (e.g. inside a weights file)
    /// into `output`.
    public static func widen(halfPrecisionBytes source: UnsafeRawPointer, count: Int, into output: UnsafeMutablePointer<Float>) {
        var j = 0
        while j + laneCount <= count {
            let h = (source + 2 * j).loadUnaligned(as: SIMD8<Float16>.self)
            output.store(
                Lanes(Float(h[0]), Float(h[1]), Float(h[2]), Float(h[3]), Float(h[4]), Float(h[5]), Float(h[6]), Float(h[7])),
                at: j)
            j += laneCount
        }
        while j < count {
            output[j] = Float(Float16(bitPattern: UInt16(littleEndian: (source + 2 * j).loadUnaligned(as: UInt16.self))))
            j += 1
        }
    }

    /// Rounds `count` values to the nearest half-precision values (eight per `vcvtps2ph`).
    public static func narrow(_ values: UnsafePointer<Float>, count: Int, into output: UnsafeMutablePointer<Float16>) {
        var j = 0
        while j + laneCount <= count {
            let v = values.lanes(at: j)
            UnsafeMutableRawPointer(output + j).storeBytes(
                of: SIMD8<Float16>(
                    Float16(v[0]), Float16(v[1]), Float16(v[2]), Float16(v[3]), Float16(v[4]), Float16(v[5]),
                    Float16(v[6]), Float16(v[7])),
                as: SIMD8<Float16>.self)
            j += laneCount
        }
        while j < count {
            output[j] = Float16(values[j])
            j += 1
        }
    }

    /// Widens `count` half-precision values into `output`.
    public static func widen(_ values: UnsafePointer<Float16>, count: Int, into output: UnsafeMutablePointer<Float>) {
        widen(halfPrecisionBytes: UnsafeRawPointer(values), count: count, into: output)
    }

    @inline(__always)
    static func kernel<Weight: WidenableScalar>(
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
    static func singleRow<Weight: WidenableScalar>(
        _ weights: UnsafePointer<Weight>, outputs range: Range<Int>, inputs: Int,
        input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>
    ) {
        let vectorEnd = inputs - inputs % laneCount
        var j = range.lowerBound
        while j + 4 <= range.upperBound {
            let w0 = weights + j * inputs
            let w1 = w0 + inputs
            let w2 = w1 + inputs
            let w3 = w2 + inputs
            var a0 = Lanes(), a1 = Lanes(), a2 = Lanes(), a3 = Lanes()
            var k = 0
            while k < vectorEnd {
                let x = input.lanes(at: k)
                a0 = a0.addingProduct(Weight.lanes(w0, at: k), x)
                a1 = a1.addingProduct(Weight.lanes(w1, at: k), x)
                a2 = a2.addingProduct(Weight.lanes(w2, at: k), x)
                a3 = a3.addingProduct(Weight.lanes(w3, at: k), x)
                k += laneCount
            }
            var s0 = a0.sum(), s1 = a1.sum(), s2 = a2.sum(), s3 = a3.sum()
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
            var a = Lanes()
            var k = 0
            while k < vectorEnd {
                a = a.addingProduct(Weight.lanes(w, at: k), input.lanes(at: k))
                k += laneCount
            }
            var s = a.sum()
            while k < inputs {
                s += Weight.widen(w[k]) * input[k]
                k += 1
            }
            output[j] = s
            j += 1
        }
    }

    /// Two to eight input rows: each weight vector is loaded once and used for every row. The row count is a type
    /// parameter of ``rowBlock``, so each specialisation's loop is straight-line code for exactly that many rows.
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
    typealias RowSums = (Lanes, Lanes, Lanes, Lanes, Lanes, Lanes, Lanes, Lanes)
    /// Up to eight input rows; rows past the last repeat it (never read: the row count is a constant).
    typealias RowPointers = (
        UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>,
        UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>
    )

    static func rowBlock<Weight: WidenableScalar, Count: RowCount>(
        _ weights: UnsafePointer<Weight>, outputs range: Range<Int>, inputs: Int,
        input: UnsafePointer<Float>, rows _: Count.Type, output: UnsafeMutablePointer<Float>, outputStride: Int
    ) {
        let rows = Count.value
        func row(_ index: Int) -> UnsafePointer<Float> { input + min(index, rows - 1) * inputs }
        let x = (row(0), row(1), row(2), row(3), row(4), row(5), row(6), row(7))
        var j = range.lowerBound
        // Up to six rows: two weight rows at a time, so at least four independent multiply-add chains hide the
        // instruction latency (each output's sum runs in the same order as in ``singleRow``).
        if rows <= 6 {
            while j + 2 <= range.upperBound {
                let (a, b) = pairOfWeightRows(weights + j * inputs, inputs: inputs, x: x, rows: Count.self)
                storeSums(a, weights + j * inputs, inputs: inputs, x: x, rows: rows, output: output + j, outputStride: outputStride)
                storeSums(
                    b, weights + (j + 1) * inputs, inputs: inputs, x: x, rows: rows, output: output + j + 1,
                    outputStride: outputStride)
                j += 2
            }
        }
        while j < range.upperBound {
            let a = oneWeightRow(weights + j * inputs, inputs: inputs, x: x, rows: Count.self)
            storeSums(a, weights + j * inputs, inputs: inputs, x: x, rows: rows, output: output + j, outputStride: outputStride)
            j += 1
        }
    }

    /// Sums of weight rows `w` and `w + inputs` with every input row, over whole vectors.
    static func pairOfWeightRows<Weight: WidenableScalar, Count: RowCount>(
        _ w: UnsafePointer<Weight>, inputs: Int, x: RowPointers, rows _: Count.Type
    ) -> (RowSums, RowSums) {
        let rows = Count.value
        let u = w + inputs
        let vectorEnd = inputs - inputs % laneCount
        var a: RowSums = (Lanes(), Lanes(), Lanes(), Lanes(), Lanes(), Lanes(), Lanes(), Lanes())
        var b = a
        var k = 0
        while k < vectorEnd {
            let (v, t) = (Weight.lanes(w, at: k), Weight.lanes(u, at: k))
            var y = x.0.lanes(at: k)
            a.0 = a.0.addingProduct(v, y); b.0 = b.0.addingProduct(t, y)
            y = x.1.lanes(at: k)
            a.1 = a.1.addingProduct(v, y); b.1 = b.1.addingProduct(t, y)
            if rows > 2 { y = x.2.lanes(at: k); a.2 = a.2.addingProduct(v, y); b.2 = b.2.addingProduct(t, y) }
            if rows > 3 { y = x.3.lanes(at: k); a.3 = a.3.addingProduct(v, y); b.3 = b.3.addingProduct(t, y) }
            if rows > 4 { y = x.4.lanes(at: k); a.4 = a.4.addingProduct(v, y); b.4 = b.4.addingProduct(t, y) }
            if rows > 5 { y = x.5.lanes(at: k); a.5 = a.5.addingProduct(v, y); b.5 = b.5.addingProduct(t, y) }
            k += laneCount
        }
        return (a, b)
    }

    /// Sums of weight row `w` with every input row, over whole vectors.
    static func oneWeightRow<Weight: WidenableScalar, Count: RowCount>(
        _ w: UnsafePointer<Weight>, inputs: Int, x: RowPointers, rows _: Count.Type
    ) -> RowSums {
        let rows = Count.value
        let vectorEnd = inputs - inputs % laneCount
        var a: RowSums = (Lanes(), Lanes(), Lanes(), Lanes(), Lanes(), Lanes(), Lanes(), Lanes())
        var k = 0
        while k < vectorEnd {
            let v = Weight.lanes(w, at: k)
            a.0 = a.0.addingProduct(v, x.0.lanes(at: k))
            a.1 = a.1.addingProduct(v, x.1.lanes(at: k))
            if rows > 2 { a.2 = a.2.addingProduct(v, x.2.lanes(at: k)) }
            if rows > 3 { a.3 = a.3.addingProduct(v, x.3.lanes(at: k)) }
            if rows > 4 { a.4 = a.4.addingProduct(v, x.4.lanes(at: k)) }
            if rows > 5 { a.5 = a.5.addingProduct(v, x.5.lanes(at: k)) }
            if rows > 6 { a.6 = a.6.addingProduct(v, x.6.lanes(at: k)) }
            if rows > 7 { a.7 = a.7.addingProduct(v, x.7.lanes(at: k)) }
            k += laneCount
        }
        return a
    }

    /// Writes one weight row's results for `rows` input rows, adding leftover columns when `inputs` is not a multiple
    /// of the lane count (never for Whisper's widths).
    @inline(__always)
    static func storeSums<Weight: WidenableScalar>(
        _ sums: RowSums, _ w: UnsafePointer<Weight>, inputs: Int, x: RowPointers, rows: Int,
        output: UnsafeMutablePointer<Float>, outputStride: Int
    ) {
        let vectorEnd = inputs - inputs % laneCount
        func tail(_ row: UnsafePointer<Float>) -> Float {
            var sum: Float = 0
            for k in vectorEnd..<inputs { sum += Weight.widen(w[k]) * row[k] }
            return sum
        }
        output[0] = sums.0.sum() + tail(x.0)
        output[outputStride] = sums.1.sum() + tail(x.1)
        if rows > 2 { output[2 * outputStride] = sums.2.sum() + tail(x.2) }
        if rows > 3 { output[3 * outputStride] = sums.3.sum() + tail(x.3) }
        if rows > 4 { output[4 * outputStride] = sums.4.sum() + tail(x.4) }
        if rows > 5 { output[5 * outputStride] = sums.5.sum() + tail(x.5) }
        if rows > 6 { output[6 * outputStride] = sums.6.sum() + tail(x.6) }
        if rows > 7 { output[7 * outputStride] = sums.7.sum() + tail(x.7) }
    }
}

/// A row count as a type, so kernels specialise on it.
protocol RowCount { static var value: Int { get } }
enum TwoRows: RowCount { static var value: Int { 2 } }
enum ThreeRows: RowCount { static var value: Int { 3 } }
enum FourRows: RowCount { static var value: Int { 4 } }
enum FiveRows: RowCount { static var value: Int { 5 } }
enum SixRows: RowCount { static var value: Int { 6 } }
enum SevenRows: RowCount { static var value: Int { 7 } }
enum EightRows: RowCount { static var value: Int { 8 } }

/// A weight element type the kernels read: `Float`, `Float16`, or `Int8` (quantised, scaled per row afterwards).
public protocol WidenableScalar: Sendable {
    /// Eight values from `pointer + offset` as `Float`.
    static func lanes(_ pointer: UnsafePointer<Self>, at offset: Int) -> SIMD8<Float>
    /// One value as `Float`.
    static func widen(_ value: Self) -> Float
}

extension Float: WidenableScalar {
    @inline(__always) public static func lanes(_ pointer: UnsafePointer<Float>, at offset: Int) -> SIMD8<Float> {
        pointer.lanes(at: offset)
    }

    @inline(__always) public static func widen(_ value: Float) -> Float { value }
}

extension Float16: WidenableScalar {
    @inline(__always) public static func lanes(_ pointer: UnsafePointer<Float16>, at offset: Int) -> SIMD8<Float> {
        pointer.lanes(at: offset)
    }

    @inline(__always) public static func widen(_ value: Float16) -> Float { Float(value) }
}

extension Int8: WidenableScalar {
    /// Eight values sign-extended and converted (`vpmovsxbd`, `vcvtdq2ps`), lane by lane as for `Float16`.
    @inline(__always) public static func lanes(_ pointer: UnsafePointer<Int8>, at offset: Int) -> SIMD8<Float> {
        let v = UnsafeRawPointer(pointer + offset).loadUnaligned(as: SIMD8<Int8>.self)
        return SIMD8<Float>(Float(v[0]), Float(v[1]), Float(v[2]), Float(v[3]), Float(v[4]), Float(v[5]), Float(v[6]), Float(v[7]))
    }

    @inline(__always) public static func widen(_ value: Int8) -> Float { Float(value) }
}

