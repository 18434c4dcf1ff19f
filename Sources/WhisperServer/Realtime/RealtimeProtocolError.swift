/// Why a client event was refused: becomes an `error` server event (OpenAI's `type`, `code`, `message`, `param` and
/// the offending client event's `event_id`); the session keeps going.
public struct RealtimeProtocolError: Error, Sendable, Equatable {
    /// OpenAI's error type, `invalid_request_error` for everything the client can fix.
    public var type: String
    /// A machine-readable code.
    public var code: String
    /// What went wrong, for people.
    public var message: String
    /// The field at fault, if any.
    public var param: String?

    /// Creates an error.
    public init(type: String = "invalid_request_error", code: String, message: String, param: String? = nil) {
        self.type = type
        self.code = code
        self.message = message
        self.param = param
    }

    /// A field with a value the server cannot use.
    public static func invalidValue(_ param: String, _ message: String) -> RealtimeProtocolError {
        RealtimeProtocolError(code: "invalid_value", message: message, param: param)
    }

    /// A message that is not a JSON object with a `type`.
    public static func invalidJSON(_ message: String) -> RealtimeProtocolError {
        RealtimeProtocolError(code: "invalid_json", message: message)
    }

    /// An event type this server does not know or does not accept in a transcription session.
    public static func unknownEvent(_ type: String) -> RealtimeProtocolError {
        RealtimeProtocolError(
            code: "invalid_event_type",
            message: "Invalid value: '\(type)'. Supported values in a transcription session are: 'session.update', "
                + "'transcription_session.update', 'input_audio_buffer.append', 'input_audio_buffer.commit' and 'input_audio_buffer.clear'.",
            param: "type")
    }
}
