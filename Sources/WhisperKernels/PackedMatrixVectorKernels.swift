/// Products of a few activation rows with an 8-bit weight matrix packed in blocks of `V.scalarCount` outputs, in
/// vectors of `V`: each vector holds one input's weights for a block's outputs, so every lane is an output of its own
/// and a product needs no sums across lanes.
///
/// The row-major kernels (``MatrixVectorKernels``) use each weight vector once per input row but load a vector of each
/// input row for every multiply-add, and add each output's lanes at the end. Here one input value, broadcast, serves
/// the weights of several blocks, and the loads per multiply-add fall with more rows or more blocks: with eight rows
/// the product is bound by the multiply-adds, where the row-major kernels wait on loads.
///
/// Each output's sum runs over the inputs in order, one fused multiply-add after the other from zero, whatever the rows
/// and blocks beside it: a row's results are bit-identical alone or with others.
public enum PackedMatrixVectorKernels<V: KernelVector> {
    /// Outputs per block: one vector.
    @inlinable public static var blockOutputs: Int { V.scalarCount }

    /// Bytes of the packed copy of an `outputs × inputs` matrix (the last block padded with zero weights).
    public static func packedCount(outputs: Int, inputs: Int) -> Int {
        (outputs + blockOutputs - 1) / blockOutputs * blockOutputs * inputs
    }

    /// Packs `outputs × inputs` row-major values into `packed` (``packedCount(outputs:inputs:)`` bytes): block `b`,
    /// input `k` holds the weights of outputs `b·L ..< b·L + L` for input `k`, zero past the last output.
    public static func pack(
        _ values: UnsafePointer<Int8>, outputs: Int, inputs: Int, into packed: UnsafeMutablePointer<Int8>
    ) {
        let lanes = blockOutputs
        packed.initialize(repeating: 0, count: packedCount(outputs: outputs, inputs: inputs))
        for j in 0..<outputs {
            let (block, lane) = (j / lanes, j % lanes)
            let target = packed + block * inputs * lanes + lane
            let row = values + j * inputs
            for k in 0..<inputs { target[k * lanes] = row[k] }
        }
    }

    /// `output[r · outputStride + j] = Σₖ w[j, k] · input[r · inputs + k]` for the outputs of `blocks` (those below
    /// `outputs`) and `rows` (1 to 8) input rows.
    @inlinable
    public static func multiply(
        _ packed: UnsafePointer<Int8>, blocks: Range<Int>, inputs: Int, outputs: Int,
        input: UnsafePointer<Float>, rows: Int, output: UnsafeMutablePointer<Float>, outputStride: Int
    ) {
        precondition(rows >= 1 && rows <= 8, "the packed kernels take 1 to 8 rows")
        func run<Rows: RowCount, Group: RowCount>(_: Rows.Type, blocksAtOnce _: Group.Type) {
            var block = blocks.lowerBound
            while block + Group.value <= blocks.upperBound {
                blockGroup(
                    packed, first: block, inputs: inputs, outputs: outputs, input: input, output: output,
                    outputStride: outputStride, rows: Rows.self, blocks: Group.self)
                block += Group.value
            }
            while block < blocks.upperBound {
                blockGroup(
                    packed, first: block, inputs: inputs, outputs: outputs, input: input, output: output,
                    outputStride: outputStride, rows: Rows.self, blocks: OneRow.self)
                block += 1
            }
        }
        // Blocks at once so that the accumulators (rows × blocks), the blocks' weight vectors and a broadcast input fit
        // AVX2's sixteen registers, with at least four independent chains of multiply-adds.
        switch rows {
        case 1: run(OneRow.self, blocksAtOnce: FourRows.self)
        case 2: run(TwoRows.self, blocksAtOnce: FourRows.self)
        case 3: run(ThreeRows.self, blocksAtOnce: ThreeRows.self)
        case 4: run(FourRows.self, blocksAtOnce: ThreeRows.self)
        case 5: run(FiveRows.self, blocksAtOnce: TwoRows.self)
        case 6: run(SixRows.self, blocksAtOnce: TwoRows.self)
        case 7: run(SevenRows.self, blocksAtOnce: OneRow.self)
        default: run(EightRows.self, blocksAtOnce: OneRow.self)
        }
    }

    /// One accumulator per input row (up to eight) for one block.
    public typealias RowSums = MatrixVectorKernels<V>.RowSums

