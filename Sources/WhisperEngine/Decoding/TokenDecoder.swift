import Foundation
import WhisperTensor

/// One decoded hypothesis for a window.
struct DecodingResult {
    /// Generated tokens, end-of-text excluded.
    var tokens: [Int]
    /// Log-probability of each generated token when it was chosen (after the logit rules), parallel to `tokens`.
    var tokenLogprobs: [Float]
    /// Sum of the tokens' log-probabilities, end-of-text included.
    var sumLogprob: Double
    /// Probability of the no-speech token at the start-of-transcript position.
    var noSpeechProbability: Double
    /// Decoder steps that ran in one pass with other transcriptions' steps.
    var batchedSteps = 0

    /// The reference's average: `sum / (count + 1)`, the end-of-text token counted.
    var averageLogprob: Double { sumLogprob / Double(tokens.count + 1) }
}

/// Chooses tokens for one window: greedy, beam search, or best-of sampling.
///
/// The prompt runs holding the model's ``ComputeGate``; each later step goes through it, batched with other
/// transcriptions' steps.
struct TokenDecoder {
    let weights: ModelWeights
    let gate: ComputeGate
    /// Identifies the model, so steps are batched only with sessions of the same weights.
    let model: ObjectIdentifier
    let special: SpecialTokens
    let filter: LogitFilter
    let beamSize: Int
    let bestOf: Int
    let patience: Float
    let lengthPenalty: Float?

    /// Decodes after `prompt` (which contains start-of-transcript) at `temperature`.
    func decode(
        audio: Tensor, prompt: [Int], temperature: Float, random: inout SplitMix64, isCancelled: () -> Bool
    ) throws(TranscriptionError) -> DecodingResult {
        let sotIndex = prompt.lastIndex(of: special.startOfTranscript) ?? 0
        var first: [[Float]] = []
        var session = try gate.exclusive(.prompt, isCancelled: isCancelled) {
            var session = DecoderSession(weights: weights, audio: audio)
            first = session.forward([prompt], logitsAt: [sotIndex, prompt.count - 1])[0]
            return session
        }
        let noSpeech = Self.probability(of: special.noSpeech, in: first[0])
        let maxTokens = weights.hyper.textPositions - prompt.count
        var result = try gate.decoding(model: model) { () throws(TranscriptionError) in
            if temperature > 0 {
                return try sample(
                    session: &session, logits: first[1], temperature: temperature, maxTokens: maxTokens, random: &random,
                    isCancelled: isCancelled)
            } else if beamSize > 1 {
                return try beamSearch(session: &session, logits: first[1], maxTokens: maxTokens, isCancelled: isCancelled)
            } else {
                return try greedy(session: &session, logits: first[1], maxTokens: maxTokens, isCancelled: isCancelled)
            }
        }
        result.noSpeechProbability = noSpeech
        return result
    }

    private func greedy(
        session: inout DecoderSession, logits initial: [Float], maxTokens: Int, isCancelled: () -> Bool
    ) throws(TranscriptionError) -> DecodingResult {
        var logits = initial
        var tokens: [Int] = []
        var logprobs: [Float] = []
        var sum: Double = 0
        var batchedSteps = 0
        // The most likely token is all a step needs exactly; special and timestamp tokens stay exact for the rules.
        session.logitScreening = LogitScreening(
            alwaysExact: special.endOfText..<weights.hyper.vocabularySize, suppressed: filter.suppressed)
        while true {
            filter.apply(&logits, generated: tokens)
            let token = Self.argmax(logits)
            let logprob = logits[token] - Self.logNormaliser(logits)
            sum += Double(logprob)
            if token != special.endOfText {
                tokens.append(token)
                logprobs.append(logprob)
            }
            if token == special.endOfText || tokens.count >= maxTokens { break }
            if isCancelled() { throw TranscriptionError(.cancelled, "transcription cancelled") }
            logits = try step(&session, [token], batchedSteps: &batchedSteps, isCancelled: isCancelled)[0]
        }
        return DecodingResult(
            tokens: tokens, tokenLogprobs: logprobs, sumLogprob: sum, noSpeechProbability: 0, batchedSteps: batchedSteps)
    }

    private func sample(
        session: inout DecoderSession, logits initial: [Float], temperature: Float, maxTokens: Int, random: inout SplitMix64,
        isCancelled: () -> Bool
    ) throws(TranscriptionError) -> DecodingResult {
        let count = max(1, bestOf)
        session.fork(into: count)
        var logits = Array(repeating: initial, count: count)
        var sequences = Array(repeating: [Int](), count: count)
        var logprobs = Array(repeating: [Float](), count: count)
        var sums = Array(repeating: 0.0, count: count)
        var finished = Array(repeating: false, count: count)
        var batchedSteps = 0
        while !finished.allSatisfy({ $0 }) {
            var next: [Int] = []
            for i in 0..<count {
                if finished[i] {
                    next.append(special.endOfText)
                    continue
                }
                filter.apply(&logits[i], generated: sequences[i])
                let token = Self.sample(logits[i], temperature: temperature, random: &random)
                let logprob = logits[i][token] - Self.logNormaliser(logits[i])
                sums[i] += Double(logprob)
                if token != special.endOfText {
                    sequences[i].append(token)
                    logprobs[i].append(logprob)
                }
                if token == special.endOfText || sequences[i].count >= maxTokens { finished[i] = true }
                next.append(token)
            }
            if finished.allSatisfy({ $0 }) { break }
            if isCancelled() { throw TranscriptionError(.cancelled, "transcription cancelled") }
            logits = try step(&session, next, batchedSteps: &batchedSteps, isCancelled: isCancelled)
        }
        let best = (0..<count).max { score(sums[$0], length: sequences[$0].count) < score(sums[$1], length: sequences[$1].count) }!
        return DecodingResult(
            tokens: sequences[best], tokenLogprobs: logprobs[best], sumLogprob: sums[best], noSpeechProbability: 0,
            batchedSteps: batchedSteps)
    }

