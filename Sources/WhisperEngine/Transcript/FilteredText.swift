/// Text the hallucination filter took out of a transcript, with where it was and why.
public struct FilteredText: Sendable, Equatable, Codable {
    /// Why text was removed.
    public struct Reason: RawRepresentable, Sendable, Hashable, Codable {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        /// A phrase repeated over and over inside a segment (a decoding loop); the first occurrence is kept.
        public static let repetition = Reason(rawValue: "repetition")
        /// A segment with the same text as the one before it.
        public static let repeatedSegment = Reason(rawValue: "repeated_segment")
        /// A phrase Whisper is known to invent on silence, music or noise ("Thank you for watching"), decoded with
        /// little confidence.
        public static let silenceHallucination = Reason(rawValue: "silence_hallucination")
    }

    /// Start, in seconds from the beginning of the audio.
    public var start: Double
    /// End, in seconds.
    public var end: Double
    /// The removed text.
    public var text: String
    /// Why it was removed.
    public var reason: Reason

    /// Creates a record of removed text.
    public init(start: Double, end: Double, text: String, reason: Reason) {
        self.start = start
        self.end = end
        self.text = text
        self.reason = reason
    }
}
