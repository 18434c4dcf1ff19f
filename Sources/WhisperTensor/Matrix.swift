internal import CBLAS
internal import CDNNL
import Foundation
import Synchronization

/// Dense matrix products for row-major `Float` buffers, on oneDNN or OpenBLAS (see ``GEMMBackend``).
///
/// Weights follow PyTorch's layout `[out, in]`, so a linear layer is `Y = X · Wᵀ + b`.
public enum Matrix {
    /// The library that runs `sgemm` in this process: ``GEMMBackend/preferred``, or the one named by the
    /// `WHISPER_GEMM` environment variable (`onednn` or `openblas`).
    public static let backend: GEMMBackend =
        ProcessInfo.processInfo.environment["WHISPER_GEMM"].flatMap(GEMMBackend.init(rawValue:)) ?? .preferred


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

    /// Whether concurrent products may each choose their own thread count (``GEMMBackend/oneDNN``: a team per calling
    /// thread); OpenBLAS has one process-wide count.
    public static var allowsConcurrentProducts: Bool { backend == .oneDNN }

    /// Runs `body` with its products on at most `limit` threads (on the calling thread's work only), so that two
    /// computations can share the cores. Results do not depend on the thread count.
    public static func withThreadLimit<Result>(_ limit: Int, _ body: () throws -> Result) rethrows -> Result {
        try $threadLimit.withValue(max(1, limit), operation: body)
    }

    /// The most rows in a block of a product split by rows (``forEachRowBlock(_:_:)``): the encoder's 1,500 rows make
    /// 16 blocks, as fast in all as one product split by the library, and fine enough that a thread whose core another
    /// process shares takes fewer of them.
    static let rowBlock = 96

    /// Calls `body` for consecutive blocks of equal height (at most ``rowBlock`` rows, and at least two blocks, so that
    /// a prompt's few dozen rows use two cores) covering `0..<rows`, on the worker team (a thread takes the next block
    /// as it comes free) or, under a thread limit of one, on the calling thread. The blocks depend on `rows` alone and
    /// each is computed on one thread by a product of its own, so the result does not depend on the thread count or on
    /// which thread takes which block.
    static func forEachRowBlock(_ rows: Int, _ body: @Sendable (Range<Int>) -> Void) {
        let blocks = min(rows, max(2, (rows + rowBlock - 1) / rowBlock))
        let height = (rows + blocks - 1) / blocks
        parallelForEach(blocks) { index in body(index * height..<min(rows, (index + 1) * height)) }
    }

    /// Calls `body` for each of `0..<iterations` on the worker team (a thread takes the next iteration as it comes
    /// free) or, under a thread limit of one or while another caller has the team, on the calling thread.
    static func parallelForEach(_ iterations: Int, _ body: @Sendable (Int) -> Void) {
        if threadCount == 1 {
            for index in 0..<iterations { body(index) }
        } else {
            WorkerTeam.shared.forEach(iterations, whenBusy: .callingThread, body)
        }
    }

    static func gemm(
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
        m: Int, n: Int, k: Int, transposeB: Bool, lda: Int, ldb: Int, ldc: Int, alpha: Float, beta: Float,
        backend: GEMMBackend = backend, threads: Int? = nil
    ) {
        if m == 1 && transposeB {
            // One row times Wᵀ is a matrix-vector product over W's rows: GEMV is several times faster.
            cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(k), alpha, b, Int32(ldb), a, 1, beta, c, 1)
            return
        }
        switch backend {
        case .oneDNN:
            omp_set_num_threads(Int32(threads ?? threadCount))
            _ = dnnl_sgemm(
                CChar(UInt8(ascii: "N")), CChar(UInt8(ascii: transposeB ? "T" : "N")), Int64(m), Int64(n), Int64(k), alpha,
                a, Int64(lda), b, Int64(ldb), beta, c, Int64(ldc))
        case .openBLAS:
            cblas_sgemm(
                CblasRowMajor, CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
        }
    }

    private static let threads = Atomic<Int>(Int(openblas_get_num_threads()))

    /// A lower thread count for the work of the current thread (``withThreadLimit(_:_:)``).
    @TaskLocal private static var threadLimit: Int?

    /// The process-wide thread count (``threadCount`` outside any ``withThreadLimit(_:_:)``), whatever limit the
    /// calling thread's work runs under.
    public static var processThreadCount: Int { threads.load(ordering: .relaxed) }

    /// The number of threads one product may use (the GEMM library's and the decoder's split products); initially
    /// OpenBLAS's (`OPENBLAS_NUM_THREADS`, else the core count), lower inside ``withThreadLimit(_:_:)``.
    public static var threadCount: Int {
        get {
            let count = threads.load(ordering: .relaxed)
            return threadLimit.map { min($0, count) } ?? count
        }
        set {
            threads.store(max(1, newValue), ordering: .relaxed)
            openblas_set_num_threads(Int32(max(1, newValue)))
        }
    }
}

/// The library behind ``Matrix``'s `sgemm`.
public enum GEMMBackend: String, Sendable, CaseIterable {
    /// Intel's oneDNN: JIT-compiled kernels for the CPU at hand, faster than OpenBLAS 0.3.21's Haswell kernels on the
    /// encoder's products with AVX-512 and with AVX2 alike (docs/performance.md), and with a thread count per calling
    /// thread that lets two products share the cores.
    case oneDNN = "onednn"
    /// OpenBLAS with the kernels its `OPENBLAS_CORETYPE` selects (Haswell: AVX2 and FMA).
    case openBLAS = "openblas"

    /// oneDNN where it dispatches to AVX2 or better (every CPU the engine's kernels run on), OpenBLAS otherwise.
    public static var preferred: GEMMBackend {
        let avx2 = dnnl_cpu_isa_avx2.rawValue
        return dnnl_get_effective_cpu_isa().rawValue & avx2 == avx2 ? .oneDNN : .openBLAS
    }
}

extension Matrix {
    /// Measures `sgemm` throughput on an `m × k` by `k × n` product (Bᵀ stored, as linear layers use it), the best of
    /// `repetitions` timed runs after one warm-up, in GFLOP/s.
    public static func measureThroughput(m: Int, n: Int, k: Int, repetitions: Int = 20) -> Double {
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
