import Dispatch
import Synchronization

extension Attention {
    /// Multi-head self-attention over fused `[Q | K | V]` rows (`rows × 3·width`, heads side by side in each part) with
    /// bfloat16 products (see ``ProductPrecision/bfloat16``): queries, keys and values are rounded to bfloat16
    /// (one contiguous block per head), scores and their softmax computed in `Float` a block of query rows at a time,
    /// the weights rounded to bfloat16 for the product with the values. Heads are shared between threads. The result
    /// is written with heads side by side (`rows × width`).
    public static func selfAttentionBFloat16(
        queryKeyValue: UnsafePointer<Float>, rows: Int, width: Int, heads: Int, output: UnsafeMutablePointer<Float>
    ) {
        let headWidth = width / heads
        let headSize = rows * headWidth
        // Per head: queries (scaled by 1/√d), keys, values, each `rows × headWidth`.
        let operands = UnsafeMutablePointer<UInt16>.allocate(capacity: 3 * heads * headSize)
        defer { operands.deallocate() }
        let scale = 1 / Float(headWidth).squareRoot()
        for row in 0..<rows {
            let source = queryKeyValue + row * 3 * width
            for part in 0..<3 {
                for head in 0..<heads {
                    BFloat16.convert(
                        source + part * width + head * headWidth, count: headWidth, scaledBy: part == 0 ? scale : 1,
                        into: operands + (head * 3 + part) * headSize + row * headWidth)
                }
            }
        }
        let block = min(rows, queryBlock)
        struct Block {
            let scores: BFloat16MatMul
            let softmax: BFloat16Softmax
            let values: BFloat16MatMul
        }
        func products(_ queries: Int) -> Block? {
            guard queries > 0 else { return nil }
            return Block(
                scores: .shared(
                    .init(m: queries, n: rows, k: headWidth, a: .init(row: headWidth, column: 1),
                          b: .init(row: 1, column: headWidth), c: .init(row: rows, column: 1))),
                softmax: .shared(rows: queries, width: rows),
                values: .shared(
                    .init(m: queries, n: headWidth, k: rows, a: .init(row: rows, column: 1),
                          b: .init(row: headWidth, column: 1), c: .init(row: width, column: 1))))
        }
        let (full, last) = (products(block)!, products(rows % block))
        // Heads go to whichever thread is free (a busy core takes fewer), each borrowing one of the scratch sets.
        let scratch = Mutex((0..<min(Matrix.threadCount, heads)).map { _ in AttentionScratch(capacity: block * rows) })
        nonisolated(unsafe) let (operands_, output_) = (UnsafePointer(operands), output)
        DispatchQueue.concurrentPerform(iterations: heads) { head in
            // More iterations may run at once than there are sets (dispatch's width is the core count): make one then.
            let own = scratch.withLock { $0.popLast() } ?? AttentionScratch(capacity: block * rows)
            defer { scratch.withLock { $0.append(own) } }
            let (queries, keys, values) = (
                operands_ + 3 * head * headSize, operands_ + (3 * head + 1) * headSize, operands_ + (3 * head + 2) * headSize
            )
            // One block of query rows at a time, so that its scores and weights stay in the core's cache.
            for first in Swift.stride(from: 0, to: rows, by: block) {
                let step = first + block <= rows ? full : last!
                step.scores.apply(queries + first * headWidth, keys, into: own.scores, threads: 1, workspace: own.workspace)
                step.softmax.apply(own.scores, into: own.weights, workspace: own.workspace)
                step.values.apply(
                    own.weights, values, into: output_ + first * width + head * headWidth, threads: 1, workspace: own.workspace)
            }
        }
    }
}

/// One thread's buffers for a block of attention: `Float` scores, bfloat16 weights, a oneDNN stream and scratchpad.
private final class AttentionScratch: @unchecked Sendable {
    let scores: UnsafeMutablePointer<Float>
    let weights: UnsafeMutablePointer<UInt16>
    let workspace = OneDNN.Workspace()

    init(capacity: Int) {
        scores = .allocate(capacity: capacity)
        weights = .allocate(capacity: capacity)
    }

    deinit {
        scores.deallocate()
        weights.deallocate()
    }
}
