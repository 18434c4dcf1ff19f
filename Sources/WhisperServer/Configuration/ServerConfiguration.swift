import Foundation
import WhisperEngine
import WhisperTensor

/// Every setting of `whisper-server serve`, with its default: the single source of truth for limits and defaults.
///
/// Settings are grouped by concern; new concerns (security, observability) are added as new nested groups. Each
/// setting that can be set from outside has a row in ``settings``, which reads it from the config file, the
/// `WHISPER_*` environment and the command line (in that order; later sources win).
///
/// ```swift
/// var configuration = ServerConfiguration()
/// configuration.http.port = 9000
/// try configuration.validate()
/// let app = try await buildApplication(configuration: configuration)
/// ```
public struct ServerConfiguration: Sendable, Equatable {
    /// Where the server listens.
    public struct HTTP: Sendable, Equatable {
        /// Address to bind. Default: `127.0.0.1` (loopback only).
        public var host: String = "127.0.0.1"
        /// TCP port; 0 picks a free one. Default: 8084.
        public var port: Int = 8084
        /// Name sent in the `Server` header; `nil` sends none. Default: `nil`.
        public var serverName: String?
        /// Seconds a client has to send a request's headers, counted from the connection's start or the end of the
        /// previous response; a connection that sends nothing for this long (also an idle keep-alive connection, or a
        /// body that pauses this long) is closed. Default: 10.
        public var headerTimeout: Double = 10
        /// Seconds a request body may take to arrive, extended by one second for every
        /// ``bodyMinimumBytesPerSecond`` bytes received, so a large upload on a slow link keeps going while a body
        /// trickled byte by byte is cut off; the connection is then closed. Default: 30.
        public var bodyTimeout: Double = 30
        /// Most connections open at once; further connections are not accepted (they wait in the listen backlog)
        /// until one closes. Default: 512.
        public var maxConnections: Int = 512
        public init() {}

        /// The upload rate that keeps extending ``bodyTimeout``: 64 KiB/s (512 kbit/s).
        public static let bodyMinimumBytesPerSecond = 64 * 1024
    }

    /// Which models exist and how many stay in memory.
    public struct Models: Sendable, Equatable {
        /// Directory scanned for models: each subdirectory holding a model (CTranslate2, ggml or safetensors) and each lone
        /// ggml file is a model named after it. Default: `./models`.
        public var directory: String = "./models"
        /// Model used for `whisper-1` and when a request names none. Default: `tiny.en`.
        public var defaultModel: String = "tiny.en"
        /// Extra names for models: alias → model id. `whisper-1` always maps to ``defaultModel``.
        public var aliases: [String: String] = [:]
        /// Most models kept loaded at once (least recently used is unloaded first, never while in use). Default: 2.
        public var maxLoaded: Int = 2
        /// Seconds an unused model stays loaded; `nil` keeps it until evicted by ``maxLoaded``. Default: `nil`.
        public var idleTTL: Double?
        /// Load the default model at start instead of on first use. Default: `false`.
        public var preload: Bool = false
        public init() {}

        /// The configured aliases plus `whisper-1` → default model.
        public var allAliases: [String: String] {
            var all = aliases
            all["whisper-1"] = defaultModel
            return all
        }
    }

    /// The inference worker pool and the queue in front of it.
    public struct Inference: Sendable, Equatable {
        /// Requests in flight together, each on its own worker thread. Their heavy work takes turns on every core
        /// (one encoder window or prompt at a time) and their decoder steps run batched, so a lone request is as fast
        /// as with 1 and more requests raise throughput. Default: 8.
        public var workers: Int = 8
        /// Requests allowed to wait for a worker; one more gets 429 with `Retry-After`. Default: 16.
        public var queueSize: Int = 16
        /// Seconds a request may take from arrival to answer (queueing, decoding, inference) before 504. Default: 600.
        public var requestTimeout: Double = 600
        /// Precision of the encoder's matrix products: `float32` gives the reference implementation's transcripts;
        /// `bfloat16` runs them on bfloat16 instructions (AVX512-BF16 or AMX; `float32` on CPUs without) with
        /// transcripts that may differ in places. Default: float32.
        public var encoderPrecision: ProductPrecision = .float32
        /// How the decoder's per-step matrices are held: as the checkpoint has them (reference transcripts) or `int8`
        /// (a scale per row; about half the bytes per decoder step, transcripts may differ in places). Default:
        /// checkpoint.
        public var decoderWeights: DecoderWeights = .checkpoint
        public init() {}
    }

