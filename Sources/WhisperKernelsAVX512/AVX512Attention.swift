import WhisperKernels

/// The decoder attention's weighted sums compiled for AVX-512 (sixteen lanes). Only for CPUs with AVX-512 (F, BW, VL,
/// DQ); the caller checks.
public enum AVX512Attention {
    /// ``AttentionKernels/weightedSums(_:weightStride:rows:values:count:width:into:outputStride:)`` in sixteen-lane
    /// vectors.
    @_specialize(exported: true, where Value == Float)
    @_specialize(exported: true, where Value == Float16)
    public static func weightedSums<Value: WidenableScalar>(
        _ weights: UnsafePointer<Float>, weightStride: Int, rows: Int,
        values: UnsafePointer<Value>, count: Int, width: Int,
        into output: UnsafeMutablePointer<Float>, outputStride: Int
    ) {
        AttentionKernels<SIMD16<Float>>.weightedSums(
            weights, weightStride: weightStride, rows: rows, values: values, count: count, width: width, into: output,
            outputStride: outputStride)
    }
}
