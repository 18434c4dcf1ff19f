import WhisperKernels

/// An 8-bit weight matrix (the values of ``Linear/quantizedToInt8()``, without their scales) packed in blocks of eight
/// outputs for ``PackedMatrixVectorKernels``: the screen of ``ScreenedProduct`` on AVX2 CPUs, where eight batched
/// decoder steps make the row-major `Float` kernels wait on loads rather than on multiply-adds.
struct PackedInt8Weights: Sendable {
    private typealias Kernels = PackedMatrixVectorKernels<SIMD8<Float>>

    private let packed: [Int8]
    let outputs: Int
    let inputs: Int

    /// Packs `outputs × inputs` signed 8-bit values (row-major).
    init(values: UnsafePointer<Int8>, outputs: Int, inputs: Int) {
        packed = [Int8](unsafeUninitializedCapacity: Kernels.packedCount(outputs: outputs, inputs: inputs)) { buffer, count in
            Kernels.pack(values, outputs: outputs, inputs: inputs, into: buffer.baseAddress!)
            count = buffer.count
        }
        self.outputs = outputs
        self.inputs = inputs
    }

    /// Bytes of the packed copy.
    var bytes: Int { packed.count }

    /// `output[r · outputs + j] = Σₖ value[j, k] · x[r · inputs + k]` for `rows` (1 to ``MatrixVector/maximumRows``)
    /// input rows, split between the worker team's threads by blocks.
    func multiply(_ x: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>) {
        let blocks = (outputs + Kernels.blockOutputs - 1) / Kernels.blockOutputs
        let (inputs, outputs) = (inputs, outputs)
        packed.withUnsafeBufferPointer { weights in
            nonisolated(unsafe) let (w, x, y) = (weights.baseAddress!, x, output)
            // Chunks of whole cache lines of output (two blocks).
            MatrixVector.forEachChunk(of: blocks, alignedTo: 2, weights: outputs * inputs) { range in
                Kernels.multiply(
                    w, blocks: range, inputs: inputs, outputs: outputs, input: x, rows: rows, output: y, outputStride: outputs)
            }
        }
    }
}
