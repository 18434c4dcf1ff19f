import WhisperEngine

/// A transcription or translation request, validated once, whichever dialect it arrived in.
public struct TranscriptionRequest: Sendable {
    /// The wire format the request came in, which decides the shape of the answer.
    public enum Dialect: Sendable, Equatable {
        /// OpenAI's multipart form.
        case openAI
        /// The original server's JSON body (`audio`, `audio_options.data` or `messages`).
        case legacyJSON
        /// `POST /v1/chat/completions` with an audio part.
        case chatCompletion
    }

    /// The audio file's bytes, any container.
    public var audio: [UInt8]
    /// The audio format the client declared (JSON dialects), if any.
    public var declaredAudioFormat: String?
    /// Model id or alias.
    public var model: String
    /// Transcribe or translate.
    public var task: TranscriptionTask
    /// ISO 639-1 code, or `nil` to detect.
    public var language: String?
    /// Text to condition the first window.
    public var prompt: String?
    /// Shape of the answer.
    public var responseFormat: TranscriptFormat = .json
    /// OpenAI's `temperature` (0 means the fallback schedule).
    public var temperature: Float = 0
    /// `timestamp_granularities[]`.
    public var granularities: TranscriptFormat.Granularities = .segment
    /// Answer with Server-Sent Events.
    public var stream = false
    /// OpenAI's `chunking_strategy`: transcribe only the speech the voice activity detector finds (`nil`: all audio).
    public var voiceActivity: VoiceActivityOptions?
    /// OpenAI's `include[]=logprobs`: add each text token's log-probability to a `json` answer.
    public var includeLogprobs = false
    /// The wire format.
    public var dialect: Dialect = .openAI
    /// Characters of base64 the audio arrived as (JSON dialects), for `POST /debug/audio-info`.
    public var encodedAudioLength: Int?

    /// Creates a request.
    public init(audio: [UInt8], model: String, task: TranscriptionTask, dialect: Dialect = .openAI) {
        self.audio = audio
        self.model = model
        self.task = task
        self.dialect = dialect
    }

    /// The model when the client names none.
    public static let defaultModelName = "whisper-1"
}

extension TranscriptionRequest {
    /// Parses and checks the request's optional text parameters (shared by all dialects).
    struct Fields {
        let limits: ServerConfiguration.Limits

        func text(_ name: String, _ value: String?, maxBytes: Int? = nil) throws(OpenAIError) -> String? {
            guard let value else { return nil }
            let limit = maxBytes ?? limits.maxTextFieldBytes
            if value.utf8.count > limit {
                throw .invalidParameter(name, "'\(name)' is longer than the limit of \(limit) bytes", code: "string_above_max_length")
            }
            return value
        }

        func model(_ value: String?) throws(OpenAIError) -> String {
            let model = try text("model", value)?.trimmingCharacters(in: .whitespaces) ?? ""
            return model.isEmpty ? TranscriptionRequest.defaultModelName : model
        }

        func responseFormat(_ value: String?) throws(OpenAIError) -> TranscriptFormat {
            guard let value = try text("response_format", value), !value.isEmpty else { return .json }
            guard let format = TranscriptFormat(rawValue: value) else {
                let allowed = TranscriptFormat.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")
                throw .invalidParameter(
                    "response_format", "'\(value.prefix(40))' is not a supported response_format: use one of \(allowed)"
                )
            }
            return format
        }

        func temperature(_ value: String?) throws(OpenAIError) -> Float {
            guard let value = try text("temperature", value)?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return 0 }
            guard let number = Double(value) else {
                throw .invalidParameter("temperature", "temperature must be a number between 0 and 1, got '\(value.prefix(40))'")
            }
            return try temperature(number)
        }

        func temperature(_ number: Double) throws(OpenAIError) -> Float {
            guard number.isFinite, (0...1).contains(number) else {
                throw .invalidParameter("temperature", "temperature must be between 0 and 1, got \(number)")
            }
            return Float(number)
        }

