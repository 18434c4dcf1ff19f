import Foundation
import WhisperTensor

/// The reference's logit rules, applied before each token is chosen: blank suppression at the start, suppressed
/// tokens, and the timestamp grammar (pairs, monotonic, bounded first timestamp, timestamps when they dominate).
struct LogitFilter {
    let special: SpecialTokens
    /// Always suppressed.
    let suppressed: [Int]
    /// Suppressed as the first generated token.
    let suppressedAtBegin: [Int]
    /// Apply the timestamp grammar.
    let timestamps: Bool
    /// Index of the last timestamp allowed first (`max_initial_timestamp / 0.02`), or `nil` for no limit.
    let maxInitialTimestampIndex: Int?

    /// Filters the logits for the next token after `generated` (the tokens generated so far, prompt excluded).
    func apply(_ logits: inout [Float], generated: [Int]) {
        let vocabulary = logits.count
        logits.withUnsafeMutableBufferPointer { l in
            if generated.isEmpty {
                for token in suppressedAtBegin where token < vocabulary { l[token] = -.infinity }
            }
            for token in suppressed where token < vocabulary { l[token] = -.infinity }
            guard timestamps else { return }
            let begin = special.timestampBegin
            l[special.noTimestamps] = -.infinity

            let lastWasTimestamp = generated.count >= 1 && generated[generated.count - 1] >= begin
            let penultimateWasTimestamp = generated.count < 2 || generated[generated.count - 2] >= begin
            if lastWasTimestamp {
                if penultimateWasTimestamp {
                    for t in begin..<vocabulary { l[t] = -.infinity }  // a pair is closed: text must follow
                } else {
                    for t in 0..<special.endOfText { l[t] = -.infinity }  // close the pair (or end)
                }
            }
            if let lastTimestamp = generated.last(where: { $0 >= begin }) {
                // Timestamps never decrease; a closed pair's end must be strictly later than its start.
                let limit = lastWasTimestamp && !penultimateWasTimestamp ? lastTimestamp : lastTimestamp + 1
                for t in begin..<min(limit, vocabulary) { l[t] = -.infinity }
            }
            if generated.isEmpty {
                for t in 0..<begin { l[t] = -.infinity }  // start with a timestamp
                if let maxInitialTimestampIndex {
                    let lastAllowed = begin + maxInitialTimestampIndex
                    if lastAllowed + 1 < vocabulary {
                        for t in (lastAllowed + 1)..<vocabulary { l[t] = -.infinity }
                    }
                }
            }
            // When the timestamps together are more likely than any text token, force a timestamp.
            let base = l.baseAddress!
            let logTotal = Activations.logSumExp(base, count: vocabulary)
            guard logTotal > -.infinity, begin < vocabulary else { return }
            let timestampLogProbability = Activations.logSumExp(base + begin, count: vocabulary - begin) - logTotal
            let textMax = Activations.maximum(base, count: begin)
            if timestampLogProbability > textMax - logTotal {
                for t in 0..<begin { l[t] = -.infinity }
            }
        }
    }
}
