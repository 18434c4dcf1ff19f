internal import CDNNL
import Foundation
import WhisperKernelsVNNI

/// An 8-bit weight matrix (the values of ``Linear/quantizedToInt8()``, without their scales) interleaved for
/// ``VNNIMatrixVector``, multiplied with activation rows rounded to bytes on the fly: four times the multiply-adds per
/// instruction of the `Float` kernels, for a screen of several rows (eight batched decoder steps), which the `Float`
/// kernels make compute-bound.
///
/// Each activation row `x` is rounded twice (``RoundedRows``), to within max|x| / 127² / 2 per value; the integer sums
/// are exact, so a row's results do not depend on the rows it runs with.
struct VNNIWeights: Sendable {
    /// Whether this CPU has AVX512-VNNI (Cascade Lake, Ice Lake and later, Zen 4 and later) and the AVX-512 kernels
    /// are in use, unless `WHISPER_VNNI=0` (to compare with the `Float` kernels).
    static let isAvailable: Bool = {
        #if arch(x86_64)
        let vnni = dnnl_cpu_isa_avx512_core_vnni.rawValue
        return MatrixVector.usesAVX512 && dnnl_get_effective_cpu_isa().rawValue & vnni == vnni
            && ProcessInfo.processInfo.environment["WHISPER_VNNI"] != "0"
        #else
        return false
        #endif
    }()

    /// Blocks of 16 outputs, each `groups` groups of 64 bytes (see ``VNNIMatrixVector``); the unsigned value + 128.
    private let interleaved: [UInt8]
    let outputs: Int
    let inputs: Int
    /// Inputs in groups of four, the last padded with zeros.
    private let groups: Int

    /// Interleaves `outputs × inputs` signed 8-bit values (row-major, −127...127).
    init(values: UnsafePointer<Int8>, outputs: Int, inputs: Int) {
        let (blockOutputs, groupInputs) = (VNNIMatrixVector.blockOutputs, VNNIMatrixVector.groupInputs)
        let groups = (inputs + groupInputs - 1) / groupInputs
        let blocks = (outputs + blockOutputs - 1) / blockOutputs
        // Padding (outputs past the last, inputs past the last) holds 128, a zero weight.
        var interleaved = [UInt8](repeating: 128, count: blocks * groups * 64)
        interleaved.withUnsafeMutableBufferPointer { target in
            for j in 0..<outputs {
                let (block, lane) = (j / blockOutputs, j % blockOutputs)
                let row = values + j * inputs
                for k in 0..<inputs {
                    let (group, byte) = (k / groupInputs, k % groupInputs)
                    target[(block * groups + group) * 64 + lane * groupInputs + byte] = UInt8(Int(row[k]) + 128)
                }
            }
        }
        self.interleaved = interleaved
        self.outputs = outputs
        self.inputs = inputs
        self.groups = groups
    }

    /// Bytes of the interleaved copy.
    var bytes: Int { interleaved.count }

    /// `output[r · outputs + j] = Σₖ value[j, k] · x̃[r, k]` for `rows` (at most ``VNNIMatrixVector/maximumRows``) input
    /// rows `x` (stride `inputs`), with `x̃` each row rounded to bytes twice.
    /// - Returns: per row, the largest `|x − x̃|`, slightly widened for the rounding of its own computation.
    func multiply(_ x: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>) -> [Float] {
        let rounded = RoundedRows(x, rows: rows, inputs: inputs, groups: groups)
        let blocks = (outputs + VNNIMatrixVector.blockOutputs - 1) / VNNIMatrixVector.blockOutputs
        let (groups, outputs) = (groups, outputs)
        interleaved.withUnsafeBufferPointer { weights in
            rounded.values.withUnsafeBufferPointer { values in
                rounded.offsets.withUnsafeBufferPointer { offsets in
                    rounded.steps.withUnsafeBufferPointer { steps in
                        nonisolated(unsafe) let (w, p, o, s, y) = (
                            weights.baseAddress!, values.baseAddress!, offsets.baseAddress!, steps.baseAddress!, output
                        )
                        MatrixVector.forEachChunk(of: blocks, weights: outputs * inputs) { range in
                            VNNIMatrixVector.multiply(
                                w, blocks: range, groups: groups, outputs: outputs, activations: p, rows: rows, offsets: o,
                                steps: s, output: y, outputStride: outputs)
                        }
                    }
                }
            }
        }
        return rounded.errors
    }
}

/// Activation rows rounded to bytes for ``VNNIMatrixVector``, twice: `x ≈ step · p + fineStep · f`, `p` the row rounded
/// to `max|x| / 127` steps and `f` what that left, rounded to steps of its own largest value / 127. One rounding alone
/// loses too much where a few values are far larger than the others (each value is off by up to half a step of the
/// largest); the second leaves at most half a step of the first step / 127.
private struct RoundedRows {
    /// Per row, `p` then `f`, `groups · 4` signed bytes each (zeros past `inputs`).
    var values: [Int8]
    /// Per row, `128 · Σ p` then `128 · Σ f` (the unsigned weights' excess).
    var offsets: [Int32]
    /// Per row, `step` then `fineStep` (0 for a row of zeros).
    var steps: [Float]
    /// Per row, the largest `|x − step · p − fineStep · f|`, widened by a little more than its own rounding.
    var errors: [Float]

    init(_ x: UnsafePointer<Float>, rows: Int, inputs: Int, groups: Int) {
        let width = groups * VNNIMatrixVector.groupInputs
        values = [Int8](repeating: 0, count: 2 * rows * width)
        offsets = [Int32](repeating: 0, count: 2 * rows)
        steps = [Float](repeating: 0, count: 2 * rows)
        errors = [Float](repeating: 0, count: rows)
        // What the first rounding left, then what the second left.
        var (rest, error) = ([Float](repeating: 0, count: inputs), [Float](repeating: 0, count: inputs))
        for r in 0..<rows {
            let coarse = round(x + r * inputs, count: inputs, into: 2 * r, width: width, leaving: &rest)
            let fine = round(rest, count: inputs, into: 2 * r + 1, width: width, leaving: &error)
            // Each value's steps and differences are rounded once each: a few units in the last place of the largest
            // value, far below what the widening adds.
            errors[r] = error.reduce(0) { max($0, abs($1)) } * 1.001 + coarse * 1e-6 + fine * 1e-5
        }
    }

    /// Rounds `count` values to steps of their largest magnitude / 127 into byte row `index` (and its offset and
    /// step), leaving in `left` what each rounding missed. Returns the largest magnitude.
    private mutating func round(
        _ row: UnsafePointer<Float>, count: Int, into index: Int, width: Int, leaving left: inout [Float]
    ) -> Float {
        var largest: Float = 0
        for k in 0..<count { largest = max(largest, abs(row[k])) }
        guard largest > 0 else {
            for k in 0..<count { left[k] = row[k] }
            return 0
        }
        let (step, inverse) = (largest / 127, 127 / largest)
        var sum: Int32 = 0
        for k in 0..<count {
            let p = max(-127, min(127, (row[k] * inverse).rounded()))
            values[index * width + k] = Int8(p)
            sum += Int32(p)
            left[k] = row[k] - step * p
        }
        offsets[index] = 128 * sum
        steps[index] = step
        return largest
    }
}
