import CPrefetch
import CVNNI
import WhisperKernels

/// Products of a few rows of 8-bit activations with a matrix of 8-bit weights on AVX512-VNNI (`vpdpbusd`: 64
/// byte products summed into sixteen 32-bit lanes per instruction, four times the multiply-adds of a `Float` FMA).
/// Compiled for Cascade Lake, the first CPU with it; only for CPUs with AVX512-VNNI: the caller checks.
///
/// The weights are interleaved for the instruction: blocks of ``blockOutputs`` outputs, and in each block, groups of
/// ``groupInputs`` consecutive inputs, one output's four bytes per 32-bit lane (64 bytes per group). A group of one
/// activation row is four signed bytes broadcast to every lane, so each lane sums its own output and no lanes are
/// added across at the end. The weights are stored unsigned (the signed value + 128): the sums exceed the signed
/// ones by 128 · Σ activations, one offset per row that the caller passes.
///
/// Each activation row comes as two byte rows, `x ≈ step · p + fineStep · f`: a first rounding and a second one of what
/// the first left (a single byte per value loses too much where a few values are much larger than the others, as in a
/// layer norm's output). Both go through the same weight vector. Integer sums are exact, so a row's results do not
/// depend on the other rows or on the split into blocks.
public enum VNNIMatrixVector {
    /// Outputs per block: one 32-bit lane each.
    public static let blockOutputs = 16
    /// Consecutive inputs per group: the four bytes of a lane.
    public static let groupInputs = 4
    /// The most activation rows one call handles.
    public static let maximumRows = 8

    /// For each block in `blocks` and each of `rows` activation rows: `output[r · outputStride + j] =
    /// Float(Σ weights · p − offsets[2r]) · steps[2r] + Float(Σ weights · f − offsets[2r + 1]) · steps[2r + 1]` for the
    /// block's outputs `j` below `outputs`, where `p` and `f` are rows `2r` and `2r + 1` of `activations` (`groups · 4`
    /// signed bytes each, consecutive).
    public static func multiply(
        _ weights: UnsafePointer<UInt8>, blocks: Range<Int>, groups: Int, outputs: Int,
        activations: UnsafePointer<Int8>, rows: Int, offsets: UnsafePointer<Int32>, steps: UnsafePointer<Float>,
        output: UnsafeMutablePointer<Float>, outputStride: Int
    ) {
        precondition(rows >= 1 && rows <= maximumRows, "VNNIMatrixVector takes 1 to \(maximumRows) rows")
        let product = Product(
            weights: weights, groups: groups, outputs: outputs, activations: activations, offsets: offsets, steps: steps,
            output: output, outputStride: outputStride)
        switch rows {
        case 1: product.run(blocks, OneRow.self)
        case 2: product.run(blocks, TwoRows.self)
        case 3: product.run(blocks, ThreeRows.self)
        case 4: product.run(blocks, FourRows.self)
        case 5: product.run(blocks, FiveRows.self)
        case 6: product.run(blocks, SixRows.self)
        case 7: product.run(blocks, SevenRows.self)
        default: product.run(blocks, EightRows.self)
        }
    }
}

/// One call's operands; `run` is specialised per row count, so its loops are straight-line code for that many rows.
private struct Product {
    typealias Lanes = SIMD16<Int32>
    /// Per activation row, the sums with its first and its second byte row.
    typealias RowSums = (
        Lanes, Lanes, Lanes, Lanes, Lanes, Lanes, Lanes, Lanes, Lanes, Lanes, Lanes, Lanes, Lanes, Lanes, Lanes, Lanes
    )
    /// Byte rows: first and second rounding of each activation row (rows past the last repeat it, never read).
    typealias RowPointers = (
        UnsafeRawPointer, UnsafeRawPointer, UnsafeRawPointer, UnsafeRawPointer,
        UnsafeRawPointer, UnsafeRawPointer, UnsafeRawPointer, UnsafeRawPointer,
        UnsafeRawPointer, UnsafeRawPointer, UnsafeRawPointer, UnsafeRawPointer,
        UnsafeRawPointer, UnsafeRawPointer, UnsafeRawPointer, UnsafeRawPointer
    )

    let weights: UnsafePointer<UInt8>
    let groups: Int
    let outputs: Int
    let activations: UnsafePointer<Int8>
    let offsets: UnsafePointer<Int32>
    let steps: UnsafePointer<Float>
    let output: UnsafeMutablePointer<Float>
    let outputStride: Int

    /// Bytes of one block of weights.
    var blockBytes: Int { groups * 64 }

    @inline(__always)
    func run<Count: RowCount>(_ blocks: Range<Int>, _: Count.Type) {
        let rows = Count.value
        func row(_ index: Int) -> UnsafeRawPointer { UnsafeRawPointer(activations + min(index, 2 * rows - 1) * groups * 4) }
        let x = (
            row(0), row(1), row(2), row(3), row(4), row(5), row(6), row(7),
            row(8), row(9), row(10), row(11), row(12), row(13), row(14), row(15)
        )
        var block = blocks.lowerBound
        // Up to two rows, two blocks at a time, so that at least four independent chains hide the latency.
        if rows <= 2 {
            while block + 2 <= blocks.upperBound {
                let (a, b) = sums(of: block, and: true, x: x, Count.self)
                store(a, block: block, rows: rows)
                store(b, block: block + 1, rows: rows)
                block += 2
            }
        }
        while block < blocks.upperBound {
            store(sums(of: block, and: false, x: x, Count.self).0, block: block, rows: rows)
            block += 1
        }
    }

