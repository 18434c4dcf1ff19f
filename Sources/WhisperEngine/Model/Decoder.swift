import Dispatch
import WhisperTensor

/// The text decoder for one audio window: cross-attention keys/values computed once, a self-attention cache per
/// sequence (beams or samples advance in lockstep).
///
/// A prompt goes through ``forward(_:logitsAt:crossAttention:)``; single-token steps of any number of sessions (other
/// requests' windows, beams) go through ``step(_:tokens:)`` together, so each weight matrix is read once per batch.
struct DecoderSession {
    private let weights: ModelWeights
    /// Per layer: the audio's keys and values for cross-attention, computed once per window.
    private let crossKeyValues: [CrossAttentionMemory]
    /// Per sequence, per layer: keys and values of the tokens seen so far, one `textPositions × headWidth` block per
    /// head (so a head's keys are contiguous rows, as the few-query attention kernels read them).
    private var keyCaches: [[[Float]]] = []
    private var valueCaches: [[[Float]]] = []
    /// Tokens each sequence has consumed.
    private(set) var length = 0
    /// When set, the logits of this session's single-token steps are screened (``ModelWeights/logitScreen``): for
    /// decoding that takes the most likely token, which stays exact.
    var logitScreening: LogitScreening?

    init(weights: ModelWeights, audio: Tensor) {
        self.weights = weights
        crossKeyValues = weights.decoderLayers.map {
            CrossAttentionMemory(projected: $0.crossKeyValue(audio), heads: weights.hyper.heads)
        }
        let empty = [Float](repeating: 0, count: weights.hyper.textPositions * weights.hyper.width)
        keyCaches = [Array(repeating: empty, count: weights.hyper.decoderLayers)]
        valueCaches = keyCaches
    }

    /// Sequences advancing in lockstep (beams or samples).
    var sequences: Int { keyCaches.count }

    /// Keeps sequences in the given order: `sources[i]` is the old index whose cache becomes sequence `i`.
    mutating func reorder(_ sources: [Int]) {
        keyCaches = sources.map { keyCaches[$0] }
        valueCaches = sources.map { valueCaches[$0] }
    }

    /// Duplicates sequence 0 into `count` sequences (after a shared prompt).
    mutating func fork(into count: Int) {
        reorder(Array(repeating: 0, count: count))
    }

    /// Runs every sequence over its `tokens[b]` (all the same length) and returns the log-its at the requested
    /// positions of each sequence: `[sequence][position]` → vocabulary-sized rows.
    /// - Parameter crossAttention: called per decoder layer and head with that head's cross-attention weights
    ///   (`tokens × audioFrames`, softmax over all frames) — for word alignment.
    mutating func forward(
        _ tokens: [[Int]], logitsAt positions: [Int],
        crossAttention: ((_ layer: Int, _ head: Int, _ weights: UnsafePointer<Float>) -> Void)? = nil
    ) -> [[[Float]]] {
        let weights = self.weights
        return withUnsafeMutablePointer(to: &self) { session in
            Self.run(
                [Pass(session: session, tokens: tokens, positions: positions, firstRow: 0)], weights: weights,
                rowsPerProduct: nil, crossAttention: crossAttention)[0]
        }
    }

    /// Advances several sessions of one model by one token per sequence in a single pass: `tokens[s]` holds one
    /// token for each sequence of `sessions[s]`; returns `[session][sequence]` → logits.
    ///
    /// Every linear layer reads each weight once for up to ``MatrixVector/maximumRows`` rows, whose kernels compute
    /// each output the same way for one row or several, so a sequence's logits are bit-identical whether its session
    /// steps alone or with others.
    static func step(_ sessions: [UnsafeMutablePointer<DecoderSession>], tokens: [[Int]]) -> [[[Float]]] {
        precondition(sessions.count == tokens.count && !sessions.isEmpty, "one token list per session")
        var passes: [Pass] = []
        var firstRow = 0
        for (session, sessionTokens) in zip(sessions, tokens) {
            passes.append(Pass(session: session, tokens: sessionTokens.map { [$0] }, positions: [0], firstRow: firstRow))
            firstRow += sessionTokens.count
        }
        let weights = sessions[0].pointee.weights
        precondition(sessions.allSatisfy { $0.pointee.weights.hyper == weights.hyper }, "sessions of one model only")
        return run(passes, weights: weights, rowsPerProduct: MatrixVector.maximumRows, crossAttention: nil).map { $0.map { $0[0] } }
    }

    /// One session's share of a forward pass: each of its sequences consumes `tokens[b]` (all the same length).
    private struct Pass {
        let session: UnsafeMutablePointer<DecoderSession>
        let tokens: [[Int]]
        /// Positions (within `tokens[b]`) whose logits are returned.
        let positions: [Int]
        /// Where the pass's rows start in the combined activations: sequence-major, then token.
        let firstRow: Int

