import WhisperKernels

/// The matrix-vector kernels compiled for AVX-512 (this module's target CPU): sixteen lanes and 32 registers, so
/// every row count up to eight keeps two weight rows in flight. Only for CPUs with AVX-512 (F, BW, VL, DQ); the
/// caller checks.
public enum AVX512MatrixVector {
    /// ``MatrixVectorKernels/multiply(_:outputs:inputs:input:rows:output:outputStride:)`` in sixteen-lane vectors.
    @_specialize(exported: true, where Weight == Float)
    @_specialize(exported: true, where Weight == Float16)
    @_specialize(exported: true, where Weight == Int8)
    public static func multiply<Weight: WidenableScalar>(
        _ weights: UnsafePointer<Weight>, outputs range: Range<Int>, inputs: Int,
        input: UnsafePointer<Float>, rows: Int, output: UnsafeMutablePointer<Float>, outputStride: Int
    ) {
        MatrixVectorKernels<SIMD16<Float>>.multiply(
            weights, outputs: range, inputs: inputs, input: input, rows: rows, output: output, outputStride: outputStride)
    }
}
