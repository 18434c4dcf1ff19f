/// Why audio could not be decoded. ``kind`` is what callers branch on (the server maps it to an HTTP status);
/// ``message`` is for people and never contains a file path.
public struct AudioDecodingError: Error, Sendable, CustomStringConvertible {
    /// The category of a decoding failure.
    public enum Kind: String, Sendable {
        /// The input has no bytes.
        case empty
        /// The content is not a supported audio or video container, or its codec cannot be decoded.
        case unsupportedFormat
        /// The container was recognised but its data is damaged or truncated.
        case corrupt
        /// The container holds no audio stream.
        case noAudioStream
        /// The input has more bytes than ``AudioLimits/maxInputBytes``.
        case tooLarge
        /// The decoded audio is longer than ``AudioLimits/maxDuration``.
        case tooLong
        /// The decoded audio is shorter than ``AudioLimits/minDuration``.
        case tooShort
        /// Decoding took longer than ``AudioLimits/decodeTimeout``.
        case timedOut
    }

    /// The category of the failure.
    public let kind: Kind
    /// A human-readable explanation, possibly quoting FFmpeg's error text.
    public let message: String

    /// `"<kind>: <message>"`.
    public var description: String { "\(kind.rawValue): \(message)" }

    private init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    static let empty = AudioDecodingError(.empty, "the audio input is empty")

    static func unsupportedFormat(_ message: String) -> AudioDecodingError { AudioDecodingError(.unsupportedFormat, message) }
    static func corrupt(_ message: String) -> AudioDecodingError { AudioDecodingError(.corrupt, message) }
    static func noAudioStream(_ message: String) -> AudioDecodingError { AudioDecodingError(.noAudioStream, message) }

    static func tooLarge(limit: Int) -> AudioDecodingError {
        AudioDecodingError(.tooLarge, "the audio input is larger than the limit of \(limit) bytes")
    }

    static func tooLong(limit: Double) -> AudioDecodingError {
        AudioDecodingError(.tooLong, "the audio is longer than the limit of \(limit) seconds")
    }

    static func tooShort(duration: Double, limit: Double) -> AudioDecodingError {
        AudioDecodingError(.tooShort, "the audio lasts \(duration) seconds, less than the minimum of \(limit) seconds")
    }

    static func timedOut(limit: Double) -> AudioDecodingError {
        AudioDecodingError(.timedOut, "decoding took longer than the limit of \(limit) seconds")
    }
}