    /// Bounds on what clients may send.
    public struct Limits: Sendable, Equatable {
        /// Largest audio upload in bytes (OpenAI's limit). Default: 25 MiB.
        public var maxUploadBytes: Int = 25 * 1024 * 1024
        /// Largest text form field or JSON string other than audio, in bytes. Default: 4 KiB.
        public var maxTextFieldBytes: Int = 4 * 1024
        /// Largest `prompt`, in bytes. Default: 16 KiB.
        public var maxPromptBytes: Int = 16 * 1024
        /// Most parts in one multipart body. Default: 64.
        public var maxFormParts: Int = 64
        /// Longest accepted audio in seconds. Default: 7200.
        public var maxAudioSeconds: Double = 7200
        /// Shortest accepted audio in seconds. Default: 0.1.
        public var minAudioSeconds: Double = 0.1
        /// Seconds one audio decode may take. Default: 120.
        public var decodeTimeout: Double = 120
        public init() {}

        /// Bytes a request body may have on the wire: the upload plus form overhead, or its base64 form in JSON.
        /// - Parameter isJSON: whether the audio arrives base64-encoded inside JSON.
        public func maxBodyBytes(isJSON: Bool) -> Int {
            let overhead = 64 * 1024 + maxPromptBytes
            return isJSON ? (maxUploadBytes + 2) / 3 * 4 + overhead : maxUploadBytes + overhead
        }
    }

    /// Audio clean-up before inference.
    public struct Preprocessing: Sendable, Equatable {
        /// Scale the audio so its peak reaches full scale. Default: `false`.
        public var normalizePeak: Bool = false
        /// Trim leading and trailing audio quieter than this many dB below full scale; `nil` keeps it. Default: `nil`.
        public var trimSilenceThresholdDB: Float?
        public init() {}
    }

    /// Shutdown behaviour.
    public struct Lifecycle: Sendable, Equatable {
        /// Seconds in-flight requests get to finish after SIGTERM/SIGINT before they are cancelled. Default: 30.
        public var shutdownGraceSeconds: Double = 30
        public init() {}
    }

    public var http = HTTP()
    public var models = Models()
    public var inference = Inference()
    public var limits = Limits()
    public var preprocessing = Preprocessing()
    /// API keys, rate limits, trusted proxies and hosts, CORS.
    public var security = SecuritySettings()
    /// Log format and level, access log, metrics.
    public var observability = ObservabilitySettings()
    public var lifecycle = Lifecycle()

    /// The defaults documented on each setting.
    public init() {}
}

extension ServerConfiguration {
    /// A configuration that cannot be served, with every problem found.
    public struct ValidationError: Error, Sendable, CustomStringConvertible {
        /// One line per problem.
        public let problems: [String]
        public init(problems: [String]) { self.problems = problems }
        public var description: String { ConfigurationValidationError(problems: problems).description }
    }

    /// Every problem with the values, empty when they can be served (syntax and bounds; no file-system checks).
    ///
    /// Each row of ``settings`` checks its own value; the checks that relate several settings follow. Each message
    /// starts with the setting's flag and environment variable, e.g. `--port/WHISPER_PORT: …`.
    public var problems: [String] {
        var check = ConfigurationValidator()
        for setting in Self.settings { setting.check(self, setting.label, &check) }
        check.require(
            limits.maxAudioSeconds > limits.minAudioSeconds,
            "\(Self.label("max_audio_seconds")): must exceed the minimum audio seconds (got \(SettingText.format(limits.maxAudioSeconds)))"
        )
        check.require(limits.maxTextFieldBytes >= 64, "max text field must be at least 64 bytes")
        check.validateRelations(security, bindHost: http.host)
        check.validate(observability)
        return check.problems
    }

    /// ``problems`` plus what the file system says: the models directory is readable and holds the default model and
    /// every aliased model.
    public var startupProblems: [String] {
        var check = ConfigurationValidator()
        check.checkReadableDirectory(models.directory, setting: Self.label("models_dir"))
        if check.problems.isEmpty {
            let registry = ModelRegistry.scan(directory: URL(fileURLWithPath: models.directory, isDirectory: true), aliases: models.allAliases)
            if !models.defaultModel.isEmpty {
                check.require(
                    registry.resolve(models.defaultModel) != nil,
                    "\(Self.label("default_model")): model '\(models.defaultModel)' is not in '\(models.directory)'"
                )
            }
            for (alias, model) in models.aliases.sorted(by: { $0.key < $1.key }) where !model.isEmpty {
                check.require(
                    registry.entries[model] != nil,
                    "\(Self.modelAliasesSetting.label): alias '\(alias)' names model '\(model)', which is not in '\(models.directory)'"
                )
            }
        }
        return problems + check.problems
    }

    /// Throws ``ValidationError`` listing every problem, if there is any.
    public func validate() throws(ValidationError) {
        let problems = problems
        if !problems.isEmpty { throw ValidationError(problems: problems) }
    }
}
