internal import CDNNL

/// The precision the large matrix products (the encoder's) are computed in.
public enum ProductPrecision: String, Sendable, CaseIterable {
    /// `Float` operands and accumulation (`sgemm`): results match the reference implementations.
    case float32
    /// Operands rounded to bfloat16 (8 bits of mantissa), accumulation in `Float`, on the CPU's bfloat16 instructions
    /// (AVX512-BF16 dot products, or AMX tiles) through oneDNN: more throughput than `float32`
    /// (docs/performance.md), at the cost of results that differ in the third digit.
    case bfloat16

    /// Whether this CPU has bfloat16 instructions (AVX512-BF16: Cooper Lake, Sapphire Rapids and later Xeons, AMD Zen 4
    /// and later; AMX on the Xeons), where ``bfloat16`` pays.
    public static var bfloat16IsAccelerated: Bool {
        let bf16 = dnnl_cpu_isa_avx512_core_bf16.rawValue
        return dnnl_get_effective_cpu_isa().rawValue & bf16 == bf16
    }

    /// This precision where the CPU supports it, ``float32`` otherwise (bfloat16 without bfloat16 instructions).
    public var available: ProductPrecision {
        self == .bfloat16 && !Self.bfloat16IsAccelerated ? .float32 : self
    }
}

extension ProductPrecision: LosslessStringConvertible {
    /// Parses `float32` or `bfloat16`.
    public init?(_ description: String) { self.init(rawValue: description) }
    public var description: String { rawValue }
}

/// What a product does to its result after adding the bias.
enum ProductEpilogue: Sendable, Hashable {
    /// Writes `X · Wᵀ + b`.
    case none
    /// Writes `GELU(X · Wᵀ + b)` (exact, erf-based GELU).
    case gelu
    /// Adds `X · Wᵀ + b` to what the output holds (a residual connection).
    case accumulate
}

/// Rounding `Float` to bfloat16 (the upper 16 bits, rounded to nearest even).
enum BFloat16 {
    /// Converts `count` values after multiplying them by `scale` (exact for 1).
    static func convert(
        _ source: UnsafePointer<Float>, count: Int, scaledBy scale: Float = 1, into target: UnsafeMutablePointer<UInt16>
    ) {
        var j = 0
        while j + laneCount <= count {
            let bits = unsafeBitCast(source.lanes(at: j) * scale, to: SIMD8<UInt32>.self)
            let rounded = (bits &+ 0x7FFF &+ ((bits &>> 16) & 1)) &>> 16
            UnsafeMutableRawPointer(target + j).storeBytes(of: SIMD8<UInt16>(truncatingIfNeeded: rounded), as: SIMD8<UInt16>.self)
            j += laneCount
        }
        while j < count {
            let bits = (source[j] * scale).bitPattern
            target[j] = UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
            j += 1
        }
    }
}
