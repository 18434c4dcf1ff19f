import Dispatch

/// Products of a few activation rows with a weight matrix, `Y[r] = W · X[r]` for `W` `[outputs × inputs]`: the shape
/// of every decoder step, where each weight is used once per row and the cost is reading the weights.
///
/// Each weight row is loaded once and multiplied with all input rows (up to ``maximumRows``); large matrices are split
/// between ``Matrix/threadCount`` threads. Weights may be `Float` or `Float16` (widened in registers).
public enum MatrixVector {
    /// The most input rows one call handles; more rows are a matrix product for `sgemm`.
    public static let maximumRows = 8
    /// Weight elements below which a product stays on the calling thread.
    static let parallelThreshold = 1 << 20

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
        // Several chunks per thread, taken as threads come free, so a thread the OS preempts (another process on
        // the machine) delays only its current chunk; chunks are whole cache lines of output.
        let chunks = parts * 8
        let chunk = (outputs + chunks - 1) / chunks + 15 & ~15
        nonisolated(unsafe) let (w, x, y) = (weights, input, output)
        DispatchQueue.concurrentPerform(iterations: chunks) { part in
            let range = min(outputs, part * chunk)..<min(outputs, (part + 1) * chunk)
            kernel(w, outputs: range, inputs: inputs, input: x, rows: rows, output: y, outputStride: outputs)
        }
    }

    /// Widens `count` half-precision values into `output`.
    public static func widen(_ values: UnsafePointer<Float16>, count: Int, into output: UnsafeMutablePointer<Float>) {
        var j = 0
        while j + laneCount <= count {
            output.store(values.lanes(at: j), at: j)
            j += laneCount
        }
        while j < count {
            output[j] = Float(values[j])
            j += 1
        }
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

    /// Two to eight input rows: each weight vector is loaded once and used for every row.
    static func severalRows<Weight: WidenableScalar>(
        _ weights: UnsafePointer<Weight>, outputs range: Range<Int>, inputs: Int,
        input: UnsafePointer<Float>, rows: Int, output: UnsafeMutablePointer<Float>, outputStride: Int
    ) {
        // Rows past the last repeat it, so the loop body has no branches; their results are not stored.
        func row(_ index: Int) -> UnsafePointer<Float> { input + min(index, rows - 1) * inputs }
        let (x0, x1, x2, x3, x4, x5, x6, x7) = (row(0), row(1), row(2), row(3), row(4), row(5), row(6), row(7))
        let vectorEnd = inputs - inputs % laneCount
        for j in range {
            let w = weights + j * inputs
            var a0 = Lanes(), a1 = Lanes(), a2 = Lanes(), a3 = Lanes()
            var a4 = Lanes(), a5 = Lanes(), a6 = Lanes(), a7 = Lanes()
            var k = 0
            while k < vectorEnd {
                let v = Weight.lanes(w, at: k)
                a0 = a0.addingProduct(v, x0.lanes(at: k))
                a1 = a1.addingProduct(v, x1.lanes(at: k))
                if rows > 2 {
                    a2 = a2.addingProduct(v, x2.lanes(at: k))
                    a3 = a3.addingProduct(v, x3.lanes(at: k))
                }
                if rows > 4 {
                    a4 = a4.addingProduct(v, x4.lanes(at: k))
                    a5 = a5.addingProduct(v, x5.lanes(at: k))
                    a6 = a6.addingProduct(v, x6.lanes(at: k))
                    a7 = a7.addingProduct(v, x7.lanes(at: k))
                }
                k += laneCount
            }
            // Leftover columns when `inputs` is not a multiple of the lane count (never for Whisper's widths).
            func tail(_ row: UnsafePointer<Float>) -> Float {
                var sum: Float = 0
                for k in vectorEnd..<inputs { sum += Weight.widen(w[k]) * row[k] }
                return sum
            }
            let sums = (a0, a1, a2, a3, a4, a5, a6, a7)
            let out = output + j
            out[0] = sums.0.sum() + tail(x0)
            out[outputStride] = sums.1.sum() + tail(x1)
            if rows > 2 { out[2 * outputStride] = sums.2.sum() + tail(x2) }
            if rows > 3 { out[3 * outputStride] = sums.3.sum() + tail(x3) }
            if rows > 4 { out[4 * outputStride] = sums.4.sum() + tail(x4) }
            if rows > 5 { out[5 * outputStride] = sums.5.sum() + tail(x5) }
            if rows > 6 { out[6 * outputStride] = sums.6.sum() + tail(x6) }
            if rows > 7 { out[7 * outputStride] = sums.7.sum() + tail(x7) }
        }
    }
}

/// A weight element type the kernels read: `Float` or `Float16`.
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
