import CPrefetch

/// The second product of the decoder's attention, `output[i] = Σₜ weights[i][t] · values[t]`, for a few query rows
/// at once in vectors of `V`: each value vector is loaded (and widened) once for up to four rows, and the value rows
/// are asked for ahead of use (the audio's values of a step come from memory).
///
/// The first product (scores of the query rows against the keys) has the shape of a weight matrix times a few input
/// rows and goes through ``MatrixVectorKernels``.
public enum AttentionKernels<V: KernelVector> {
    /// `output[i · outputStride + d] = Σₜ weights[i · weightStride + t] · values[t · width + d]` for `rows` rows,
    /// `count` value rows of `width` values each (contiguous; columns past the last whole pair of vectors one at a time,
    /// never for Whisper's 64-wide heads).
    @inlinable
    public static func weightedSums<Value: WidenableScalar>(
        _ weights: UnsafePointer<Float>, weightStride: Int, rows: Int,
        values: UnsafePointer<Value>, count: Int, width: Int,
        into output: UnsafeMutablePointer<Float>, outputStride: Int
    ) {
        var first = 0
        while first < rows {
            let group = min(4, rows - first)
            let (w, o) = (weights + first * weightStride, output + first * outputStride)
            func sums<Count: RowCount>(_: Count.Type) {
                groupSums(w, weightStride: weightStride, values: values, count: count, width: width, into: o, outputStride: outputStride, rows: Count.self)
            }
            switch group {
            case 1: sums(OneRow.self)
            case 2: sums(TwoRows.self)
            case 3: sums(ThreeRows.self)
            default: sums(FourRows.self)
            }
            first += group
        }
    }

    /// Up to four rows, two vectors of columns at a time over all value rows. Each row's sums are added in the same
    /// order whatever the rows beside it, so a row's result is bit-identical alone or with others.
    @inlinable
    static func groupSums<Value: WidenableScalar, Count: RowCount>(
        _ w: UnsafePointer<Float>, weightStride: Int, values: UnsafePointer<Value>, count: Int, width: Int,
        into output: UnsafeMutablePointer<Float>, outputStride: Int, rows _: Count.Type
    ) {
        let rows = Count.value
        let lanes = V.scalarCount
        let lines = (width * MemoryLayout<Value>.stride + 63) / 64
        var column = 0
        while column + 2 * lanes <= width {
            var a0 = V(), a1 = V(), b0 = V(), b1 = V(), c0 = V(), c1 = V(), d0 = V(), d1 = V()
            var t = 0
            while t < count {
                let v = values + t * width + column
                if column == 0 { prefetch(values + (t + prefetchRows) * width, lines: lines) }
                let (x0, x1): (V, V) = (Value.vector(v, at: 0), Value.vector(v, at: lanes))
                var p = V(repeating: w[t])
                a0 = a0.addingProduct(p, x0)
                a1 = a1.addingProduct(p, x1)
                if rows > 1 {
                    p = V(repeating: w[weightStride + t])
                    b0 = b0.addingProduct(p, x0)
                    b1 = b1.addingProduct(p, x1)
                }
                if rows > 2 {
                    p = V(repeating: w[2 * weightStride + t])
                    c0 = c0.addingProduct(p, x0)
                    c1 = c1.addingProduct(p, x1)
                }
                if rows > 3 {
                    p = V(repeating: w[3 * weightStride + t])
                    d0 = d0.addingProduct(p, x0)
                    d1 = d1.addingProduct(p, x1)
                }
                t += 1
            }
            store(a0, a1, at: output + column)
            if rows > 1 { store(b0, b1, at: output + outputStride + column) }
            if rows > 2 { store(c0, c1, at: output + 2 * outputStride + column) }
            if rows > 3 { store(d0, d1, at: output + 3 * outputStride + column) }
            column += 2 * lanes
        }
        for c in column..<width {
            for i in 0..<rows {
                var sum: Float = 0
                for t in 0..<count { sum += w[i * weightStride + t] * Value.widen(values[t * width + c]) }
                output[i * outputStride + c] = sum
            }
        }
    }

    /// Value rows ahead of the current one that the first pass over the columns asks the cache for.
    @inlinable static var prefetchRows: Int { 16 }

    /// Asks the cache for the `lines` cache lines of a value row (past the last row too: a prefetch never faults).
    @inlinable @inline(__always)
    static func prefetch<Value>(_ row: UnsafePointer<Value>, lines: Int) {
        for line in 0..<lines { whisper_prefetch(UnsafeRawPointer(row) + 64 * line) }
    }

    @inlinable @inline(__always)
    static func store(_ low: V, _ high: V, at target: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(target).storeBytes(of: low, as: V.self)
        UnsafeMutableRawPointer(target + V.scalarCount).storeBytes(of: high, as: V.self)
    }
}