        var count: Int { tokens[0].count }
        var rows: Int { tokens.count * count }
    }

    /// The decoder over the rows of all `passes`: linear layers and norms on every row together, attention per
    /// session over its own caches and audio. Returns `[pass][sequence][position]` → logits.
    /// - Parameter rowsPerProduct: when set, linear layers take at most this many rows per product (the GEMV kernels);
    ///   otherwise all rows at once (`sgemm` beyond ``MatrixVector/maximumRows``).
    private static func run(
        _ passes: [Pass], weights: ModelWeights, rowsPerProduct: Int?,
        crossAttention: ((_ layer: Int, _ head: Int, _ weights: UnsafePointer<Float>) -> Void)?
    ) -> [[[[Float]]]] {
        let hyper = weights.hyper
        let width = hyper.width
        let rows = passes.reduce(0) { $0 + $1.rows }
        let lengths = passes.map { $0.session.pointee.length }
        for (pass, length) in zip(passes, lengths) {
            precondition(pass.tokens.count == pass.session.pointee.sequences, "one token list per sequence")
            precondition(pass.tokens.allSatisfy { $0.count == pass.count }, "sequences advance by the same tokens")
            precondition(length + pass.count <= hyper.textPositions, "decoder positions exhausted")
        }
        func linear(_ layer: Linear, _ input: Tensor) -> Tensor {
            Self.apply(layer, to: input, rowsPerProduct: rowsPerProduct)
        }
        var x = Tensor(rows: rows, columns: width)
        weights.decoderPositions.withUnsafeBufferPointer { position in
            x.storage.withUnsafeMutableBufferPointer { out in
                for (pass, length) in zip(passes, lengths) {
                    for b in 0..<pass.tokens.count {
                        for i in 0..<pass.count {
                            let row = out.baseAddress! + (pass.firstRow + b * pass.count + i) * width
                            weights.tokenEmbedding.row(pass.tokens[b][i], into: row)
                            Activations.add(position.baseAddress! + (length + i) * width, into: row, count: width)
                        }
                    }
                }
            }
        }
        // Attention is per session (its own caches and audio): sessions run on separate threads, each as it would alone.
        let parallel = passes.count > 1 && crossAttention == nil
        // Each thread touches only its own sessions' caches; the hook is only ever called on this thread.
        nonisolated(unsafe) let (sessions, hook) = (passes, crossAttention)
        for (index, layer) in weights.decoderLayers.enumerated() {
            // Causal self-attention with each sequence's cache.
            let qkv = linear(layer.selfQueryKeyValue, layer.selfAttentionNorm(x))
            var attended = Tensor(rows: rows, columns: width)
            qkv.storage.withUnsafeBufferPointer { q in
                attended.storage.withUnsafeMutableBufferPointer { out in
                    nonisolated(unsafe) let (q, out) = (q.baseAddress!, out.baseAddress!)
                    forEach(passes.count, parallel: parallel) { p in
                        attendToCache(sessions[p], length: lengths[p], layer: index, qkv: q, into: out, hyper: hyper)
                    }
                }
            }
            x.add(linear(layer.selfAttentionOutput, attended))

            // Cross-attention over each session's audio.
            let query = linear(layer.crossQuery, layer.crossAttentionNorm(x))
            var crossed = Tensor(rows: rows, columns: width)
            query.storage.withUnsafeBufferPointer { q in
                crossed.storage.withUnsafeMutableBufferPointer { out in
                    nonisolated(unsafe) let (q, out) = (q.baseAddress!, out.baseAddress!)
                    forEach(passes.count, parallel: parallel) { p in
                        attendToAudio(
                            sessions[p], layer: index, query: q, into: out, hyper: hyper,
                            onWeights: hook.map { hook in { head, weights in hook(index, head, weights) } })
                    }
                }
            }
            x.add(linear(layer.crossAttentionOutput, crossed))

            var hidden = linear(layer.feedForwardIn, layer.feedForwardNorm(x))
            hidden.applyGELU()
            x.add(linear(layer.feedForwardOut, hidden))
        }
        for (pass, length) in zip(passes, lengths) {
            pass.session.pointee.length = length + pass.count
        }

        // Logits through the tied embedding, only for the rows asked for.
        let selectedRows = passes.reduce(0) { $0 + $1.tokens.count * $1.positions.count }
        var selected = Tensor(rows: selectedRows, columns: width)
        var next = 0
        for pass in passes {
            for b in 0..<pass.tokens.count {
                for position in pass.positions {
                    let source = (pass.firstRow + b * pass.count + position) * width
                    selected.storage.replaceSubrange(next * width..<(next + 1) * width, with: x.storage[source..<source + width])
                    next += 1
                }
            }
        }
        let normalised = weights.decoderNorm(selected)
        // Sessions that take the most likely token have their steps' logits screened (``ScreenedProduct``), rows of
        // sessions with the same rules together; the others', and every prompt's, are computed in full.
        var screenedGroups: [(screening: LogitScreening, rows: [Int])] = []
        var row = 0
        for pass in passes {
            let passRows = Array(row..<row + pass.tokens.count * pass.positions.count)
            row += passRows.count
            guard let screening = pass.session.pointee.logitScreening, weights.logitScreen != nil, pass.count == 1 else { continue }
            if let group = screenedGroups.firstIndex(where: { $0.screening == screening }) {
                screenedGroups[group].rows += passRows
            } else {
                screenedGroups.append((screening, passRows))
            }
        }
        var logits = Tensor(uninitializedRows: selectedRows, columns: hyper.vocabularySize)
        let screenedRows = Set(screenedGroups.flatMap(\.rows))
        let fullRows = (0..<selectedRows).filter { !screenedRows.contains($0) }
        if !fullRows.isEmpty {
            logits.scatter(linear(weights.tokenEmbedding, normalised.gathering(rows: fullRows)), toRows: fullRows)
        }
        if let screen = weights.logitScreen {
            for (screening, rows) in screenedGroups {
                let input = normalised.gathering(rows: rows)
                var screened = Tensor(uninitializedRows: rows.count, columns: hyper.vocabularySize)
                input.storage.withUnsafeBufferPointer { x in
                    screened.storage.withUnsafeMutableBufferPointer { y in
                        for first in stride(from: 0, to: rows.count, by: MatrixVector.maximumRows) {
                            screen.apply(
                                x.baseAddress! + first * width, rows: min(MatrixVector.maximumRows, rows.count - first),
                                into: y.baseAddress! + first * hyper.vocabularySize, alwaysExact: screening.alwaysExact,
                                excluded: screening.suppressed)
                        }
                    }
                }
                logits.scatter(screened, toRows: rows)
            }
        }
        let vocabulary = hyper.vocabularySize
        next = 0
        return passes.map { pass in
            (0..<pass.tokens.count).map { _ in
                pass.positions.map { _ in
                    defer { next += 1 }
                    return Array(logits.storage[next * vocabulary..<(next + 1) * vocabulary])
                }
            }
        }
    }

