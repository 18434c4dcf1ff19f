/// Why a model could not be loaded.
public struct ModelLoadingError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public enum Kind: String, Sendable {
        /// A required file is missing or unreadable.
        case missingFile
        /// A file is truncated or malformed.
        case corrupt
        /// The file is valid but uses a version, data type or architecture this engine does not support.
        case unsupported
    }

    /// What went wrong.
    public let kind: Kind
    /// The file's name (never its full path) and the problem.
    public let message: String

    /// Creates an error.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// Why a transcription did not complete.
public struct TranscriptionError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public enum Kind: String, Sendable {
        /// The caller cancelled the work (client gone, deadline passed).
        case cancelled
        /// The options do not fit this model (e.g. translation with an English-only model).
        case invalidOptions
    }

    /// What went wrong.
    public let kind: Kind
    /// A message fit to show to the client.
    public let message: String
    /// The request parameter at fault, if any (e.g. `"language"`).
    public let parameter: String?

    /// Creates an error.
    public init(_ kind: Kind, _ message: String, parameter: String? = nil) {
        self.kind = kind
        self.message = message
        self.parameter = parameter
    }

    public var description: String { message }
}