    private func beamSearch(
        session: inout DecoderSession, logits initial: [Float], maxTokens: Int, isCancelled: () -> Bool
    ) throws(TranscriptionError) -> DecodingResult {
        let maxCandidates = max(1, Int((Float(beamSize) * patience).rounded()))
        var beams: [(tokens: [Int], logprobs: [Float], sum: Double)] = [([], [], 0)]
        var logits = [initial]
        var finished: [(tokens: [Int], logprobs: [Float], sum: Double)] = []
        var batchedSteps = 0
        while true {
            var candidates: [(tokens: [Int], logprobs: [Float], sum: Double, source: Int)] = []
            var seen = Set<[Int]>()
            for (index, beam) in beams.enumerated() {
                filter.apply(&logits[index], generated: beam.tokens)
                let normaliser = Self.logNormaliser(logits[index])
                for token in Self.topK(logits[index], beamSize + 1) {
                    let sequence = beam.tokens + [token]
                    guard seen.insert(sequence).inserted else { continue }
                    let logprob = logits[index][token] - normaliser
                    candidates.append((sequence, beam.logprobs + [logprob], beam.sum + Double(logprob), index))
                }
            }
            candidates.sort { $0.sum > $1.sum }
            var next: [(tokens: [Int], logprobs: [Float], sum: Double)] = []
            var sources: [Int] = []
            var newlyFinished: [(tokens: [Int], logprobs: [Float], sum: Double)] = []
            for candidate in candidates {
                if candidate.tokens.last == special.endOfText {
                    newlyFinished.append((Array(candidate.tokens.dropLast()), Array(candidate.logprobs.dropLast()), candidate.sum))
                } else {
                    next.append((candidate.tokens, candidate.logprobs, candidate.sum))
                    sources.append(candidate.source)
                    if next.count == beamSize { break }
                }
            }
            for hypothesis in newlyFinished where finished.count < maxCandidates { finished.append(hypothesis) }
            let exhausted = (next.first?.tokens.count ?? maxTokens) >= maxTokens
            if finished.count >= maxCandidates || next.isEmpty || exhausted {
                if finished.count < beamSize {
                    for beam in next where finished.count < beamSize { finished.append(beam) }
                }
                break
            }
            if isCancelled() { throw TranscriptionError(.cancelled, "transcription cancelled") }
            session.reorder(sources)
            beams = next
            logits = try step(&session, beams.map { $0.tokens.last! }, batchedSteps: &batchedSteps, isCancelled: isCancelled)
        }
        let best = finished.max { score($0.sum, length: $0.tokens.count) < score($1.sum, length: $1.tokens.count) }!
        return DecodingResult(
            tokens: best.tokens, tokenLogprobs: best.logprobs, sumLogprob: best.sum, noSpeechProbability: 0,
            batchedSteps: batchedSteps)
    }

    /// One token per sequence through the gate; counts the step in `batchedSteps` when it shared its pass.
    private func step(
        _ session: inout DecoderSession, _ tokens: [Int], batchedSteps: inout Int, isCancelled: () -> Bool
    ) throws(TranscriptionError) -> [[Float]] {
        let result = try gate.step(&session, tokens: tokens, model: model, isCancelled: isCancelled)
        if result.batched { batchedSteps += 1 }
        return result.logits
    }

    /// Ranking score: log-probability divided by length, or by the length penalty `((5 + n) / 6)^α`.
    private func score(_ sum: Double, length: Int) -> Double {
        let n = Double(max(length, 1))
        if let lengthPenalty { return sum / pow((5 + n) / 6, Double(lengthPenalty)) }
        return sum / n
    }

    /// The first token of the highest logit (the highest log-probability too).
    static func argmax(_ values: [Float]) -> Int {
        values.withUnsafeBufferPointer { Activations.argmax($0.baseAddress!, count: $0.count) }
    }

    /// The log of the softmax normaliser of `logits`: a token's log-probability is its logit minus it. Computed
    /// instead of the whole log-softmax row, of which a step reads one to six values.
    static func logNormaliser(_ logits: [Float]) -> Float {
        logits.withUnsafeBufferPointer { Activations.logSumExp($0.baseAddress!, count: $0.count) }
    }

    static func topK(_ values: [Float], _ k: Int) -> [Int] {
        var top: [(Int, Float)] = []
        for (i, v) in values.enumerated() where v > -.infinity {
            if top.count < k {
                top.append((i, v))
                top.sort { $0.1 > $1.1 }
            } else if v > top[k - 1].1 {
                top[k - 1] = (i, v)
                top.sort { $0.1 > $1.1 }
            }
        }
        return top.map(\.0)
    }

    static func probability(of token: Int, in logits: [Float]) -> Double {
        var maximum = -Float.infinity
        for v in logits where v > maximum { maximum = v }
        var sum: Double = 0
        for v in logits { sum += Double(expf(v - maximum)) }
        return Double(expf(logits[token] - maximum)) / sum
    }

    static func sample(_ logits: [Float], temperature: Float, random: inout SplitMix64) -> Int {
        var maximum = -Float.infinity
        for v in logits where v > maximum { maximum = v }
        let weights = logits.map { Double(expf(($0 - maximum) / temperature)) }
        let total = weights.reduce(0, +)
        var target = random.nextUnit() * total
        for i in weights.indices {
            target -= weights[i]
            if target <= 0 { return i }
        }
        return argmax(logits)
    }
}

/// A small, seedable random number generator (SplitMix64), so sampled decodes are reproducible.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform value in [0, 1).
    mutating func nextUnit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
