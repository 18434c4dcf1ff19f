import Foundation

/// The response formats of OpenAI's audio API, rendered from a ``Transcript``.
public enum TranscriptFormat: String, Sendable, CaseIterable, Codable {
    /// `{"text": "…"}`, with `logprobs` when asked for
    case json
    /// The plain text and a newline.
    case text
    /// SubRip subtitles.
    case srt
    /// `{"task","language","duration","text","segments","words","usage"}`, plus `filtered` when the hallucination
    /// filter ran
    case verboseJSON = "verbose_json"
    /// WebVTT subtitles.
    case vtt

    /// The `Content-Type` OpenAI answers with for this format.
    public var contentType: String {
        switch self {
        case .json, .verboseJSON: "application/json"
        case .text: "text/plain; charset=utf-8"
        case .srt: "application/x-subrip"
        case .vtt: "text/vtt"
        }
    }

    /// Which timed parts `verbose_json` includes (OpenAI's `timestamp_granularities[]`).
    public struct Granularities: OptionSet, Sendable, Hashable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        /// `segments[]`
        public static let segment = Granularities(rawValue: 1)
        /// `words[]`
        public static let word = Granularities(rawValue: 2)
    }

    /// Renders a transcript in this format.
    /// - Parameters:
    ///   - transcript: the result to render.
    ///   - granularities: parts of `verbose_json` to include; ignored by the other formats.
    ///   - includeLogprobs: add each text token's log-probability to `json` (OpenAI's `include[]=logprobs`).
    /// - Returns: the response body as text.
    public func render(_ transcript: Transcript, granularities: Granularities = .segment, includeLogprobs: Bool = false) -> String {
        switch self {
        case .json:
            return Self.encode(PlainTranscription(text: transcript.text, logprobs: includeLogprobs ? transcript.logprobs : nil))
        case .text:
            return transcript.text + "\n"
        case .verboseJSON:
            return Self.encode(VerboseTranscription(transcript, granularities: granularities))
        case .srt:
            return transcript.segments.enumerated().map { index, segment in
                "\(index + 1)\n\(Self.timestamp(segment.start, separator: ",")) --> "
                    + "\(Self.timestamp(segment.end, separator: ","))\n\(segment.text.trimmingWhitespace())\n"
            }.joined(separator: "\n")
        case .vtt:
            return "WEBVTT\n\n" + transcript.segments.map { segment in
                "\(Self.timestamp(segment.start, separator: ".")) --> "
                    + "\(Self.timestamp(segment.end, separator: "."))\n\(segment.text.trimmingWhitespace())\n"
            }.joined(separator: "\n")
        }
    }

    /// `HH:MM:SS,mmm` (SRT) or `HH:MM:SS.mmm` (WebVTT).
    static func timestamp(_ seconds: Double, separator: String) -> String {
        let millis = Int((max(0, seconds) * 1000).rounded())
        let hours = millis / 3_600_000
        let minutes = millis / 60_000 % 60
        let secs = millis / 1000 % 60
        return String(format: "%02d:%02d:%02d%@%03d", hours, minutes, secs, separator, millis % 1000)
    }

    static func encode(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        // Encoding these plain value types cannot fail.
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}

/// OpenAI's `json` body.
struct PlainTranscription: Encodable {
    let text: String
    let logprobs: [TokenLogprob]?
}

/// OpenAI's `verbose_json` body.
struct VerboseTranscription: Encodable {
    struct Usage: Encodable {
        let type = "duration"
        let seconds: Int
    }

    let task: TranscriptionTask
    let language: String
    let duration: Double
    let text: String
    let segments: [Segment]?
    let words: [Word]?
    let usage: Usage
    let filtered: [FilteredText]?

    init(_ transcript: Transcript, granularities: TranscriptFormat.Granularities) {
        task = transcript.task
        language = Languages.name(of: transcript.language) ?? transcript.language
        duration = (transcript.duration * 1000).rounded() / 1000
        text = transcript.text
        segments = granularities.contains(.segment) || granularities.isEmpty ? transcript.segments : nil
        words = granularities.contains(.word) ? transcript.words : nil
        usage = Usage(seconds: Int(transcript.duration.rounded(.up)))
        filtered = transcript.filtered
    }
}
