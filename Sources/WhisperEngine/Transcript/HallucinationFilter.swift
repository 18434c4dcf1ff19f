/// Removes what Whisper is known to invent and says what it removed: phrases looping inside a segment, a segment
/// repeating the one before it, and stock phrases ("Thank you for watching") decoded with little confidence.
struct HallucinationFilter {
    /// Longest repeated phrase looked for, in tokens.
    static let maxPeriod = 16
    /// Consecutive occurrences that make a loop: single tokens must repeat more often than phrases.
    static func minRepeats(period: Int) -> Int { period == 1 ? 6 : period == 2 ? 4 : 3 }
    /// Fewest words a segment needs for an exact repeat of the previous segment to count as a loop.
    static let minRepeatedSegmentWords = 3
    /// A stock phrase is removed only when the window looked like no speech or was decoded this unsurely.
    static let stockPhraseNoSpeech = 0.3
    static let stockPhraseLogprob = -0.7
    /// Phrases Whisper writes on silence, music and noise (lower case, letters, digits and spaces only).
    static let stockPhrases: Set<String> = [
        "thank you", "thank you very much", "thanks for watching", "thank you for watching", "thank you so much for watching",
        "thanks for watching and see you next time", "please subscribe", "like and subscribe", "subscribe to my channel",
        "please like and subscribe", "subtitles by the amaraorg community", "transcription by castingwords", "you", "bye",
        "music", "applause", "silence", "so", "oh",
    ]

    let tokenizer: Tokenizer
    let special: SpecialTokens

    /// The segment without its loops, or `nil` when all of it is a hallucination, and what was removed.
    /// - Parameters:
    ///   - segment: a new segment.
    ///   - previous: the last segment kept before it.
    func filter(_ segment: Segment, after previous: Segment?) -> (segment: Segment?, removed: [FilteredText]) {
        var segment = segment
        let removed = removeLoops(from: &segment)
        let key = Self.normalized(segment.text)
        if key.isEmpty { return (nil, removed) }
        if let previous, Self.normalized(previous.text) == key, key.split(separator: " ").count >= Self.minRepeatedSegmentWords {
            return (nil, removed + [FilteredText(start: segment.start, end: segment.end, text: segment.text, reason: .repeatedSegment)])
        }
        if Self.stockPhrases.contains(key) && (segment.noSpeechProb > Self.stockPhraseNoSpeech || segment.avgLogprob < Self.stockPhraseLogprob) {
            return (nil, removed + [FilteredText(start: segment.start, end: segment.end, text: segment.text, reason: .silenceHallucination)])
        }
        return (segment, removed)
    }

    /// Cuts every loop in the segment's text tokens down to its first occurrence (a partial repeat at the end goes
    /// too), and trims its text, token log-probabilities and words to match.
    func removeLoops(from segment: inout Segment) -> [FilteredText] {
        let text = segment.tokens.indices.filter { segment.tokens[$0] < special.endOfText }
        var keep = Array(repeating: true, count: text.count)
        var removedRuns: [Range<Int>] = []
        let tokens = text.map { segment.tokens[$0] }
        var i = 0
        while i < tokens.count {
            var found: Range<Int>?
            for period in 1...Self.maxPeriod where i + period * Self.minRepeats(period: period) <= tokens.count {
                var end = i + period
                while end + period <= tokens.count && tokens[(end)..<(end + period)] == tokens[i..<(i + period)] { end += period }
                guard (end - i) / period >= Self.minRepeats(period: period) else { continue }
                var tail = end
                while tail < tokens.count && tail - end < period && tokens[tail] == tokens[i + tail - end] { tail += 1 }
                if tail == tokens.count { end = tail }
                found = (i + period)..<end
                break
            }
            if let run = found {
                for j in run { keep[j] = false }
                removedRuns.append(run)
                i = run.upperBound
            } else {
                i += 1
            }
        }
        guard !removedRuns.isEmpty else { return [] }
        let duration = segment.end - segment.start
        let reports = removedRuns.map { run in
            FilteredText(
                start: (segment.start + duration * Double(run.lowerBound) / Double(tokens.count)).roundedToCentiseconds,
                end: (segment.start + duration * Double(run.upperBound) / Double(tokens.count)).roundedToCentiseconds,
                text: tokenizer.decode(run.map { tokens[$0] }), reason: .repetition)
        }
        let droppedPositions = Set(text.indices.filter { !keep[$0] }.map { text[$0] })
        let keptPositions = segment.tokens.indices.filter { !droppedPositions.contains($0) }
        if segment.tokenLogprobs.count == segment.tokens.count {
            segment.tokenLogprobs = keptPositions.map { segment.tokenLogprobs[$0] }
        }
        segment.tokens = keptPositions.map { segment.tokens[$0] }
        segment.text = tokenizer.decode(segment.tokens.filter { $0 < special.endOfText })
        if let words = segment.words {
            var length = 0
            let limit = segment.text.count
            segment.words = Array(
                words.prefix { word in
                    length += word.word.count
                    return length <= limit
                })
            if let last = segment.words?.last { segment.end = max(last.end, segment.start) }
        }
        return reports
    }

    /// Lower case, letters, digits and single spaces only.
    static func normalized(_ text: String) -> String {
        let kept = text.lowercased().unicodeScalars.filter { $0.properties.isAlphabetic || $0.properties.numericType != nil || $0 == " " }
        return String(String.UnicodeScalarView(kept)).split(separator: " ").joined(separator: " ")
    }
}
