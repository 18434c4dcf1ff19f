import WhisperKernels
import WhisperKernelsAVX512

/// Eight-lane loads and stores for the AVX2 code of this module.
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

/// The row functions of ``Activations``, in sixteen-lane AVX-512 vectors where the CPU has them
/// (``MatrixVector/usesAVX512``), in eight-lane AVX2 otherwise (``ElementwiseKernels``).
enum VectorMath {
    typealias AVX2 = ElementwiseKernels<SIMD8<Float>>

    /// GELU of `count` values in place.
    static func gelu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        if MatrixVector.usesAVX512 { AVX512Elementwise.gelu(x, count: count) } else { AVX2.gelu(x, count: count) }
    }

    /// The largest of `count` values (−∞ for none).
    static func maximum(_ x: UnsafePointer<Float>, count: Int) -> Float {
        MatrixVector.usesAVX512 ? AVX512Elementwise.maximum(x, count: count) : AVX2.maximum(x, count: count)
    }

    /// `Σ e^(x − shift)` over `count` values; with `storing`, each value is replaced by its exponential.
    static func sumOfExponentials(_ x: UnsafeMutablePointer<Float>, count: Int, shift: Float, storing: Bool) -> Float {
        MatrixVector.usesAVX512
            ? AVX512Elementwise.sumOfExponentials(x, count: count, shift: shift, storing: storing)
            : AVX2.sumOfExponentials(x, count: count, shift: shift, storing: storing)
    }

    /// `x[j] = x[j] · scale + offset` for `count` values.
    static func scale(_ x: UnsafeMutablePointer<Float>, count: Int, by scale: Float, adding offset: Float = 0) {
        if MatrixVector.usesAVX512 {
            AVX512Elementwise.scale(x, count: count, by: scale, adding: offset)
        } else {
            AVX2.scale(x, count: count, by: scale, adding: offset)
        }
    }

    /// Softmax of rows in place (``ElementwiseKernels/softmax(_:rows:width:stride:sums:)``).
    static func softmax(_ values: UnsafeMutablePointer<Float>, rows: Int, width: Int, stride: Int, sums: UnsafeMutablePointer<Float>?) {
        if MatrixVector.usesAVX512 {
            AVX512Elementwise.softmax(values, rows: rows, width: width, stride: stride, sums: sums)
        } else {
            AVX2.softmax(values, rows: rows, width: width, stride: stride, sums: sums)
        }
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
}
