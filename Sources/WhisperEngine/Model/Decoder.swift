import WhisperTensor

/// The text decoder for one audio window: cross-attention keys/values computed once, a self-attention cache per
/// sequence (beams or samples advance in lockstep).
struct DecoderSession {
    private let weights: ModelWeights
    /// Per layer: the audio's keys and values for cross-attention, computed once per window.
    private let crossKeyValues: [CrossAttentionMemory]
    /// Per sequence, per layer: keys and values of the tokens seen so far, `textPositions × width` each.
    private var keyCaches: [[[Float]]] = []
    private var valueCaches: [[[Float]]] = []
    /// Tokens each sequence has consumed.
    private(set) var length = 0

    init(weights: ModelWeights, audio: Tensor) {
        self.weights = weights
        crossKeyValues = weights.decoderLayers.map {
            CrossAttentionMemory(projected: $0.crossKeyValue(audio), heads: weights.hyper.heads)
        }
        let empty = [Float](repeating: 0, count: weights.hyper.textPositions * weights.hyper.width)
        keyCaches = [Array(repeating: empty, count: weights.hyper.decoderLayers)]
        valueCaches = keyCaches
    }

    /// Keeps sequences in the given order: `sources[i]` is the old index whose cache becomes sequence `i`.
    mutating func reorder(_ sources: [Int]) {
        keyCaches = sources.map { keyCaches[$0] }
        valueCaches = sources.map { valueCaches[$0] }
    }

    /// Runs every sequence over its `tokens[b]` (all the same length) and returns the log-its at the requested
    /// positions of each sequence: `[sequence][position]` → vocabulary-sized rows.
    /// - Parameter crossAttention: called per decoder layer and head with that head's cross-attention weights
    ///   (`tokens × audioFrames`, softmax over all frames) — for word alignment.
    mutating func forward(
        _ tokens: [[Int]], logitsAt positions: [Int],
        crossAttention: ((_ layer: Int, _ head: Int, _ weights: UnsafePointer<Float>) -> Void)? = nil
    ) -> [[[Float]]] {
        let hyper = weights.hyper
        let width = hyper.width
        let count = tokens[0].count
        let sequences = tokens.count
        precondition(sequences == keyCaches.count, "one token list per sequence")
        precondition(length + count <= hyper.textPositions, "decoder positions exhausted")
        let rows = sequences * count
        var x = Tensor(rows: rows, columns: width)
        weights.decoderPositions.withUnsafeBufferPointer { position in
            x.storage.withUnsafeMutableBufferPointer { out in
                for b in 0..<sequences {
                    for i in 0..<count {
                        let row = out.baseAddress! + (b * count + i) * width
                        weights.tokenEmbedding.row(tokens[b][i], into: row)
                        Activations.add(position.baseAddress! + (length + i) * width, into: row, count: width)
                    }
                }
            }
        }
        let total = length + count
        let audioFrames = crossKeyValues[0].frames
        var scores = [Float](repeating: 0, count: count * max(total, audioFrames))
        for (index, layer) in weights.decoderLayers.enumerated() {
            // Causal self-attention with the cache.
            let qkv = layer.selfQueryKeyValue(layer.selfAttentionNorm(x))
            var attended = Tensor(rows: rows, columns: width)
            for b in 0..<sequences {
                qkv.storage.withUnsafeBufferPointer { q in
                    let base = q.baseAddress! + b * count * 3 * width
                    keyCaches[b][index].withUnsafeMutableBufferPointer { keys in
                        valueCaches[b][index].withUnsafeMutableBufferPointer { values in
                            for i in 0..<count {
                                (keys.baseAddress! + (length + i) * width).update(from: base + i * 3 * width + width, count: width)
                                (values.baseAddress! + (length + i) * width).update(from: base + i * 3 * width + 2 * width, count: width)
                            }
                            attended.storage.withUnsafeMutableBufferPointer { out in
                                scores.withUnsafeMutableBufferPointer { s in
                                    Attention.multiHead(
                                        query: .init(base: base, rows: count, stride: 3 * width),
                                        keys: .init(base: keys.baseAddress!, rows: total, stride: width),
                                        values: .init(base: values.baseAddress!, rows: total, stride: width),
                                        output: out.baseAddress! + b * count * width, outputStride: width,
                                        heads: hyper.heads, headWidth: hyper.headWidth, causalOffset: length,
                                        scores: s.baseAddress!)
                                }
                            }
                        }
                    }
                }
            }
            x.add(layer.selfAttentionOutput(attended))

            // Cross-attention over the audio.
            let query = layer.crossQuery(layer.crossAttentionNorm(x))
            var crossed = Tensor(rows: rows, columns: width)
            let memory = crossKeyValues[index]
            query.storage.withUnsafeBufferPointer { q in
                memory.keys.withUnsafeBufferPointer { keys in
                    memory.values.withUnsafeBufferPointer { values in
                        crossed.storage.withUnsafeMutableBufferPointer { out in
                            scores.withUnsafeMutableBufferPointer { s in
                                for b in 0..<sequences {
                                    Attention.multiHead(
                                        query: .init(base: q.baseAddress! + b * count * width, rows: count, stride: width),
                                        keys: memory.operand(keys.baseAddress!),
                                        values: memory.operand(values.baseAddress!),
                                        output: out.baseAddress! + b * count * width, outputStride: width,
                                        heads: hyper.heads, headWidth: hyper.headWidth, scores: s.baseAddress!,
                                        onWeights: crossAttention.map { hook in { head, weights in hook(index, head, weights) } })
                                }
                            }
                        }
                    }
                }
            }
            x.add(layer.crossAttentionOutput(crossed))

            var hidden = layer.feedForwardIn(layer.feedForwardNorm(x))
            hidden.applyGELU()
            x.add(layer.feedForwardOut(hidden))
        }
        length = total

        // Logits through the tied embedding, only for the rows asked for.
        var selected = Tensor(rows: sequences * positions.count, columns: width)
        for b in 0..<sequences {
            for (p, position) in positions.enumerated() {
                for j in 0..<width { selected[b * positions.count + p, j] = x[b * count + position, j] }
            }
        }
        let normed = weights.decoderNorm(selected)
        let logits = weights.tokenEmbedding(normed).storage
        return (0..<sequences).map { b in
            (0..<positions.count).map { p in
                let start = (b * positions.count + p) * hyper.vocabularySize
                return Array(logits[start..<start + hyper.vocabularySize])
            }
        }
    }