        /// `nil`, empty and `auto` detect the language; otherwise an ISO 639-1 code or an English language name.
        func language(_ value: String?) throws(OpenAIError) -> String? {
            guard let value = try text("language", value)?.trimmingCharacters(in: .whitespaces), !value.isEmpty,
                value.lowercased() != "auto"
            else { return nil }
            guard let code = Languages.code(for: value) else {
                throw .invalidParameter("language", "'\(value.prefix(40))' is not a supported language: use an ISO 639-1 code such as 'en'")
            }
            return code
        }

        func granularities(_ values: [String], format: TranscriptFormat) throws(OpenAIError) -> TranscriptFormat.Granularities {
            var granularities: TranscriptFormat.Granularities = []
            for value in values {
                switch try text("timestamp_granularities", value) {
                case "segment": granularities.insert(.segment)
                case "word": granularities.insert(.word)
                default:
                    throw .invalidParameter(
                        "timestamp_granularities", "'\(value.prefix(40))' is not a timestamp granularity: use 'segment' or 'word'"
                    )
                }
            }
            if granularities.contains(.word) && format != .verboseJSON {
                throw .invalidParameter(
                    "timestamp_granularities", "timestamp_granularities[]=word requires response_format 'verbose_json'"
                )
            }
            return granularities.isEmpty ? .segment : granularities
        }

        /// `include[]`: only `logprobs`, and only with `response_format` `json`, as OpenAI allows it.
        func includesLogprobs(_ values: [String], format: TranscriptFormat) throws(OpenAIError) -> Bool {
            for value in values {
                guard try text("include", value) == "logprobs" else {
                    throw .invalidParameter("include", "'\(value.prefix(40))' cannot be included: the only option is 'logprobs'")
                }
            }
            if !values.isEmpty && format != .json {
                throw .invalidParameter("include", "include[]=logprobs requires response_format 'json'")
            }
            return !values.isEmpty
        }

        /// OpenAI's `chunking_strategy` on the voice activity detector: `auto` takes the defaults; `server_vad` sets
        /// `threshold` (0–1), `prefix_padding_ms` and `silence_duration_ms` (0–10000).
        func chunkingStrategy(_ strategy: ChunkingStrategy?) throws(OpenAIError) -> VoiceActivityOptions? {
            guard let strategy else { return nil }
            let param = "chunking_strategy"
            guard let type = strategy.type else {
                throw .invalidParameter(param, "chunking_strategy must be 'auto' or an object with \"type\": \"server_vad\"")
            }
            var options = VoiceActivityOptions()
            switch type {
            case "auto":
                guard strategy.threshold == nil, strategy.prefixPaddingMs == nil, strategy.silenceDurationMs == nil else {
                    throw .invalidParameter(param, "chunking_strategy 'auto' takes no settings: use type 'server_vad'")
                }
                return options
            case "server_vad": break
            default:
                throw .invalidParameter(param, "'\(type.prefix(40))' is not a chunking strategy type: use 'server_vad'")
            }
            if let threshold = strategy.threshold {
                guard threshold.isFinite, (0...1).contains(threshold) else {
                    throw .invalidParameter(param, "chunking_strategy.threshold must be between 0 and 1, got \(threshold)")
                }
                options.threshold = Float(threshold)
            }
            for (name, value) in [("prefix_padding_ms", strategy.prefixPaddingMs), ("silence_duration_ms", strategy.silenceDurationMs)] {
                guard let value else { continue }
                guard value.isFinite, value == value.rounded(), (0...10_000).contains(value) else {
                    throw .invalidParameter(param, "chunking_strategy.\(name) must be a whole number of milliseconds from 0 to 10000, got \(value)")
                }
                if name == "prefix_padding_ms" { options.padding = value / 1000 } else { options.minSilenceDuration = value / 1000 }
            }
            return options
        }

        func bool(_ name: String, _ value: String?) throws(OpenAIError) -> Bool {
            guard let value = try text(name, value)?.trimmingCharacters(in: .whitespaces).lowercased(), !value.isEmpty else { return false }
            switch value {
            case "true", "1": return true
            case "false", "0": return false
            default: throw .invalidParameter(name, "'\(name)' must be true or false")
            }
        }
    }
}
