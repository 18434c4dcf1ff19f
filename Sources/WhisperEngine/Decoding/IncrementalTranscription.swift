/// Live transcription of one growing turn of speech: audio is appended as it arrives, a pass re-transcribes the current
/// window now and then, and only text that two consecutive passes agree on is released (``LocalAgreement``).
///
/// The released text is append-only: each call returns a delta, and the deltas of a turn concatenate exactly to
/// ``text``, the turn's transcript. A turn longer than ``maxWindowSeconds`` rolls its window forward past segments
/// whose words are all committed, so no word is lost or repeated, and the committed text becomes the next window's
/// prompt. The type is pure: the caller runs the passes (on the scheduler) with ``WhisperModel/transcribe(_:options:isCancelled:onSegment:)``.
///
/// ```swift
/// var live = IncrementalTranscription()
/// live.append(samples)                                   // 16 kHz mono, as it arrives
/// let pass = live.nextPass()
/// let delta = live.accept(try model.transcribe(pass.samples, options: pass.options(base)), of: pass).text
/// …
/// let last = live.finish(try model.transcribe(final.samples, options: final.options(base)), of: final)
/// ```
public struct IncrementalTranscription: Sendable {
    /// One pass to run: the window's samples and the prompt that carries the text before the window.
    public struct Pass: Sendable, Equatable {
        /// 16 kHz mono samples from the window's start to the end of the audio so far.
        public var samples: [Float]
        /// The caller's prompt followed by the end of the text committed before this window, or `nil`.
        public var prompt: String?
        /// Index of the window's first sample in the turn.
        public var windowStart: Int
        /// Index one past the window's last sample in the turn.
        public var end: Int

        /// `options` with this pass's prompt.
        public func options(_ options: TranscriptionOptions) -> TranscriptionOptions {
            var options = options
            options.initialPrompt = prompt
            return options
        }
    }

    /// Text released by one call, with the log-probabilities of the tokens that wrote it.
    public struct Delta: Sendable, Equatable {
        /// The text to append (the turn's first delta has no leading space).
        public var text: String
        /// Each token of the released words with its log-probability, in order.
        public var logprobs: [TokenLogprob]

        /// Whether nothing was released.
        public var isEmpty: Bool { text.isEmpty }
    }

    /// Samples per second of the audio.
    public static let sampleRate = LogMelSpectrogram.sampleRate

    /// Window length after which the window moves past fully committed segments.
    public let maxWindowSeconds: Double
    /// Window length at which the window moves on even without agreement, committing all but the last segment
    /// (or everything, when the pass produced one segment), so that a window stays within one encoder input.
    public let hardWindowSeconds: Double
    /// The caller's prompt (vocabulary, spelling), put before the committed text in every pass.
    public let prompt: String?

    /// The turn's audio from ``audioStart`` on (older audio is no longer needed).
    private var audio: [Float] = []
    /// Index in the turn of `audio[0]`.
    private var audioStart = 0
    /// Index in the turn of the current window's first sample.
    public private(set) var windowStart = 0
    private var agreement = LocalAgreement()
    /// Everything released so far: the concatenation of every delta returned.
    public private(set) var text = ""
    /// The log-probabilities of every token released so far, in order.
    public private(set) var logprobs: [TokenLogprob] = []
    /// The last committed words before the window, the prompt of its passes (never the window's own words, which
    /// the model would then take as already said).
    private var contextWords: [String] = []

    /// Creates an empty turn.
    /// - Parameters:
    ///   - prompt: the caller's prompt, or `nil`.
    ///   - maxWindowSeconds: window length after which committed segments leave the window.
    ///   - hardWindowSeconds: window length at which the window moves on without agreement; keep it under 30 s.
    public init(prompt: String? = nil, maxWindowSeconds: Double = 20, hardWindowSeconds: Double = 27) {
        self.prompt = prompt.flatMap { $0.isEmpty ? nil : $0 }
        self.maxWindowSeconds = maxWindowSeconds
        self.hardWindowSeconds = max(hardWindowSeconds, maxWindowSeconds)
    }

