import WhisperKernels

/// The element-wise and row-wise functions compiled for AVX-512 (sixteen lanes). Only for CPUs with AVX-512 (F, BW,
/// VL, DQ); the caller checks.
public enum AVX512Elementwise {
    typealias Kernels = ElementwiseKernels<SIMD16<Float>>

    /// ``ElementwiseKernels/gelu(_:count:)`` in sixteen-lane vectors.
    public static func gelu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        Kernels.gelu(x, count: count)
    }

    /// ``ElementwiseKernels/maximum(_:count:)`` in sixteen-lane vectors.
    public static func maximum(_ x: UnsafePointer<Float>, count: Int) -> Float {
        Kernels.maximum(x, count: count)
    }

    /// ``ElementwiseKernels/sumOfExponentials(_:count:shift:storing:)`` in sixteen-lane vectors.
    public static func sumOfExponentials(_ x: UnsafeMutablePointer<Float>, count: Int, shift: Float, storing: Bool) -> Float {
        Kernels.sumOfExponentials(x, count: count, shift: shift, storing: storing)
    }

    /// ``ElementwiseKernels/scale(_:count:by:adding:)`` in sixteen-lane vectors.
    public static func scale(_ x: UnsafeMutablePointer<Float>, count: Int, by scale: Float, adding offset: Float) {
        Kernels.scale(x, count: count, by: scale, adding: offset)
    }

    /// ``ElementwiseKernels/softmax(_:rows:width:stride:sums:)`` in sixteen-lane vectors.
    public static func softmax(
        _ values: UnsafeMutablePointer<Float>, rows: Int, width: Int, stride: Int, sums: UnsafeMutablePointer<Float>?
    ) {
        Kernels.softmax(values, rows: rows, width: width, stride: stride, sums: sums)
    }
}
