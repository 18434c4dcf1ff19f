import Synchronization
import WhisperKernels
import WhisperKernelsAVX512

/// Scaled dot-product attention over row-major buffers, one head at a time.
public enum Attention {
    /// Where the rows of one operand live: `rows` rows `stride` floats apart; head `h` starts `h · headStride` floats
    /// after head 0 (heads side by side in each row when `headStride` is the head width, or one block per head).
    public struct Operand<Element: WidenableScalar> {
        /// First value of row 0, head 0.
        public let base: UnsafePointer<Element>
        /// Row count.
        public let rows: Int
        /// Distance between rows, in floats.
        public let stride: Int
        /// Distance between heads, in floats; `nil` means the head width (heads side by side).
        public let headStride: Int?

        /// Describes an operand.
        public init(base: UnsafePointer<Element>, rows: Int, stride: Int, headStride: Int? = nil) {
            self.base = base
            self.rows = rows
            self.stride = stride
            self.headStride = headStride
        }

        /// `count` rows from row `first`.
        func rows(_ first: Int, count: Int) -> Operand {
            Operand(base: base + first * stride, rows: count, stride: stride, headStride: headStride)
        }

        func head(_ index: Int, width: Int) -> UnsafePointer<Element> {
            base + index * (headStride ?? width)
        }
    }