    /// `Blocks` (one to four) consecutive blocks from `first` for `Rows` input rows.
    @inlinable @inline(__always)
    static func blockGroup<Rows: RowCount, Blocks: RowCount>(
        _ packed: UnsafePointer<Int8>, first: Int, inputs: Int, outputs: Int, input: UnsafePointer<Float>,
        output: UnsafeMutablePointer<Float>, outputStride: Int, rows _: Rows.Type, blocks _: Blocks.Type
    ) {
        let (rows, blocks, lanes) = (Rows.value, Blocks.value, V.scalarCount)
        let blockBytes = inputs * lanes
        let w = packed + first * blockBytes
        func row(_ index: Int) -> UnsafePointer<Float> { input + min(index, rows - 1) * inputs }
        let x = (row(0), row(1), row(2), row(3), row(4), row(5), row(6), row(7))
        let zero: RowSums = (V(), V(), V(), V(), V(), V(), V(), V())
        var (a, b, c, d) = (zero, zero, zero, zero)
        @inline(__always) func add(_ sums: inout RowSums, _ weights: V, _ value: V, row: Int) {
            switch row {
            case 0: sums.0 = sums.0.addingProduct(weights, value)
            case 1: sums.1 = sums.1.addingProduct(weights, value)
            case 2: sums.2 = sums.2.addingProduct(weights, value)
            case 3: sums.3 = sums.3.addingProduct(weights, value)
            case 4: sums.4 = sums.4.addingProduct(weights, value)
            case 5: sums.5 = sums.5.addingProduct(weights, value)
            case 6: sums.6 = sums.6.addingProduct(weights, value)
            default: sums.7 = sums.7.addingProduct(weights, value)
            }
        }
        @inline(__always) func step(_ value: V, row: Int, _ w0: V, _ w1: V, _ w2: V, _ w3: V) {
            add(&a, w0, value, row: row)
            if blocks > 1 { add(&b, w1, value, row: row) }
            if blocks > 2 { add(&c, w2, value, row: row) }
            if blocks > 3 { add(&d, w3, value, row: row) }
        }
        for k in 0..<inputs {
            let offset = k * lanes
            let w0: V = Int8.vector(w, at: offset)
            let w1: V = blocks > 1 ? Int8.vector(w + blockBytes, at: offset) : V()
            let w2: V = blocks > 2 ? Int8.vector(w + 2 * blockBytes, at: offset) : V()
            let w3: V = blocks > 3 ? Int8.vector(w + 3 * blockBytes, at: offset) : V()
            step(V(repeating: x.0[k]), row: 0, w0, w1, w2, w3)
            if rows > 1 { step(V(repeating: x.1[k]), row: 1, w0, w1, w2, w3) }
            if rows > 2 { step(V(repeating: x.2[k]), row: 2, w0, w1, w2, w3) }
            if rows > 3 { step(V(repeating: x.3[k]), row: 3, w0, w1, w2, w3) }
            if rows > 4 { step(V(repeating: x.4[k]), row: 4, w0, w1, w2, w3) }
            if rows > 5 { step(V(repeating: x.5[k]), row: 5, w0, w1, w2, w3) }
            if rows > 6 { step(V(repeating: x.6[k]), row: 6, w0, w1, w2, w3) }
            if rows > 7 { step(V(repeating: x.7[k]), row: 7, w0, w1, w2, w3) }
        }
        store(a, block: first, rows: rows, outputs: outputs, output: output, outputStride: outputStride)
        if blocks > 1 { store(b, block: first + 1, rows: rows, outputs: outputs, output: output, outputStride: outputStride) }
        if blocks > 2 { store(c, block: first + 2, rows: rows, outputs: outputs, output: output, outputStride: outputStride) }
        if blocks > 3 { store(d, block: first + 3, rows: rows, outputs: outputs, output: output, outputStride: outputStride) }
    }

    /// Writes one block's sums for `rows` rows: whole vectors, or the lanes below `outputs` for the last block.
    @inlinable @inline(__always)
    static func store(
        _ sums: RowSums, block: Int, rows: Int, outputs: Int, output: UnsafeMutablePointer<Float>, outputStride: Int
    ) {
        let lanes = V.scalarCount
        let first = block * lanes
        let valid = min(lanes, outputs - first)
        func put(_ value: V, row: Int) {
            let target = output + row * outputStride + first
            if valid == lanes {
                UnsafeMutableRawPointer(target).storeBytes(of: value, as: V.self)
            } else {
                for lane in 0..<valid { target[lane] = value[lane] }
            }
        }
        put(sums.0, row: 0)
        if rows > 1 { put(sums.1, row: 1) }
        if rows > 2 { put(sums.2, row: 2) }
        if rows > 3 { put(sums.3, row: 3) }
        if rows > 4 { put(sums.4, row: 4) }
        if rows > 5 { put(sums.5, row: 5) }
        if rows > 6 { put(sums.6, row: 6) }
        if rows > 7 { put(sums.7, row: 7) }
    }
}
