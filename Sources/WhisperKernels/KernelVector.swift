/// A vector of `Float` lanes the matrix-vector kernels compute with: `SIMD8<Float>` (AVX2) or `SIMD16<Float>`
/// (AVX-512), with loads that widen half-precision and 8-bit weights.
///
/// The kernels are generic over it and `@inlinable`, so each module that instantiates them compiles them for its own
/// target CPU: `WhisperTensor` for AVX2, `WhisperKernelsAVX512` for AVX-512.
public protocol KernelVector: SIMD where Scalar == Float {
    /// `scalarCount` values from `pointer + offset`.
    static func load(_ pointer: UnsafePointer<Float>, at offset: Int) -> Self
    /// `scalarCount` half-precision values from `pointer + offset`, widened (`vcvtph2ps`).
    static func load(_ pointer: UnsafePointer<Float16>, at offset: Int) -> Self
    /// `scalarCount` 8-bit integers from `pointer + offset`, converted (`vpmovsxbd`, `vcvtdq2ps`).
    static func load(_ pointer: UnsafePointer<Int8>, at offset: Int) -> Self
    /// The sum of the lanes as a tree of halves (three or four vector additions), not the standard library's
    /// lane-by-lane chain (seven or fifteen dependent scalar additions, as long as the dot product it ends).
    func laneSum() -> Float

    // Bit manipulations, written per width with the concrete standard-library operations (one instruction each): the
    // generic SIMD integer operations compile to loops over the lanes.

    /// `2ⁿ` in each lane, for `shifted = n + 1.5·2²³` (an integer `n` held in the low mantissa bits).
    static func powerOfTwo(shifted: Self) -> Self
    /// The absolute value of each lane.
    var magnitude: Self { get }
    /// `self` (non-negative) with the sign of `other` in each lane.
    func withSign(of other: Self) -> Self
}

// Conversions lane by lane rather than the standard library's generic SIMD conversions, which the optimiser leaves as
// calls in large loops; written out, each load is one or two instructions.

extension SIMD8<Float>: KernelVector {
    @inlinable @inline(__always)
    public static func powerOfTwo(shifted: Self) -> Self {
        unsafeBitCast((unsafeBitCast(shifted, to: SIMD8<UInt32>.self) &- 0x4B40_0000 &+ 127) &<< 23, to: Self.self)
    }

    @inlinable @inline(__always)
    public var magnitude: Self { unsafeBitCast(unsafeBitCast(self, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: Self.self) }

    @inlinable @inline(__always)
    public func withSign(of other: Self) -> Self {
        let sign = unsafeBitCast(other, to: SIMD8<UInt32>.self) & 0x8000_0000
        return unsafeBitCast(unsafeBitCast(self, to: SIMD8<UInt32>.self) | sign, to: Self.self)
    }

    @inlinable @inline(__always)
    public func laneSum() -> Float {
        let quarter = lowHalf + highHalf
        let pair = quarter.lowHalf + quarter.highHalf
        return pair[0] + pair[1]
    }

    @inlinable @inline(__always)
    public static func load(_ pointer: UnsafePointer<Float>, at offset: Int) -> Self {
        UnsafeRawPointer(pointer + offset).loadUnaligned(as: Self.self)
    }

    @inlinable @inline(__always)
    public static func load(_ pointer: UnsafePointer<Float16>, at offset: Int) -> Self {
        let h = UnsafeRawPointer(pointer + offset).loadUnaligned(as: SIMD8<Float16>.self)
        return Self(Float(h[0]), Float(h[1]), Float(h[2]), Float(h[3]), Float(h[4]), Float(h[5]), Float(h[6]), Float(h[7]))
    }

    @inlinable @inline(__always)
    public static func load(_ pointer: UnsafePointer<Int8>, at offset: Int) -> Self {
        let v = UnsafeRawPointer(pointer + offset).loadUnaligned(as: SIMD8<Int8>.self)
        return Self(Float(v[0]), Float(v[1]), Float(v[2]), Float(v[3]), Float(v[4]), Float(v[5]), Float(v[6]), Float(v[7]))
    }
}

extension SIMD16<Float>: KernelVector {
    // The bit manipulations in eight-lane halves, which the optimiser joins into sixteen-lane instructions.

