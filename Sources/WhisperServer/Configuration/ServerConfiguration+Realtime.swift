extension ServerConfiguration {
    /// Live transcription over WebSocket (`GET /v1/realtime?intent=transcription`).
    public struct Realtime: Sendable, Equatable {
        /// Sessions open at once; one more is refused with 429 before the upgrade. 0 turns the endpoint off.
        public var maxSessions: Int = 16
        /// Seconds without a client event after which a session is closed.
        public var idleTimeout: Double = 120
        /// Longest a session may last, in seconds.
        public var maxSessionSeconds: Double = 3600
        /// Most audio a session may hold untranscribed, in seconds; beyond it the oldest is dropped (and counted).
        public var maxBufferedSeconds: Double = 60
        /// Seconds of new audio between two live passes over a turn.
        public var passInterval: Double = 0.5
        /// Largest client message, in bytes (an `input_audio_buffer.append` of OpenAI's 15 MiB of audio in base64).
        public var maxMessageBytes: Int = 21 * 1024 * 1024
        /// Largest audio of one append, in bytes after base64 decoding.
        public var maxAppendBytes: Int = 15 * 1024 * 1024

        /// Defaults.
        public init() {}
    }
}