    /// Samples appended since the turn began.
    public var sampleCount: Int { audioStart + audio.count }

    /// Appends 16 kHz mono samples.
    public mutating func append(_ samples: [Float]) {
        audio.append(contentsOf: samples)
    }

    /// The pass to run now: the current window up to the end of the audio so far.
    public func nextPass() -> Pass {
        let committedTail = contextWords.joined().trimmingWhitespace()
        let parts = [prompt, committedTail.isEmpty ? nil : committedTail].compactMap { $0 }
        return Pass(
            samples: Array(audio[(windowStart - audioStart)...]), prompt: parts.isEmpty ? nil : parts.joined(separator: " "),
            windowStart: windowStart, end: sampleCount)
    }

    /// Records the transcript of an intermediate pass and returns the text that became stable (often empty).
    /// - Parameters:
    ///   - transcript: the pass's transcript (times relative to the window).
    ///   - pass: the pass it answers; a pass made before the window last moved is ignored.
    /// - Returns: the delta to send.
    public mutating func accept(_ transcript: Transcript, of pass: Pass) -> Delta {
        guard pass.windowStart == windowStart else { return Delta(text: "", logprobs: []) }
        let (words, wordLogprobs, segmentWordCounts) = Self.words(of: transcript)
        let committedBefore = agreement.committed.count
        var released = agreement.update(with: words)
        var releasedLogprobs = wordLogprobs[committedBefore..<(committedBefore + released.count)].flatMap { $0 }
        let windowSeconds = Double(pass.end - windowStart) / Double(Self.sampleRate)
        if windowSeconds > maxWindowSeconds {
            let forcedFrom = agreement.committed.count
            let forced = rollWindow(
                transcript: transcript, words: words, segmentWordCounts: segmentWordCounts, pass: pass, force: windowSeconds >= hardWindowSeconds)
            released += forced
            releasedLogprobs += wordLogprobs[forcedFrom..<(forcedFrom + forced.count)].flatMap { $0 }
        }
        return release(released, logprobs: releasedLogprobs)
    }

    /// Records the transcript of the final pass, made on ``nextPass()`` after the last audio of the turn, and returns
    /// the rest of the turn's text: the final pass's words after those already committed.
    public mutating func finish(_ transcript: Transcript, of pass: Pass) -> Delta {
        guard pass.windowStart == windowStart else { return Delta(text: "", logprobs: []) }
        let (words, wordLogprobs, _) = Self.words(of: transcript)
        let committed = agreement.committed
        var start = min(committed.count, words.count)
        if !LocalAgreement.startsWith(words, committed), let last = committed.last {
            // The final pass wrote the committed part differently: continue after its copy of the last committed
            // word nearest to where it should be, or after as many words as were committed.
            let lower = max(1, committed.count - 3)
            let upper = min(words.count, committed.count + 3)
            let candidates = lower <= upper ? (lower...upper).filter { LocalAgreement.same(words[$0 - 1], last) } : []
            if let best = candidates.min(by: { abs($0 - committed.count) < abs($1 - committed.count) }) { start = best }
        }
        let rest = Array(words[start...])
        agreement.force(rest)
        return release(rest, logprobs: wordLogprobs[start...].flatMap { $0 })
    }

    /// Drops up to `count` samples from the start of the window, for a session that fell too far behind real time.
    /// The text they held is lost (what was already released stays released); the window starts afresh after them.
    /// - Returns: the number of samples dropped.
    public mutating func dropOldest(_ count: Int) -> Int {
        let dropped = max(0, min(count, sampleCount - windowStart))
        guard dropped > 0 else { return 0 }
        moveWindow(to: windowStart + dropped, droppingCommitted: agreement.committed.count)
        return dropped
    }