    /// The sums of `block` (and, when `withNext`, of the block after it) with every byte row.
    @inline(__always)
    func sums<Count: RowCount>(of block: Int, and withNext: Bool, x: RowPointers, _: Count.Type) -> (RowSums, RowSums) {
        let rows = Count.value
        let first = UnsafeRawPointer(weights + block * blockBytes)
        let second = first + blockBytes
        let zero = Lanes()
        var a: RowSums = (zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero, zero)
        var b = a
        for group in 0..<groups {
            let offset = group * 64
            whisper_prefetch(first + offset + 1024)
            let v = first.loadUnaligned(fromByteOffset: offset, as: Lanes.self)
            @inline(__always) func broadcast(_ row: UnsafeRawPointer) -> Lanes {
                Lanes(repeating: row.loadUnaligned(fromByteOffset: group * 4, as: Int32.self))
            }
            a.0 = whisper_dot_bytes(a.0, v, broadcast(x.0))
            a.1 = whisper_dot_bytes(a.1, v, broadcast(x.1))
            if rows > 1 { a.2 = whisper_dot_bytes(a.2, v, broadcast(x.2)); a.3 = whisper_dot_bytes(a.3, v, broadcast(x.3)) }
            if rows > 2 { a.4 = whisper_dot_bytes(a.4, v, broadcast(x.4)); a.5 = whisper_dot_bytes(a.5, v, broadcast(x.5)) }
            if rows > 3 { a.6 = whisper_dot_bytes(a.6, v, broadcast(x.6)); a.7 = whisper_dot_bytes(a.7, v, broadcast(x.7)) }
            if rows > 4 { a.8 = whisper_dot_bytes(a.8, v, broadcast(x.8)); a.9 = whisper_dot_bytes(a.9, v, broadcast(x.9)) }
            if rows > 5 { a.10 = whisper_dot_bytes(a.10, v, broadcast(x.10)); a.11 = whisper_dot_bytes(a.11, v, broadcast(x.11)) }
            if rows > 6 { a.12 = whisper_dot_bytes(a.12, v, broadcast(x.12)); a.13 = whisper_dot_bytes(a.13, v, broadcast(x.13)) }
            if rows > 7 { a.14 = whisper_dot_bytes(a.14, v, broadcast(x.14)); a.15 = whisper_dot_bytes(a.15, v, broadcast(x.15)) }
            if withNext {
                whisper_prefetch(second + offset + 1024)
                let u = second.loadUnaligned(fromByteOffset: offset, as: Lanes.self)
                b.0 = whisper_dot_bytes(b.0, u, broadcast(x.0))
                b.1 = whisper_dot_bytes(b.1, u, broadcast(x.1))
                if rows > 1 { b.2 = whisper_dot_bytes(b.2, u, broadcast(x.2)); b.3 = whisper_dot_bytes(b.3, u, broadcast(x.3)) }
            }
        }
        return (a, b)
    }

    /// Writes one block's results for `rows` rows, offset, scaled and the two roundings added.
    @inline(__always)
    func store(_ sums: RowSums, block: Int, rows: Int) {
        let first = block * VNNIMatrixVector.blockOutputs
        let count = min(VNNIMatrixVector.blockOutputs, outputs - first)
        @inline(__always) func scaled(_ lanes: Lanes, _ index: Int) -> SIMD16<Float> {
            let offset = offsets[index]
            return SIMD16<Float>(
                Float(lanes[0] &- offset), Float(lanes[1] &- offset), Float(lanes[2] &- offset), Float(lanes[3] &- offset),
                Float(lanes[4] &- offset), Float(lanes[5] &- offset), Float(lanes[6] &- offset), Float(lanes[7] &- offset),
                Float(lanes[8] &- offset), Float(lanes[9] &- offset), Float(lanes[10] &- offset), Float(lanes[11] &- offset),
                Float(lanes[12] &- offset), Float(lanes[13] &- offset), Float(lanes[14] &- offset), Float(lanes[15] &- offset)
            ) * steps[index]
        }
        @inline(__always) func write(_ coarse: Lanes, _ fine: Lanes, row: Int) {
            let target = output + row * outputStride + first
            let values = scaled(coarse, 2 * row) + scaled(fine, 2 * row + 1)
            if count == VNNIMatrixVector.blockOutputs {
                UnsafeMutableRawPointer(target).storeBytes(of: values, as: SIMD16<Float>.self)
            } else {
                for lane in 0..<count { target[lane] = values[lane] }
            }
        }
        write(sums.0, sums.1, row: 0)
        if rows > 1 { write(sums.2, sums.3, row: 1) }
        if rows > 2 { write(sums.4, sums.5, row: 2) }
        if rows > 3 { write(sums.6, sums.7, row: 3) }
        if rows > 4 { write(sums.8, sums.9, row: 4) }
        if rows > 5 { write(sums.10, sums.11, row: 5) }
        if rows > 6 { write(sums.12, sums.13, row: 6) }
        if rows > 7 { write(sums.14, sums.15, row: 7) }
    }
}