    /// Duplicates sequence 0 into `count` sequences (after a shared prompt).
    mutating func fork(into count: Int) {
        reorder(Array(repeating: 0, count: count))
    }
}

/// One decoder layer's cross-attention keys and values over the audio, each head's block contiguous
/// (`heads × frames × headWidth`), so a query streams through one block instead of striding across all heads.
struct CrossAttentionMemory {
    let keys: [Float]
    let values: [Float]
    let frames: Int
    let headWidth: Int

    /// Splits the fused projection (`frames × 2·width`, keys then values in each row) into per-head blocks.
    init(projected: Tensor, heads: Int) {
        let width = projected.columns / 2
        let headWidth = width / heads
        let frames = projected.rows
        var keys = [Float](repeating: 0, count: frames * width)
        var values = keys
        projected.storage.withUnsafeBufferPointer { source in
            keys.withUnsafeMutableBufferPointer { k in
                values.withUnsafeMutableBufferPointer { v in
                    for t in 0..<frames {
                        let row = source.baseAddress! + t * 2 * width
                        for h in 0..<heads {
                            let target = (h * frames + t) * headWidth
                            (k.baseAddress! + target).update(from: row + h * headWidth, count: headWidth)
                            (v.baseAddress! + target).update(from: row + width + h * headWidth, count: headWidth)
                        }
                    }
                }
            }
        }
        self.keys = keys
        self.values = values
        self.frames = frames
        self.headWidth = headWidth
    }

    /// The attention operand over `block` (``keys`` or ``values``).
    func operand(_ block: UnsafePointer<Float>) -> Attention.Operand {
        .init(base: block, rows: frames, stride: headWidth, headStride: frames * headWidth)
    }
}