    /// Words of a transcript (each with its leading space), the log-probabilities of each word's tokens, and how many
    /// words each segment holds.
    static func words(of transcript: Transcript) -> (words: [String], logprobs: [[TokenLogprob]], segmentWordCounts: [Int]) {
        var words: [String] = []
        var counts: [Int] = []
        for segment in transcript.segments {
            let pieces = splitWords(segment.text)
            words += pieces
            counts.append(pieces.count)
        }
        return (words, tokenLogprobs(of: words, tokens: transcript.logprobs), counts)
    }

    /// Gives each token to the word its first byte falls in (the words and the tokens spell the same UTF-8 text).
    static func tokenLogprobs(of words: [String], tokens: [TokenLogprob]) -> [[TokenLogprob]] {
        var result = [[TokenLogprob]](repeating: [], count: words.count)
        guard !words.isEmpty else { return result }
        var starts: [Int] = []
        var offset = 0
        for word in words {
            starts.append(offset)
            offset += word.utf8.count
        }
        var tokenOffset = 0
        var index = 0
        for token in tokens {
            while index + 1 < words.count, starts[index + 1] <= tokenOffset { index += 1 }
            result[index].append(token)
            tokenOffset += token.bytes.count
        }
        return result
    }

    /// Splits text into words, each keeping the white space before it.
    static func splitWords(_ text: String) -> [String] {
        var words: [String] = []
        var current = ""
        var seenNonSpace = false
        for character in text {
            if character.isWhitespace {
                if seenNonSpace {
                    words.append(current)
                    current = ""
                    seenNonSpace = false
                }
                current.append(character)
            } else {
                current.append(character)
                seenNonSpace = true
            }
        }
        if seenNonSpace { words.append(current) }
        return words
    }

    /// Moves the window past the segments whose words are all committed; when `force`, commits all but the last
    /// segment first (or every word, when there is one segment) so that the window moves in any case.
    /// - Returns: the words committed by force.
    private mutating func rollWindow(transcript: Transcript, words: [String], segmentWordCounts: [Int], pass: Pass, force: Bool) -> [String] {
        var forced: [String] = []
        var covered = 0
        var lastCovered: (segment: Int, words: Int)?
        for (index, count) in segmentWordCounts.enumerated() {
            covered += count
            if covered <= agreement.committed.count, transcript.segments[index].end > 0 { lastCovered = (index, covered) }
        }
        if lastCovered == nil && force {
            if segmentWordCounts.count > 1 {
                let keep = segmentWordCounts.dropLast().reduce(0, +)
                if keep > agreement.committed.count {
                    forced = Array(words[agreement.committed.count..<keep])
                    agreement.force(forced)
                }
                lastCovered = (segmentWordCounts.count - 2, keep)
            } else {
                forced = Array(words[min(agreement.committed.count, words.count)...])
                agreement.force(forced)
                moveWindow(to: pass.end, droppingCommitted: agreement.committed.count)
                return forced
            }
        }
        if let (segment, count) = lastCovered {
            let end = transcript.segments[segment].end
            let newStart = min(pass.end, pass.windowStart + Int((end * Double(Self.sampleRate)).rounded()))
            moveWindow(to: newStart, droppingCommitted: count)
        }
        return forced
    }

    private mutating func moveWindow(to newStart: Int, droppingCommitted count: Int) {
        guard newStart > windowStart else { return }
        windowStart = newStart
        contextWords = Array((contextWords + agreement.committed.prefix(count)).suffix(Self.promptWords))
        agreement.dropCommitted(count)
        audio.removeFirst(windowStart - audioStart)
        audioStart = windowStart
    }

    /// Appends released words to ``text`` and returns them as one delta (the turn's first word without its space).
    private mutating func release(_ words: [String], logprobs released: [TokenLogprob]) -> Delta {
        var delta = words.joined()
        if text.isEmpty {
            delta = String(delta.drop(while: \.isWhitespace))
        }
        text += delta
        logprobs += released
        return Delta(text: delta, logprobs: released)
    }

    /// Words of committed text carried into the next window's prompt.
    static let promptWords = 100
}
