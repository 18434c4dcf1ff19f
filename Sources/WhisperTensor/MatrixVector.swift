import Dispatch
internal import CDNNL
import Foundation
import WhisperKernels
import WhisperKernelsAVX512

/// Products of a few activation rows with a weight matrix, `Y[r] = W · X[r]` for `W` `[outputs × inputs]`: the shape
/// of every decoder step, where each weight is used once per row and the cost is reading the weights.
///
/// Each weight row is loaded once and multiplied with all input rows (up to ``maximumRows``); large matrices are split
/// between ``Matrix/threadCount`` threads. Weights may be `Float`, `Float16` or `Int8` (widened in registers). The
/// kernels run in sixteen-lane AVX-512 vectors where the CPU has them (``usesAVX512``), in eight-lane AVX2 otherwise.
public enum MatrixVector {
    /// The most input rows one call handles; more rows are a matrix product for `sgemm`.
    public static let maximumRows = MatrixVectorKernels<SIMD8<Float>>.maximumRows
    /// Weight elements below which a product stays on the calling thread (a 384 × 384 layer is just above).
    static let parallelThreshold = 1 << 17
    /// Weight elements from which each thread takes several chunks.
    static let manyChunksThreshold = 1 << 20

    /// `output[r · outputs + j] = Σₖ weights[j · inputs + k] · input[r · inputs + k]` for `rows` ≤ ``maximumRows``.
    public static func multiply<Weight: WidenableScalar>(
        _ weights: UnsafePointer<Weight>, outputs: Int, inputs: Int,
        by input: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>
    ) {
        precondition(rows >= 1 && rows <= maximumRows, "MatrixVector takes 1 to \(maximumRows) rows")
        nonisolated(unsafe) let (w, x, y) = (weights, input, output)
        // Chunks are whole cache lines of output.
        forEachChunk(of: outputs, alignedTo: 16, weights: outputs * inputs) { range in
            kernel(w, outputs: range, inputs: inputs, input: x, rows: rows, output: y, outputStride: outputs)
        }
    }

    /// Calls `body` with chunks of `0..<units` (each a multiple of `alignment` units but the last) that together cover
    /// it: on the calling thread alone for a product of fewer than ``parallelThreshold`` `weights`, otherwise on the
    /// worker team, several chunks per thread taken as threads come free, so a thread the OS preempts (another
    /// process on the machine) delays only its current chunk.
    static func forEachChunk(
        of units: Int, alignedTo alignment: Int = 1, weights: Int, _ body: @Sendable (Range<Int>) -> Void
    ) {
        let parts = weights >= parallelThreshold ? max(1, min(Matrix.threadCount, 8)) : 1
        guard parts > 1 else { return body(0..<units) }
        let chunks = parts * (weights >= manyChunksThreshold ? 8 : 4)
        let chunk = ((units + chunks - 1) / chunks + alignment - 1) / alignment * alignment
        WorkerTeam.shared.forEach(chunks) { part in
            let range = min(units, part * chunk)..<min(units, (part + 1) * chunk)
            if !range.isEmpty { body(range) }
        }
    }

    /// Widens `count` little-endian half-precision values stored at any byte address (e.g. inside a weights file)
    /// into `output`.
    public static func widen(halfPrecisionBytes source: UnsafeRawPointer, count: Int, into output: UnsafeMutablePointer<Float>) {
        var j = 0
        while j + laneCount <= count {
            let h = (source + 2 * j).loadUnaligned(as: SIMD8<Float16>.self)
            output.store(
                Lanes(Float(h[0]), Float(h[1]), Float(h[2]), Float(h[3]), Float(h[4]), Float(h[5]), Float(h[6]), Float(h[7])),
                at: j)
            j += laneCount
        }
        while j < count {
            output[j] = Float(Float16(bitPattern: UInt16(littleEndian: (source + 2 * j).loadUnaligned(as: UInt16.self))))
            j += 1
        }
    }

    /// Rounds `count` values to the nearest half-precision values (eight per `vcvtps2ph`).
    public static func narrow(_ values: UnsafePointer<Float>, count: Int, into output: UnsafeMutablePointer<Float16>) {
        var j = 0
        while j + laneCount <= count {
            let v = values.lanes(at: j)
            UnsafeMutableRawPointer(output + j).storeBytes(
                of: SIMD8<Float16>(
                    Float16(v[0]), Float16(v[1]), Float16(v[2]), Float16(v[3]), Float16(v[4]), Float16(v[5]),
                    Float16(v[6]), Float16(v[7])),
                as: SIMD8<Float16>.self)
            j += laneCount
        }
        while j < count {
            output[j] = Float16(values[j])
            j += 1
        }
    }

    /// Widens `count` half-precision values into `output`.
    public static func widen(_ values: UnsafePointer<Float16>, count: Int, into output: UnsafeMutablePointer<Float>) {
        widen(halfPrecisionBytes: UnsafeRawPointer(values), count: count, into: output)
    }

    /// Whether the products run in AVX-512 vectors: where oneDNN finds AVX-512 (Skylake-SP and later), unless
    /// `WHISPER_AVX512=0` (to compare with the AVX2 kernels).
    public static let usesAVX512: Bool = {
        #if arch(x86_64)
        let avx512Core = dnnl_cpu_isa_avx512_core.rawValue
        return dnnl_get_effective_cpu_isa().rawValue & avx512Core == avx512Core
            && ProcessInfo.processInfo.environment["WHISPER_AVX512"] != "0"
        #else
        return false
        #endif
    }()

    @inline(__always)
    static func kernel<Weight: WidenableScalar>(
        _ weights: UnsafePointer<Weight>, outputs range: Range<Int>, inputs: Int,
        input: UnsafePointer<Float>, rows: Int, output: UnsafeMutablePointer<Float>, outputStride: Int
    ) {
        if usesAVX512 {
            AVX512MatrixVector.multiply(
                weights, outputs: range, inputs: inputs, input: input, rows: rows, output: output, outputStride: outputStride)
        } else {
            MatrixVectorKernels<SIMD8<Float>>.multiply(
                weights, outputs: range, inputs: inputs, input: input, rows: rows, output: output, outputStride: outputStride)
        }
    }
}
