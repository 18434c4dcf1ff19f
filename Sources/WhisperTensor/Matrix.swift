internal import CBLAS

/// Dense matrix products on OpenBLAS, for row-major `Float` buffers.
///
/// Weights follow PyTorch's layout `[out, in]`, so a linear layer is `Y = X · Wᵀ + b`.
public enum Matrix {
    /// `C[m×n] = alpha · A[m×k] · op(B) + beta · C`, where `op(B)` is `B[k×n]` or, with `transposeB`, `Bᵀ` for `B[n×k]`.
    /// - Parameters:
    ///   - lda, ldb, ldc: row strides (elements) of the three matrices.
    public static func multiply(
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into c: UnsafeMutablePointer<Float>,
        m: Int, n: Int, k: Int, transposeB: Bool,
        lda: Int? = nil, ldb: Int? = nil, ldc: Int? = nil,
        alpha: Float = 1, beta: Float = 0
    ) {
        gemm(
            a, b, c, m: m, n: n, k: k, transposeB: transposeB,
            lda: lda ?? k, ldb: ldb ?? (transposeB ? k : n), ldc: ldc ?? n, alpha: alpha, beta: beta)
    }

    static func gemm(
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
        m: Int, n: Int, k: Int, transposeB: Bool, lda: Int, ldb: Int, ldc: Int, alpha: Float, beta: Float
    ) {
        if m == 1 && transposeB {
            // One row times Wᵀ is a matrix-vector product over W's rows: GEMV is several times faster.
            cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(k), alpha, b, Int32(ldb), a, 1, beta, c, 1)
            return
        }
        cblas_sgemm(
            CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// The number of threads OpenBLAS uses.
    public static var threadCount: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(newValue)) }
    }
}
