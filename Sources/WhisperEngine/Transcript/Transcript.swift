/// The result of transcribing (or translating) one audio input.
public struct Transcript: Sendable, Equatable {
    /// The task that produced it.
    public var task: TranscriptionTask
    /// Language of the audio (ISO 639-1), given or detected.
    public var language: String
    /// Duration of the audio in seconds.
    public var duration: Double
    /// Segments in time order.
    public var segments: [Segment]
    /// Where the time went.
    public var statistics: TranscriptionStatistics
    /// What the hallucination filter removed, or `nil` when the filter was off.
    public var filtered: [FilteredText]?
    /// Each text token of the segments with its log-probability, in order (timestamps and special tokens excluded).
    public var logprobs: [TokenLogprob] = []

    /// Creates a transcript.
    public init(
        task: TranscriptionTask, language: String, duration: Double, segments: [Segment],
        statistics: TranscriptionStatistics = TranscriptionStatistics()
    ) {
        self.task = task
        self.language = language
        self.duration = duration
        self.segments = segments
        self.statistics = statistics
    }

    /// The whole text: segment texts joined, surrounding white space removed.
    public var text: String {
        segments.map(\.text).joined().trimmingWhitespace()
    }

    /// Every word of every segment, in order (empty unless word timestamps were requested).
    public var words: [Word] {
        segments.flatMap { $0.words ?? [] }
    }
}

extension Double {
    /// The time rounded to the centisecond, as transcripts report times.
    var roundedToCentiseconds: Double { (self * 100).rounded() / 100 }
}

extension String {
    /// The string without leading and trailing spaces and newlines.
    package func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}

/// Time spent in the engine's stages for one transcription.
public struct TranscriptionStatistics: Sendable, Equatable {
    /// 30 s windows encoded.
    public var encodedWindows = 0
    /// Seconds spent in the encoder (features included).
    public var encoderSeconds = 0.0
    /// Decoder forward passes over one new token per sequence.
    public var decodedTokens = 0
    /// Seconds spent decoding (decoder passes, logit rules, token choice).
    public var decoderSeconds = 0.0
    /// Decoder steps that ran in one batched pass with other transcriptions' steps.
    public var batchedSteps = 0

    /// Creates empty statistics.
    public init() {}
}
