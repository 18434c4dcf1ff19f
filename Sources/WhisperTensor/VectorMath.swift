/// Eight-lane SIMD building blocks for the kernels: unaligned loads and stores, `exp`, `erf`.
///
/// Written with concrete `SIMD8<Float>` operations only (no generic stdlib helpers), so they compile to straight AVX2
/// code without calls.
typealias Lanes = SIMD8<Float>

/// Lanes per vector.
let laneCount = 8

extension UnsafePointer<Float> {
    @inline(__always) func lanes(at offset: Int) -> Lanes {
        UnsafeRawPointer(self + offset).loadUnaligned(as: Lanes.self)
    }
}

extension UnsafeMutablePointer<Float> {
    @inline(__always) func lanes(at offset: Int) -> Lanes {
        UnsafeRawPointer(self + offset).loadUnaligned(as: Lanes.self)
    }

    @inline(__always) func store(_ value: Lanes, at offset: Int) {
        UnsafeMutableRawPointer(self + offset).storeBytes(of: value, as: Lanes.self)
    }
}

enum VectorMath {
    /// `eˣ` per lane: Cody–Waite range reduction and Cephes' degree-6 polynomial (relative error < 2e-7);
    /// inputs below −87.3 (including −∞) give 0, above 88.7 saturate. Transparent: always inlined, since a call passes
    /// the vector in two halves and clears the upper registers, several times the cost of the arithmetic.
    @_transparent
    static func exp(_ value: Lanes) -> Lanes {
        var x = value.replacing(with: -87.33, where: value .< -87.33)
        x = x.replacing(with: 88.72, where: x .> 88.72)
        // Adding 1.5·2²³ rounds to the nearest integer and leaves it in the low mantissa bits.
        let shifted = x * 1.442_695_040_888_963_4 + 12_582_912
        let n = shifted - 12_582_912
        let r = x - n * 0.693_359_375 + n * 2.121_944_4e-4
        var p = Lanes(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_950_7e-3
        p = p * r + 8.333_451_907_3e-3
        p = p * r + 4.166_579_589_4e-2
        p = p * r + 1.666_666_545_9e-1
        p = p * r + 5.000_000_120_1e-1
        p = p * (r * r) + r + 1
        let exponent = (unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000 &+ 127) &<< 23
        let result = p * unsafeBitCast(exponent, to: Lanes.self)
        return result.replacing(with: 0, where: value .< -87.33)
    }

    /// The error function per lane (Abramowitz & Stegun 7.1.26 with an exact-`exp` tail; absolute error < 2e-7).
    @_transparent
    static func erf(_ x: Lanes) -> Lanes {
        let signBits = unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x8000_0000
        let a = unsafeBitCast(unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: Lanes.self)
        let t = 1 / (a * 0.327_591_1 + 1)
        var p = Lanes(repeating: 1.061_405_429)
        p = p * t - 1.453_152_027
        p = p * t + 1.421_413_741
        p = p * t - 0.284_496_736
        p = p * t + 0.254_829_592
        let magnitude = 1 - p * t * exp(-(a * a))
        return unsafeBitCast(unsafeBitCast(magnitude, to: SIMD8<UInt32>.self) | signBits, to: Lanes.self)
    }

    /// The largest of `count` values. Four running maxima, so that consecutive comparisons do not wait for each
    /// other (a logits row is 51,864 values).
    static func maximum(_ x: UnsafePointer<Float>, count: Int) -> Float {
        func larger(_ a: Lanes, _ b: Lanes) -> Lanes { a.replacing(with: b, where: b .> a) }
        let lowest = Lanes(repeating: -.infinity)
        var (b0, b1, b2, b3) = (lowest, lowest, lowest, lowest)
        var j = 0
        while j + 4 * laneCount <= count {
            b0 = larger(b0, x.lanes(at: j))
            b1 = larger(b1, x.lanes(at: j + laneCount))
            b2 = larger(b2, x.lanes(at: j + 2 * laneCount))
            b3 = larger(b3, x.lanes(at: j + 3 * laneCount))
            j += 4 * laneCount
        }
        while j + laneCount <= count {
            b0 = larger(b0, x.lanes(at: j))
            j += laneCount
        }
        var result = larger(larger(b0, b1), larger(b2, b3)).max()
        while j < count {
            if x[j] > result { result = x[j] }
            j += 1
        }
        return result
    }

    /// `Σ e^(x − shift)` over `count` values; with `storing`, each value is replaced by its exponential.
    @inline(__always)
    static func sumOfExponentials(_ x: UnsafeMutablePointer<Float>, count: Int, shift: Float, storing: Bool) -> Float {
        var sum = Lanes()
        var j = 0
        while j + laneCount <= count {
            let e = exp(x.lanes(at: j) - shift)
            if storing { x.store(e, at: j) }
            sum += e
            j += laneCount
        }
        var total = sum.sum()
        while j < count {
            let e = exp(Lanes(repeating: x[j] - shift))[0]
            if storing { x[j] = e }
            total += e
            j += 1
        }
        return total
    }

    /// `x[j] = x[j] · factors[j]` for `count` values.
    static func multiply(_ x: UnsafeMutablePointer<Float>, by factors: UnsafePointer<Float>, count: Int) {
        var j = 0
        while j + laneCount <= count {
            x.store(x.lanes(at: j) * factors.lanes(at: j), at: j)
            j += laneCount
        }
        while j < count {
            x[j] *= factors[j]
            j += 1
        }
    }

    /// `x[j] = x[j] · scale + offset` for `count` values.
    static func scale(_ x: UnsafeMutablePointer<Float>, count: Int, by scale: Float, adding offset: Float = 0) {
        var j = 0
        while j + laneCount <= count {
            x.store(x.lanes(at: j) * scale + offset, at: j)
            j += laneCount
        }
        while j < count {
            x[j] = x[j] * scale + offset
            j += 1
        }
    }
}
