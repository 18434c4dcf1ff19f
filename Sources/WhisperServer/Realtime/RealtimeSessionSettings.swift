import WhisperEngine

/// A transcription session's effective configuration, as `session.update` sets it and `session.updated` reports it.
struct RealtimeSessionSettings: Sendable, Equatable {
    /// Server-side turn detection (`server_vad`).
    struct TurnDetection: Sendable, Equatable {
        /// `server_vad`, or `semantic_vad` (served by the same detector).
        var type = "server_vad"
        /// Speech score needed to start a turn, in [0, 1].
        var threshold = 0.5
        /// Audio kept before the detected start of speech.
        var prefixPaddingMs = 300
        /// Silence that ends a turn.
        var silenceDurationMs = 500

        /// The engine detector's options.
        var voiceActivity: VoiceActivityOptions {
            VoiceActivityOptions(
                threshold: Float(threshold), padding: Double(prefixPaddingMs) / 1000, minSilenceDuration: Double(silenceDurationMs) / 1000,
                minSpeechDuration: 0.25)
        }
    }

    /// The client's audio encoding and rate.
    var format = RealtimeAudioFormat.pcm24k
    /// The model id or alias passes run on.
    var model: String
    /// ISO 639-1 language, or `nil` to detect.
    var language: String?
    /// Vocabulary and style prompt.
    var prompt: String?
    /// Server VAD, or `nil` when the client commits turns.
    var turnDetection: TurnDetection? = TurnDetection()
    /// `include` as the client sent it.
    var include: [String] = []

    /// Whether deltas and `completed` carry token log-probabilities.
    var includeLogprobs: Bool { include.contains(Self.logprobsInclude) }

    /// The one `include` value transcription sessions know.
    static let logprobsInclude = "item.input_audio_transcription.logprobs"

    /// Applies an update; nothing changes when any field is invalid.
    mutating func apply(_ patch: RealtimeSessionPatch) throws(RealtimeProtocolError) {
        var next = self
        if let format = patch.format { next.format = format }
        if let transcription = patch.transcription {
            if let model = transcription.model { next.model = model }
            if let language = transcription.language { next.language = language.isEmpty ? nil : language }
            if let prompt = transcription.prompt { next.prompt = prompt.isEmpty ? nil : prompt }
        }
        if let detection = patch.turnDetection {
            if let detection {
                guard ["server_vad", "semantic_vad"].contains(detection.type) else {
                    throw .invalidValue("session.turn_detection.type", "unsupported turn_detection type '\(detection.type)': use server_vad or null")
                }
                var value = next.turnDetection ?? TurnDetection()
                value.type = detection.type
                if let threshold = detection.threshold {
                    guard (0...1).contains(threshold) else { throw .invalidValue("session.turn_detection.threshold", "threshold must be between 0 and 1") }
                    value.threshold = threshold
                }
                if let padding = detection.prefixPaddingMs {
                    guard (0...10_000).contains(padding) else {
                        throw .invalidValue("session.turn_detection.prefix_padding_ms", "prefix_padding_ms must be between 0 and 10000")
                    }
                    value.prefixPaddingMs = padding
                }
                if let silence = detection.silenceDurationMs {
                    guard (0...10_000).contains(silence) else {
                        throw .invalidValue("session.turn_detection.silence_duration_ms", "silence_duration_ms must be between 0 and 10000")
                    }
                    value.silenceDurationMs = silence
                }
                next.turnDetection = value
            } else {
                next.turnDetection = nil
            }
        }
        if let include = patch.include {
            for value in include where value != Self.logprobsInclude {
                throw .invalidValue("session.include", "unsupported include value '\(value)': use '\(Self.logprobsInclude)'")
            }
            next.include = include
        }
        self = next
    }
}