    /// Calls `body` for `0..<count`, spread over threads when `parallel`.
    private static func forEach(_ count: Int, parallel: Bool, _ body: @Sendable (Int) -> Void) {
        guard parallel else {
            for index in 0..<count { body(index) }
            return
        }
        WorkerTeam.shared.forEach(count, body)
    }

    /// One pass's causal self-attention in `layer`: appends its keys and values (from the fused `qkv` rows) to each
    /// sequence's cache and attends over the cache, writing the pass's rows of `output`.
    private static func attendToCache(
        _ pass: Pass, length: Int, layer index: Int, qkv: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>,
        hyper: HyperParameters
    ) {
        let (width, heads, headWidth) = (hyper.width, hyper.heads, hyper.headWidth)
        let headStride = hyper.textPositions * headWidth
        let count = pass.count
        let total = length + count
        var scores = [Float](repeating: 0, count: count * total)
        for b in 0..<pass.tokens.count {
            let firstRow = pass.firstRow + b * count
            let base = qkv + firstRow * 3 * width
            pass.session.pointee.keyCaches[b][index].withUnsafeMutableBufferPointer { keys in
                pass.session.pointee.valueCaches[b][index].withUnsafeMutableBufferPointer { values in
                    for i in 0..<count {
                        let row = base + i * 3 * width
                        for h in 0..<heads {
                            let target = h * headStride + (length + i) * headWidth
                            (keys.baseAddress! + target).update(from: row + width + h * headWidth, count: headWidth)
                            (values.baseAddress! + target).update(from: row + 2 * width + h * headWidth, count: headWidth)
                        }
                    }
                    scores.withUnsafeMutableBufferPointer { s in
                        Attention.multiHead(
                            query: .init(base: base, rows: count, stride: 3 * width),
                            keys: .init(base: keys.baseAddress!, rows: total, stride: headWidth, headStride: headStride),
                            values: .init(base: values.baseAddress!, rows: total, stride: headWidth, headStride: headStride),
                            output: output + firstRow * width, outputStride: width,
                            heads: heads, headWidth: headWidth, causalOffset: length, scores: s.baseAddress!)
                    }
                }
            }
        }
    }

