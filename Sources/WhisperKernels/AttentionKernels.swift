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

    /// Up to four rows, four or two vectors of columns at a time over all value rows. Each column's sum is added in the
    /// same order whatever the rows and columns beside it, so a row's result is bit-identical alone or with others.
    @inlinable
    static func groupSums<Value: WidenableScalar, Count: RowCount>(
        _ w: UnsafePointer<Float>, weightStride: Int, values: UnsafePointer<Value>, count: Int, width: Int,
        into output: UnsafeMutablePointer<Float>, outputStride: Int, rows _: Count.Type
    ) {
        let rows = Count.value
        let lanes = V.scalarCount
        func columns<Vectors: RowCount>(from column: Int, _: Vectors.Type) {
            columnSums(
                w, weightStride: weightStride, values: values, count: count, width: width, column: column,
                into: output, outputStride: outputStride, rows: Count.self, vectors: Vectors.self)
        }
        var column = 0
        // Four vectors at a time while the accumulators fit the registers (up to four rows in 16-lane vectors, two in
        // 8-lane): a single row then has four independent chains of additions instead of two, each of which waited on
        // its previous addition, and reads each value row once instead of once per pair of vectors.
        if rows <= 2 || lanes >= 16 {
            while column + 4 * lanes <= width {
                columns(from: column, FourRows.self)
                column += 4 * lanes
            }
        }
        while column + 2 * lanes <= width {
            columns(from: column, TwoRows.self)
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

    /// The sums of `Vectors` (two or four) vectors of columns from `column` for `Count` rows, over all value rows.
    @inlinable @inline(__always)
    static func columnSums<Value: WidenableScalar, Count: RowCount, Vectors: RowCount>(
        _ w: UnsafePointer<Float>, weightStride: Int, values: UnsafePointer<Value>, count: Int, width: Int, column: Int,
        into output: UnsafeMutablePointer<Float>, outputStride: Int, rows _: Count.Type, vectors _: Vectors.Type
    ) {
        let (rows, wide) = (Count.value, Vectors.value > 2)
        let lanes = V.scalarCount
        let lines = (width * MemoryLayout<Value>.stride + 63) / 64
        var a0 = V(), a1 = V(), a2 = V(), a3 = V(), b0 = V(), b1 = V(), b2 = V(), b3 = V()
        var c0 = V(), c1 = V(), c2 = V(), c3 = V(), d0 = V(), d1 = V(), d2 = V(), d3 = V()
        var t = 0
        while t < count {
            let v = values + t * width + column
            if column == 0 { prefetch(values + (t + prefetchRows) * width, lines: lines) }
            let (x0, x1): (V, V) = (Value.vector(v, at: 0), Value.vector(v, at: lanes))
            let (x2, x3): (V, V) = wide ? (Value.vector(v, at: 2 * lanes), Value.vector(v, at: 3 * lanes)) : (V(), V())
            var p = V(repeating: w[t])
            a0 = a0.addingProduct(p, x0)
            a1 = a1.addingProduct(p, x1)
            if wide { a2 = a2.addingProduct(p, x2); a3 = a3.addingProduct(p, x3) }
            if rows > 1 {
                p = V(repeating: w[weightStride + t])
                b0 = b0.addingProduct(p, x0)
                b1 = b1.addingProduct(p, x1)
                if wide { b2 = b2.addingProduct(p, x2); b3 = b3.addingProduct(p, x3) }
            }
            if rows > 2 {
                p = V(repeating: w[2 * weightStride + t])
                c0 = c0.addingProduct(p, x0)
                c1 = c1.addingProduct(p, x1)
                if wide { c2 = c2.addingProduct(p, x2); c3 = c3.addingProduct(p, x3) }
            }
            if rows > 3 {
                p = V(repeating: w[3 * weightStride + t])
                d0 = d0.addingProduct(p, x0)
                d1 = d1.addingProduct(p, x1)
                if wide { d2 = d2.addingProduct(p, x2); d3 = d3.addingProduct(p, x3) }
            }
            t += 1
        }
        func store(row: Int, _ s0: V, _ s1: V, _ s2: V, _ s3: V) {
            let target = output + row * outputStride + column
            Self.store(s0, s1, at: target)
            if wide { Self.store(s2, s3, at: target + 2 * lanes) }
        }
        store(row: 0, a0, a1, a2, a3)
        if rows > 1 { store(row: 1, b0, b1, b2, b3) }
        if rows > 2 { store(row: 2, c0, c1, c2, c3) }
        if rows > 3 { store(row: 3, d0, d1, d2, d3) }
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