    @inlinable @inline(__always)
    public static func powerOfTwo(shifted: Self) -> Self {
        Self(lowHalf: .powerOfTwo(shifted: shifted.lowHalf), highHalf: .powerOfTwo(shifted: shifted.highHalf))
    }

    @inlinable @inline(__always)
    public var magnitude: Self { Self(lowHalf: lowHalf.magnitude, highHalf: highHalf.magnitude) }

    @inlinable @inline(__always)
    public func withSign(of other: Self) -> Self {
        Self(lowHalf: lowHalf.withSign(of: other.lowHalf), highHalf: highHalf.withSign(of: other.highHalf))
    }

    @inlinable @inline(__always)
    public func laneSum() -> Float { (lowHalf + highHalf).laneSum() }

    @inlinable @inline(__always)
    public static func load(_ pointer: UnsafePointer<Float>, at offset: Int) -> Self {
        UnsafeRawPointer(pointer + offset).loadUnaligned(as: Self.self)
    }

    // Two eight-lane halves: the optimiser joins them into one sixteen-lane conversion.
    @inlinable @inline(__always)
    public static func load(_ pointer: UnsafePointer<Float16>, at offset: Int) -> Self {
        Self(lowHalf: .load(pointer, at: offset), highHalf: .load(pointer, at: offset + 8))
    }

    @inlinable @inline(__always)
    public static func load(_ pointer: UnsafePointer<Int8>, at offset: Int) -> Self {
        Self(lowHalf: .load(pointer, at: offset), highHalf: .load(pointer, at: offset + 8))
    }
}

extension KernelVector {
    // Lane by lane: the optimiser makes one `vmaxps` / `vminps` of these loops, while the standard library's
    // `replacing(with:where:)` compiles to a mask round trip through general registers with AVX-512.

    /// The larger of `self` and `other` in each lane (`self` where they are unordered).
    @inlinable @inline(__always)
    public func lanewiseMaximum(_ other: Self) -> Self {
        var result = self
        for i in 0..<Self.scalarCount { result[i] = other[i] > self[i] ? other[i] : self[i] }
        return result
    }

    /// The smaller of `self` and `other` in each lane (`self` where they are unordered).
    @inlinable @inline(__always)
    public func lanewiseMinimum(_ other: Self) -> Self {
        var result = self
        for i in 0..<Self.scalarCount { result[i] = other[i] < self[i] ? other[i] : self[i] }
        return result
    }
}

/// A weight element type the kernels read: `Float`, `Float16`, or `Int8` (quantised, scaled per row afterwards).
public protocol WidenableScalar: Sendable {
    /// `V.scalarCount` values from `pointer + offset` as `Float`.
    static func vector<V: KernelVector>(_ pointer: UnsafePointer<Self>, at offset: Int) -> V
    /// One value as `Float`.
    static func widen(_ value: Self) -> Float
}

extension WidenableScalar {
    /// Eight values from `pointer + offset` as `Float`.
    @inlinable @inline(__always)
    public static func lanes(_ pointer: UnsafePointer<Self>, at offset: Int) -> SIMD8<Float> {
        vector(pointer, at: offset)
    }
}

extension Float: WidenableScalar {
    @inlinable @inline(__always)
    public static func vector<V: KernelVector>(_ pointer: UnsafePointer<Float>, at offset: Int) -> V {
        V.load(pointer, at: offset)
    }

    @inlinable @inline(__always) public static func widen(_ value: Float) -> Float { value }
}

extension Float16: WidenableScalar {
    @inlinable @inline(__always)
    public static func vector<V: KernelVector>(_ pointer: UnsafePointer<Float16>, at offset: Int) -> V {
        V.load(pointer, at: offset)
    }

    @inlinable @inline(__always) public static func widen(_ value: Float16) -> Float { Float(value) }
}

extension Int8: WidenableScalar {
    @inlinable @inline(__always)
    public static func vector<V: KernelVector>(_ pointer: UnsafePointer<Int8>, at offset: Int) -> V {
        V.load(pointer, at: offset)
    }

    @inlinable @inline(__always) public static func widen(_ value: Int8) -> Float { Float(value) }
}
