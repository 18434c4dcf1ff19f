/// Scaled dot-product attention over row-major buffers, one head at a time, heads side by side in each row.
public enum Attention {
    /// Where the rows of one operand live: `rows` rows, `stride` floats apart, heads `headWidth` wide side by side.
    public struct Operand {
        /// First value of row 0, head 0.
        public let base: UnsafePointer<Float>
        /// Row count.
        public let rows: Int
        /// Distance between rows, in floats.
        public let stride: Int

        /// Describes an operand.
        public init(base: UnsafePointer<Float>, rows: Int, stride: Int) {
            self.base = base
            self.rows = rows
            self.stride = stride
        }
    }

    /// Multi-head attention: for each head, `softmax(Q·Kᵀ/√d + mask)·V`, written to `output` (same layout as `query`).
    /// - Parameters:
    ///   - causalOffset: when set, query row `i` sees key rows `0 ... causalOffset + i` only.
    ///   - scores: scratch space of at least `query.rows × keys.rows` floats.
    ///   - onWeights: called per head with the attention weights (`query.rows × keys.rows`), e.g. for alignment.
    public static func multiHead(
        query: Operand, keys: Operand, values: Operand,
        output: UnsafeMutablePointer<Float>, outputStride: Int,
        heads: Int, headWidth: Int, causalOffset: Int? = nil,
        scores: UnsafeMutablePointer<Float>,
        onWeights: ((_ head: Int, _ weights: UnsafePointer<Float>) -> Void)? = nil
    ) {
        let scale = 1 / Float(headWidth).squareRoot()
        let queries = query.rows
        let keyCount = keys.rows
        if queries <= MatrixVector.maximumRows {
            for head in 0..<heads {
                let offset = head * headWidth
                for i in 0..<queries {
                    let visible = causalOffset.map { min(keyCount, $0 + i + 1) } ?? keyCount
                    attendOneQuery(
                        query.base + i * query.stride + offset, keys: keys.base + offset, keyStride: keys.stride,
                        values: values.base + offset, valueStride: values.stride, visible: visible, keyCount: keyCount,
                        headWidth: headWidth, scale: scale, scores: scores + i * keyCount,
                        output: output + i * outputStride + offset)
                }
                onWeights?(head, scores)
            }
            return
        }
        for head in 0..<heads {
            let offset = head * headWidth
            Matrix.multiply(
                query.base + offset, keys.base + offset, into: scores,
                m: queries, n: keyCount, k: headWidth, transposeB: true,
                lda: query.stride, ldb: keys.stride, ldc: keyCount, alpha: scale)
            if let causalOffset {
                for i in 0..<queries {
                    let firstHidden = causalOffset + i + 1
                    if firstHidden < keyCount {
                        (scores + i * keyCount + firstHidden).update(repeating: -.infinity, count: keyCount - firstHidden)
                    }
                }
            }
            Activations.softmax(scores, rows: queries, width: keyCount)
            onWeights?(head, scores)
            Matrix.multiply(
                scores, values.base + offset, into: output + offset,
                m: queries, n: headWidth, k: keyCount, transposeB: false,
                lda: keyCount, ldb: values.stride, ldc: outputStride)
        }
    }

    /// One query row of one head, for the decoder's few rows: dot products, softmax and the weighted sum of values
    /// without a BLAS call (whose threading costs more than the work here). Hidden keys get weight 0.
    @inline(__always)
    static func attendOneQuery(
        _ query: UnsafePointer<Float>, keys: UnsafePointer<Float>, keyStride: Int,
        values: UnsafePointer<Float>, valueStride: Int, visible: Int, keyCount: Int,
        headWidth: Int, scale: Float, scores: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>
    ) {
        for t in 0..<visible {
            scores[t] = VectorMath.dot(query, keys + t * keyStride, count: headWidth) * scale
        }
        Activations.softmax(scores, rows: 1, width: visible)
        if visible < keyCount { (scores + visible).update(repeating: 0, count: keyCount - visible) }
        output.update(repeating: 0, count: headWidth)
        for t in 0..<visible {
            VectorMath.accumulate(values + t * valueStride, times: scores[t], into: output, count: headWidth)
        }
    }
}