    /// Multi-head attention: for each head, `softmax(Q·Kᵀ/√d + mask)·V`, written to `output` (heads side by side).
    /// - Parameters:
    ///   - causalOffset: when set, query row `i` sees key rows `0 ... causalOffset + i` only.
    ///   - scores: scratch space of at least `query.rows × keys.rows` floats.
    ///   - onWeights: called per head with the attention weights (`query.rows × keys.rows`), e.g. for alignment.
    // Called from other modules: specialised here for both element types, so the kernels below are not run generically.
    @_specialize(exported: true, where KeyValue == Float)
    @_specialize(exported: true, where KeyValue == Float16)
    public static func multiHead<KeyValue: WidenableScalar>(
        query: Operand<Float>, keys: Operand<KeyValue>, values: Operand<KeyValue>,
        output: UnsafeMutablePointer<Float>, outputStride: Int,
        heads: Int, headWidth: Int, causalOffset: Int? = nil,
        scores: UnsafeMutablePointer<Float>,
        onWeights: ((_ head: Int, _ weights: UnsafePointer<Float>) -> Void)? = nil
    ) {
        let scale = 1 / Float(headWidth).squareRoot()
        let queries = query.rows
        let keyCount = keys.rows
        if queries <= MatrixVector.maximumRows && onWeights == nil && Matrix.threadCount > 1
            && heads * queries * keyCount >= parallelThreshold
        {
            // A decoder step (over the audio, or over a few hundred cached tokens): heads are independent, so they
            // are shared between the worker team's threads, each with its own scores.
            nonisolated(unsafe) let (out, query, keys, values) = (output, query, keys, values)
            WorkerTeam.shared.forEach(heads) { head in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: queries * keyCount) { scores in
                    fewQueries(
                        query: query, keys: keys, values: values, head: head, headWidth: headWidth, scale: scale,
                        causalOffset: causalOffset, output: out + head * headWidth, outputStride: outputStride,
                        scores: scores.baseAddress!)
                }
            }
            return
        }
        if queries > MatrixVector.maximumRows && onWeights == nil && Matrix.allowsConcurrentProducts {
            // The encoder: each (head, block of query rows) is one item, computed alone by the thread that takes it,
            // so the softmax runs in parallel too, the thin (64-wide) products need no fork and join, and a thread
            // whose core another process shares takes fewer items instead of holding the others up. A block's scores
            // stay in the core's cache between the products and the softmax (all 1500 × 1500 of a head are 9 MB).
            let blocks = (queries + queryBlock - 1) / queryBlock
            let scratch = ScratchPool(first: scores, capacity: min(queries, queryBlock) * keyCount)
            nonisolated(unsafe) let (out, query, keys, values) = (output, query, keys, values)
            Matrix.parallelForEach(heads * blocks) { item in
                let (head, first) = (item / blocks, item % blocks * queryBlock)
                let rows = min(queryBlock, queries - first)
                scratch.withBuffer { scores in
                    manyQueries(
                        query: query.rows(first, count: rows), keys: keys, values: values, head: head,
                        headWidth: headWidth, scale: scale, causalOffset: causalOffset.map { $0 + first },
                        output: out + first * outputStride + head * headWidth, outputStride: outputStride,
                        scores: scores, keepsWeights: false)
                }
            }
            return
        }
        for head in 0..<heads {
            let out = output + head * headWidth
            if queries <= MatrixVector.maximumRows {
                // The decoder's few rows: no BLAS call, whose threading costs more than the work here.
                fewQueries(
                    query: query, keys: keys, values: values, head: head, headWidth: headWidth, scale: scale,
                    causalOffset: causalOffset, output: out, outputStride: outputStride, scores: scores)
            } else {
                // On one thread: `sgemm` on two threads rounds differently from one, and word alignment (`onWeights`)
                // runs on half the cores when other work shares them, so its weights would depend on that work.
                manyQueries(
                    query: query, keys: keys, values: values, head: head, headWidth: headWidth, scale: scale,
                    causalOffset: causalOffset, output: out, outputStride: outputStride, scores: scores,
                    keepsWeights: onWeights != nil)
            }
            onWeights?(head, scores)
        }
    }

    /// One head for many query rows through `sgemm` on one thread, so its result does not depend on the caller's
    /// thread count. With `keepsWeights`, `scores` holds the `query.rows × keys.rows` attention weights afterwards;
    /// otherwise they are left unnormalised and the output rows are divided by the sums instead (64 values per row
    /// rather than one per key). Half-precision keys and values are widened first (one head's block).
    static func manyQueries<KeyValue: WidenableScalar>(
        query: Operand<Float>, keys: Operand<KeyValue>, values: Operand<KeyValue>, head: Int, headWidth: Int,
        scale: Float, causalOffset: Int?, output: UnsafeMutablePointer<Float>, outputStride: Int,
        scores: UnsafeMutablePointer<Float>, keepsWeights: Bool
    ) {
        let (queries, keyCount) = (query.rows, keys.rows)
        withSinglePrecision(keys, head: head, headWidth: headWidth) { k, keyStride in
            Matrix.gemm(
                query.head(head, width: headWidth), k, scores, m: queries, n: keyCount, k: headWidth, transposeB: true,
                lda: query.stride, ldb: keyStride, ldc: keyCount, alpha: scale, beta: 0, threads: 1)
        }
        if let causalOffset {
            for i in 0..<queries {
                let firstHidden = causalOffset + i + 1
                if firstHidden < keyCount {
                    (scores + i * keyCount + firstHidden).update(repeating: -.infinity, count: keyCount - firstHidden)
                }
            }
        }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: queries) { buffer in
            let sums = keepsWeights ? nil : buffer.baseAddress
            Activations.softmax(scores, rows: queries, width: keyCount, unnormalisedSums: sums)
            withSinglePrecision(values, head: head, headWidth: headWidth) { v, valueStride in
                Matrix.gemm(
                    scores, v, output, m: queries, n: headWidth, k: keyCount, transposeB: false,
                    lda: keyCount, ldb: valueStride, ldc: outputStride, alpha: 1, beta: 0, threads: 1)
            }
            guard let sums else { return }
            for i in 0..<queries { VectorMath.scale(output + i * outputStride, count: headWidth, by: 1 / sums[i]) }
        }
    }

    /// Calls `body` with one head of `operand` as `Float` rows and their stride: in place for `Float`, widened into a
    /// temporary `rows × headWidth` block otherwise.
    static func withSinglePrecision<Element: WidenableScalar>(
        _ operand: Operand<Element>, head: Int, headWidth: Int, _ body: (UnsafePointer<Float>, Int) -> Void
    ) {
        let source = operand.head(head, width: headWidth)
        if Element.self == Float.self {
            return body(UnsafeRawPointer(source).assumingMemoryBound(to: Float.self), operand.stride)
        }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: operand.rows * headWidth) { block in
            let target = block.baseAddress!
            for t in 0..<operand.rows {
                let (row, out) = (source + t * operand.stride, target + t * headWidth)
                var j = 0
                while j + laneCount <= headWidth {
                    out.store(Element.lanes(row, at: j), at: j)
                    j += laneCount
                }
                while j < headWidth {
                    out[j] = Element.widen(row[j])
                    j += 1
                }
            }
            body(target, headWidth)
        }
    }

    /// Query rows whose scores and weights are computed together, one item of the encoder's attention (768 KB of scores
    /// for 1,500 keys, in the core's L2).
    static let queryBlock = 128

    /// Score elements (heads × queries × keys) from which a few-query product is split between threads: with
    /// ``WorkerTeam`` a split costs a microsecond or two, so a step's self-attention splits from 171 cached tokens.
    static let parallelThreshold = 1 << 10

    /// One head for a few query rows (at most ``MatrixVector/maximumRows``): the scores of every row against the keys
    /// as one matrix-vector product, each key read once for all rows (``MatrixVector``'s kernels, the keys as the
    /// matrix), then the weighted sums of the values likewise (``AttentionKernels``). A head whose rows are not
    /// contiguous (heads side by side) is copied into one block first. `scores` holds `query.rows × keys.rows`
    /// floats; afterwards the attention weights.
    static func fewQueries<KeyValue: WidenableScalar>(
        query: Operand<Float>, keys: Operand<KeyValue>, values: Operand<KeyValue>, head: Int, headWidth: Int,
        scale: Float, causalOffset: Int?, output: UnsafeMutablePointer<Float>, outputStride: Int,
        scores: UnsafeMutablePointer<Float>
    ) {
        let (rows, keyCount) = (query.rows, keys.rows)
        let q = query.head(head, width: headWidth)
        withContiguousHead(keys, head: head, headWidth: headWidth) { k in
            // The query rows side by side and scaled (by 1/8 for Whisper's 64-wide heads: exact).
            withUnsafeTemporaryAllocation(of: Float.self, capacity: rows * headWidth) { scaled in
                for i in 0..<rows {
                    for d in 0..<headWidth { scaled[i * headWidth + d] = q[i * query.stride + d] * scale }
                }
                MatrixVector.kernel(
                    k, outputs: 0..<keyCount, inputs: headWidth, input: scaled.baseAddress!, rows: rows, output: scores,
                    outputStride: keyCount)
            }
        }
        var count = 0
        for i in 0..<rows {
            let visible = causalOffset.map { min(keyCount, $0 + i + 1) } ?? keyCount
            let row = scores + i * keyCount
            Activations.softmax(row, rows: 1, width: visible)
            if visible < keyCount { (row + visible).update(repeating: 0, count: keyCount - visible) }
            count = max(count, visible)
        }
        withContiguousHead(values, head: head, headWidth: headWidth) { v in
            if MatrixVector.usesAVX512 {
                AVX512Attention.weightedSums(
                    scores, weightStride: keyCount, rows: rows, values: v, count: count, width: headWidth, into: output,
                    outputStride: outputStride)
            } else {
                AttentionKernels<Lanes>.weightedSums(
                    scores, weightStride: keyCount, rows: rows, values: v, count: count, width: headWidth, into: output,
                    outputStride: outputStride)
            }
        }
    }

    /// Calls `body` with one head of `operand` as `rows × headWidth` contiguous values: in place when its rows are
    /// `headWidth` apart (one block per head), copied otherwise.
    @inline(__always)
    static func withContiguousHead<Element: WidenableScalar>(
        _ operand: Operand<Element>, head: Int, headWidth: Int, _ body: (UnsafePointer<Element>) -> Void
    ) {
        let source = operand.head(head, width: headWidth)
        if operand.stride == headWidth { return body(source) }
        withUnsafeTemporaryAllocation(of: Element.self, capacity: operand.rows * headWidth) { block in
            for t in 0..<operand.rows {
                (block.baseAddress! + t * headWidth).initialize(from: source + t * operand.stride, count: headWidth)
            }
            body(block.baseAddress!)
        }
    }
}

/// Scratch buffers of one size for the items of a parallel loop, one per item running at a time: the first is the
/// caller's, the others are allocated as threads need them and freed with the pool (every buffer is back in the pool by
/// then: an item returns its buffer before the loop ends).
private final class ScratchPool: Sendable {
    private let capacity: Int
    /// Address of the caller's buffer, which the pool does not free.
    private let first: UInt
    /// Addresses of the buffers not in use.
    private let free: Mutex<[UInt]>

    init(first: UnsafeMutablePointer<Float>, capacity: Int) {
        self.capacity = capacity
        self.first = UInt(bitPattern: first)
        free = Mutex([self.first])
    }

    deinit {
        for address in free.withLock({ $0 }) where address != first {
            UnsafeMutablePointer<Float>(bitPattern: address)?.deallocate()
        }
    }

    /// Calls `body` with a buffer of `capacity` floats that no other item uses meanwhile.
    func withBuffer(_ body: (UnsafeMutablePointer<Float>) -> Void) {
        let address = free.withLock { $0.popLast() } ?? UInt(bitPattern: UnsafeMutablePointer<Float>.allocate(capacity: capacity))
        body(UnsafeMutablePointer(bitPattern: address)!)
        free.withLock { $0.append(address) }
    }
}
