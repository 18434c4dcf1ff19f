/// Element-wise and row-wise functions in vectors of `V`: `exp`, `erf`, GELU, row maximum, sums of exponentials,
/// scaling, softmax. Polynomials in fused multiply-adds.
///
/// A row's tail (fewer values than a vector) is computed in one padded vector, so a 1,500-key attention row costs
/// ⌈1500 / lanes⌉ exponentials, not one per tail value.
public enum ElementwiseKernels<V: KernelVector> {
    /// `eˣ` per lane: Cody–Waite range reduction and Cephes' degree-6 polynomial (relative error < 2e-7 down to
    /// e⁻⁸⁷); inputs below −87.7 (including −∞) give 0, above 88.7 saturate.
    @_transparent
    public static func exp(_ value: V) -> V {
        // From −88 up the power of two is 2⁻¹²⁷, all bits 0: the result is 0 without a select.
        let x = value.lanewiseMaximum(V(repeating: -88)).lanewiseMinimum(V(repeating: 88.72))
        // Adding 1.5·2²³ rounds to the nearest integer and leaves it in the low mantissa bits.
        let shifted = V(repeating: 12_582_912).addingProduct(x, 1.442_695_040_888_963_4)
        let n = shifted - 12_582_912
        let r = x.addingProduct(n, -0.693_359_375).addingProduct(n, 2.121_944_4e-4)
        var p = V(repeating: 1.398_199_950_7e-3).addingProduct(r, 1.987_569_15e-4)
        p = V(repeating: 8.333_451_907_3e-3).addingProduct(p, r)
        p = V(repeating: 4.166_579_589_4e-2).addingProduct(p, r)
        p = V(repeating: 1.666_666_545_9e-1).addingProduct(p, r)
        p = V(repeating: 5.000_000_120_1e-1).addingProduct(p, r)
        p = (r + 1).addingProduct(p, r * r)
        return p * V.powerOfTwo(shifted: shifted)
    }

    /// The error function per lane (Abramowitz & Stegun 7.1.26 with an exact-`exp` tail; absolute error < 2e-7).
    @_transparent
    public static func erf(_ x: V) -> V {
        let a = x.magnitude
        let t = 1 / V(repeating: 1).addingProduct(a, 0.327_591_1)
        var p = V(repeating: -1.453_152_027).addingProduct(t, 1.061_405_429)
        p = V(repeating: 1.421_413_741).addingProduct(p, t)
        p = V(repeating: -0.284_496_736).addingProduct(p, t)
        p = V(repeating: 0.254_829_592).addingProduct(p, t)
        return (1 - p * t * exp(-(a * a))).withSign(of: x)
    }

