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

extension Matrix {
    /// Measures `sgemm` throughput on an `m × k` by `k × n` product (Bᵀ stored, as linear layers use it), the best of
    /// `repetitions` timed runs after one warm-up, in GFLOP/s.
    public static func measureThroughput(m: Int, n: Int, k: Int, repetitions: Int = 5) -> Double {
        let a = [Float](repeating: 0.5, count: m * k)
        let b = [Float](repeating: 0.25, count: n * k)
        var c = [Float](repeating: 0, count: m * n)
        var best = Double.infinity
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    for run in 0...repetitions {
                        let start = ContinuousClock.now
                        multiply(a.baseAddress!, b.baseAddress!, into: c.baseAddress!, m: m, n: n, k: k, transposeB: true)
                        let elapsed = ContinuousClock.now - start
                        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
                        if run > 0 { best = min(best, seconds) }
                    }
                }
            }
        }
        return 2 * Double(m) * Double(n) * Double(k) / best / 1e9
    }
}