    /// One pass's cross-attention in `layer` over its session's audio, writing the pass's rows of `output`.
    ///
    /// The sequences (beams) of a pass share the audio, so all their query rows go through one call: each head's
    /// keys and values are read from memory once per step and stay in cache for the other rows. Each row is computed
    /// exactly as it would be alone.
    private static func attendToAudio(
        _ pass: Pass, layer index: Int, query: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>,
        hyper: HyperParameters, onWeights: ((_ head: Int, _ weights: UnsafePointer<Float>) -> Void)?
    ) {
        let width = hyper.width
        let memory = pass.session.pointee.crossKeyValues[index]
        var scores = [Float](repeating: 0, count: pass.rows * memory.frames)
        memory.keys.withUnsafeBufferPointer { keys in
            memory.values.withUnsafeBufferPointer { values in
                scores.withUnsafeMutableBufferPointer { s in
                    Attention.multiHead(
                        query: .init(base: query + pass.firstRow * width, rows: pass.rows, stride: width),
                        keys: memory.operand(keys.baseAddress!), values: memory.operand(values.baseAddress!),
                        output: output + pass.firstRow * width, outputStride: width,
                        heads: hyper.heads, headWidth: hyper.headWidth, scores: s.baseAddress!, onWeights: onWeights)
                }
            }
        }
    }

    /// `layer` over every row of `input`, at most `rowsPerProduct` rows per product when set.
    private static func apply(_ layer: Linear, to input: Tensor, rowsPerProduct: Int?) -> Tensor {
        guard let rowsPerProduct, input.rows > rowsPerProduct else { return layer(input) }
        var output = Tensor(rows: input.rows, columns: layer.outputs)
        input.storage.withUnsafeBufferPointer { x in
            output.storage.withUnsafeMutableBufferPointer { y in
                var row = 0
                while row < input.rows {
                    let chunk = min(rowsPerProduct, input.rows - row)
                    layer.apply(x.baseAddress! + row * layer.inputs, rows: chunk, into: y.baseAddress! + row * layer.outputs)
                    row += chunk
                }
            }
        }
        return output
    }
}

/// How a session's step logits are screened: which outputs are always exact (the special and timestamp tokens, whose
/// probabilities the decoding rules read) and which are always suppressed (never chosen, so they take no part in
/// finding the most likely token).
struct LogitScreening: Equatable {
    let alwaysExact: Range<Int>
    let suppressed: [Int]
}

extension Tensor {
    /// The given rows, in order (`indices` ascending).
    func gathering(rows indices: [Int]) -> Tensor {
        if indices.count == rows { return self }
        var result = Tensor(uninitializedRows: indices.count, columns: columns)
        for (target, source) in indices.enumerated() {
            result.storage.replaceSubrange(target * columns..<(target + 1) * columns, with: storage[source * columns..<(source + 1) * columns])
        }
        return result
    }

    /// Writes the rows of `source` to rows `indices` (ascending) of this tensor.
    mutating func scatter(_ source: Tensor, toRows indices: [Int]) {
        if indices.count == rows {
            storage = source.storage
            return
        }
        for (index, target) in indices.enumerated() {
            storage.replaceSubrange(target * columns..<(target + 1) * columns, with: source.storage[index * columns..<(index + 1) * columns])
        }
    }
}

/// One decoder layer's cross-attention keys and values over the audio, each head's block contiguous
/// (`heads × frames × headWidth`), so a query streams through one block instead of striding across all heads.
///
/// Held in half precision: every decoder step reads all of them (18 MB a step for tiny.en in `Float`, as much as the
/// layers' weights), and rounding them changes no transcript of the oracle fixtures (log-probabilities move by < 2e-4).
struct CrossAttentionMemory {
    let keys: [Float16]
    let values: [Float16]
    let frames: Int
    let headWidth: Int

    /// Splits the fused projection (`frames × 2·width`, keys then values in each row) into per-head blocks.
    init(projected: Tensor, heads: Int) {
        let width = projected.columns / 2
        let headWidth = width / heads
        let frames = projected.rows
        var keys = [Float16](repeating: 0, count: frames * width)
        var values = keys
        projected.storage.withUnsafeBufferPointer { source in
            keys.withUnsafeMutableBufferPointer { k in
                values.withUnsafeMutableBufferPointer { v in
                    for t in 0..<frames {
                        let row = source.baseAddress! + t * 2 * width
                        for h in 0..<heads {
                            let target = (h * frames + t) * headWidth
                            MatrixVector.narrow(row + h * headWidth, count: headWidth, into: k.baseAddress! + target)
                            MatrixVector.narrow(row + width + h * headWidth, count: headWidth, into: v.baseAddress! + target)
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
    func operand(_ block: UnsafePointer<Float16>) -> Attention.Operand<Float16> {
        .init(base: block, rows: frames, stride: headWidth, headStride: frames * headWidth)
    }
}