    /// GELU, `x · Φ(x) = 0.5 · x · (1 + erf(x / √2))`, of `count` values in place.
    @inlinable
    public static func gelu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        @inline(__always) func gelu(_ v: V) -> V { 0.5 * v * (1 + erf(v * 0.707_106_781_186_547_52)) }
        var j = 0
        while j + V.scalarCount <= count {
            gelu(V.load(x, at: j)).store(into: x, at: j)
            j += V.scalarCount
        }
        if j < count { gelu(.partial(x + j, count: count - j, padding: 0)).storePartial(into: x + j, count: count - j) }
    }

    /// The largest of `count` values (−∞ for none). Four running maxima, so that consecutive comparisons do not wait
    /// for each other (a logits row is 51,864 values).
    @inlinable
    public static func maximum(_ x: UnsafePointer<Float>, count: Int) -> Float {
        let lowest = V(repeating: -.infinity)
        var (b0, b1, b2, b3) = (lowest, lowest, lowest, lowest)
        let lanes = V.scalarCount
        var j = 0
        while j + 4 * lanes <= count {
            b0 = b0.lanewiseMaximum(V.load(x, at: j))
            b1 = b1.lanewiseMaximum(V.load(x, at: j + lanes))
            b2 = b2.lanewiseMaximum(V.load(x, at: j + 2 * lanes))
            b3 = b3.lanewiseMaximum(V.load(x, at: j + 3 * lanes))
            j += 4 * lanes
        }
        while j + lanes <= count {
            b0 = b0.lanewiseMaximum(V.load(x, at: j))
            j += lanes
        }
        if j < count { b1 = b1.lanewiseMaximum(.partial(x + j, count: count - j, padding: -.infinity)) }
        return b0.lanewiseMaximum(b1).lanewiseMaximum(b2.lanewiseMaximum(b3)).max()
    }

    /// `Σ e^(x − shift)` over `count` values; with `storing`, each value is replaced by its exponential.
    @inlinable @inline(__always)
    public static func sumOfExponentials(_ x: UnsafeMutablePointer<Float>, count: Int, shift: Float, storing: Bool) -> Float {
        var (s0, s1) = (V(), V())
        let lanes = V.scalarCount
        var j = 0
        while j + 2 * lanes <= count {
            let e0 = exp(V.load(x, at: j) - shift)
            let e1 = exp(V.load(x, at: j + lanes) - shift)
            if storing {
                e0.store(into: x, at: j)
                e1.store(into: x, at: j + lanes)
            }
            s0 += e0
            s1 += e1
            j += 2 * lanes
        }
        while j + lanes <= count {
            let e = exp(V.load(x, at: j) - shift)
            if storing { e.store(into: x, at: j) }
            s0 += e
            j += lanes
        }
        if j < count {
            // Padding with −∞ gives exponentials of 0 in the unused lanes.
            let e = exp(V.partial(x + j, count: count - j, padding: -.infinity) - shift)
            if storing { e.storePartial(into: x + j, count: count - j) }
            s1 += e
        }
        return (s0 + s1).laneSum()
    }

    /// `x[j] = x[j] · scale + offset` for `count` values.
    @inlinable
    public static func scale(_ x: UnsafeMutablePointer<Float>, count: Int, by scale: Float, adding offset: Float) {
        var j = 0
        while j + V.scalarCount <= count {
            (V.load(x, at: j) * scale + offset).store(into: x, at: j)
            j += V.scalarCount
        }
        while j < count {
            x[j] = x[j] * scale + offset
            j += 1
        }
    }

    /// Softmax of each of `rows` rows of `width` values (row stride `stride`), in place, subtracting the row maximum
    /// first. With `sums`, the rows are left as `e^(x − max)` and each row's sum is written to `sums[row]` instead, for
    /// callers that divide a smaller result by it (attention divides its 64-value output rows, not 1,500 weights).
    @inlinable
    public static func softmax(
        _ values: UnsafeMutablePointer<Float>, rows: Int, width: Int, stride: Int, sums: UnsafeMutablePointer<Float>?
    ) {
        for row in 0..<rows {
            let x = values + row * stride
            let sum = sumOfExponentials(x, count: width, shift: maximum(x, count: width), storing: true)
            if let sums {
                sums[row] = sum
            } else {
                scale(x, count: width, by: 1 / sum, adding: 0)
            }
        }
    }
}

extension KernelVector {
    /// Stores the lanes at `pointer + offset`.
    @inlinable @inline(__always)
    public func store(into pointer: UnsafeMutablePointer<Float>, at offset: Int) {
        UnsafeMutableRawPointer(pointer + offset).storeBytes(of: self, as: Self.self)
    }

    /// The first `count` (< `scalarCount`) values from `pointer`, the other lanes `padding`.
    @inlinable @inline(__always)
    public static func partial(_ pointer: UnsafePointer<Float>, count: Int, padding: Float) -> Self {
        var v = Self(repeating: padding)
        for i in 0..<count { v[i] = pointer[i] }
        return v
    }

    /// Stores the first `count` lanes at `pointer`.
    @inlinable @inline(__always)
    public func storePartial(into pointer: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { pointer[i] = self[i] }
    }
}
