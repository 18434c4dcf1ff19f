import ArgumentParser
import Foundation
import Logging
import WhisperEngine
import WhisperServer
import WhisperTensor

/// `whisper-server serve`: the OpenAI-compatible HTTP server.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the OpenAI-compatible speech-to-text HTTP server.",
        discussion: """
            Settings come from defaults, then a JSON config file (--config or WHISPER_CONFIG; keys are the WHISPER_* names \
            without WHISPER_, lower-cased), then WHISPER_* environment variables, then these options (options win). \
            Every problem is listed at start and the command exits with status 2.
            """
    )

    @Option(name: .customLong("config"), help: "JSON config file (WHISPER_CONFIG).") var configFile: String?
    @Option(help: "Address to bind (WHISPER_HOST; default 127.0.0.1).") var host: String?
    @Option(help: "TCP port, 0 for any free port (WHISPER_PORT; default 8084).") var port: Int?
    @Option(name: .customLong("header-timeout"), help: "Seconds a client has to send a request's headers; idle connections close after it too (WHISPER_HEADER_TIMEOUT; default 10).")
    var headerTimeout: Double?
    @Option(name: .customLong("body-timeout"), help: "Seconds a request body may take to arrive, plus 1 s per 64 KiB received (WHISPER_BODY_TIMEOUT; default 30).")
    var bodyTimeout: Double?
    @Option(name: .customLong("max-connections"), help: "Most connections open at once; more wait until one closes (WHISPER_MAX_CONNECTIONS; default 512).")
    var maxConnections: Int?
    @Option(name: .customLong("models-dir"), help: "Directory of model subdirectories (WHISPER_MODELS_DIR; default ./models).")
    var modelsDirectory: String?
    @Option(name: .customLong("default-model"), help: "Model used for whisper-1 and when none is named (WHISPER_DEFAULT_MODEL; default tiny.en).")
    var defaultModel: String?
    @Option(name: .customLong("alias"), help: "Extra model name as alias=model; repeatable (WHISPER_MODEL_ALIASES=a=b,c=d).")
    var aliases: [String] = []
    @Option(help: "Inference worker threads: requests in flight together, decoder steps batched (WHISPER_WORKERS; default 8).")
    var workers: Int?
    @Option(
        name: .customLong("encoder-precision"),
        help: "Encoder products in float32 (reference transcripts) or bfloat16 (AVX512-BF16 or AMX, faster) (WHISPER_ENCODER_PRECISION; default float32).")
    var encoderPrecision: ProductPrecision?
    @Option(
        name: .customLong("decoder-weights"),
        help: "Decoder weights as in the checkpoint (reference transcripts) or int8 (faster) (WHISPER_DECODER_WEIGHTS; default checkpoint).")
    var decoderWeights: DecoderWeights?
    @Option(name: .customLong("queue-size"), help: "Requests that may wait for a worker before 429 (WHISPER_QUEUE_SIZE; default 16).")
    var queueSize: Int?
    @Option(name: .customLong("request-timeout"), help: "Seconds before a request answers 504 (WHISPER_REQUEST_TIMEOUT; default 600).")
    var requestTimeout: Double?
    @Option(name: .customLong("max-upload-mb"), help: "Largest audio upload in MiB (WHISPER_MAX_UPLOAD_MB; default 25).")
    var maxUploadMB: Double?
    @Option(name: .customLong("max-audio-seconds"), help: "Longest audio accepted, in seconds (WHISPER_MAX_AUDIO_SECONDS; default 7200).")
    var maxAudioSeconds: Double?
    @Option(name: .customLong("min-audio-seconds"), help: "Shortest audio accepted, in seconds (WHISPER_MIN_AUDIO_SECONDS; default 0.1).")
    var minAudioSeconds: Double?
    @Option(name: .customLong("decode-timeout"), help: "Seconds one audio decode may take (WHISPER_DECODE_TIMEOUT; default 120).")
    var decodeTimeout: Double?
    @Flag(name: .customLong("normalize-peak"), help: "Scale audio to full-scale peak before inference (WHISPER_NORMALIZE_PEAK).")
    var normalizePeak = false
    @Option(name: .customLong("trim-silence-db"), help: "Trim leading/trailing audio quieter than this many dB below full scale (WHISPER_TRIM_SILENCE_DB; default off).")
    var trimSilenceDB: Float?
    @Option(name: .customLong("max-loaded-models"), help: "Models kept in memory at once (WHISPER_MAX_LOADED_MODELS; default 2).")
    var maxLoadedModels: Int?
    @Option(name: .customLong("model-idle-ttl"), help: "Unload a model unused for this many seconds (WHISPER_MODEL_IDLE_TTL; default never).")
    var modelIdleTTL: Double?
    @Flag(help: "Load the default model at start (WHISPER_PRELOAD).") var preload = false

    @Option(name: .customLong("api-keys-file"), help: "File of API keys, one per line, optionally name:key (WHISPER_API_KEYS_FILE).")
    var apiKeysFile: String?
    @Flag(name: .customLong("allow-unauthenticated"), help: "Serve without API keys on a non-loopback address (WHISPER_ALLOW_UNAUTHENTICATED).")
    var allowUnauthenticated = false
    @Option(name: .customLong("protect-metrics"), help: "Whether /metrics needs a key when keys are configured: true or false (WHISPER_PROTECT_METRICS; default true).")
    var protectMetrics: Bool?
    @Option(name: .customLong("rate-limit-requests"), help: "Requests per window per key or client IP, 0 = unlimited (WHISPER_RATE_LIMIT_REQUESTS; default 60).")
    var rateLimitRequests: Int?
    @Option(name: .customLong("rate-limit-audio-seconds"), help: "Audio seconds per window per key or client IP, 0 = unlimited (WHISPER_RATE_LIMIT_AUDIO_SECONDS; default 3600).")
    var rateLimitAudioSeconds: Double?
    @Option(name: .customLong("rate-limit-window"), help: "Rate-limit window in seconds (WHISPER_RATE_LIMIT_WINDOW; default 60).")
    var rateLimitWindow: Double?
    @Option(name: .customLong("allowed-host"), help: "Host accepted in the Host header; repeatable; *.domain and * allowed (WHISPER_ALLOWED_HOSTS, comma-separated; default the bound host and localhost).")
    var allowedHosts: [String] = []
    @Option(name: .customLong("trusted-proxy"), help: "Proxy address or CIDR whose X-Forwarded-For is believed; repeatable (WHISPER_TRUSTED_PROXIES).")
    var trustedProxies: [String] = []
    @Option(name: .customLong("cors-origin"), help: "Origin allowed to call from a browser (* or http(s)://host[:port]); repeatable (WHISPER_CORS_ORIGINS; default none).")
    var corsOrigins: [String] = []

    @Option(name: .customLong("log-format"), help: "json, text or auto: text on a terminal, JSON otherwise (WHISPER_LOG_FORMAT; default auto).")
    var logFormat: String?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (WHISPER_LOG_LEVEL; default info).")
    var logLevel: String?
    @Option(name: .customLong("shutdown-grace-seconds"), help: "Seconds in-flight requests get after SIGTERM/SIGINT (WHISPER_SHUTDOWN_GRACE_SECONDS; default 30).")
    var shutdownGraceSeconds: Double?

    /// Applies the options over the configuration read from the file and the environment.
    func applyFlags(to configuration: inout ServerConfiguration, problems: inout [String]) {
        if let host { configuration.http.host = host }
        if let port { configuration.http.port = port }
        if let headerTimeout { configuration.http.headerTimeout = headerTimeout }
        if let bodyTimeout { configuration.http.bodyTimeout = bodyTimeout }
        if let maxConnections { configuration.http.maxConnections = maxConnections }
        if let modelsDirectory { configuration.models.directory = modelsDirectory }
        if let defaultModel { configuration.models.defaultModel = defaultModel }
        for alias in aliases {
            if let parsed = ServerConfiguration.parseAliases(alias) {
                configuration.models.aliases.merge(parsed) { _, new in new }
            } else {
                problems.append("--alias: '\(alias)' is not alias=model")
            }
        }
        if let workers { configuration.inference.workers = workers }
        if let queueSize { configuration.inference.queueSize = queueSize }
        if let encoderPrecision { configuration.inference.encoderPrecision = encoderPrecision }
        if let decoderWeights { configuration.inference.decoderWeights = decoderWeights }
        if let requestTimeout { configuration.inference.requestTimeout = requestTimeout }
        if let maxUploadMB { configuration.limits.maxUploadBytes = ServerConfiguration.bytes(megabytes: maxUploadMB) }
        if let maxAudioSeconds { configuration.limits.maxAudioSeconds = maxAudioSeconds }
        if let minAudioSeconds { configuration.limits.minAudioSeconds = minAudioSeconds }
        if let decodeTimeout { configuration.limits.decodeTimeout = decodeTimeout }
        if normalizePeak { configuration.preprocessing.normalizePeak = true }
        if let trimSilenceDB { configuration.preprocessing.trimSilenceThresholdDB = trimSilenceDB }
        if let maxLoadedModels { configuration.models.maxLoaded = maxLoadedModels }
        if let modelIdleTTL { configuration.models.idleTTL = modelIdleTTL }
        if preload { configuration.models.preload = true }
        if let apiKeysFile { configuration.security.apiKeysFile = apiKeysFile }
        if allowUnauthenticated { configuration.security.allowUnauthenticated = true }
        if let protectMetrics { configuration.security.protectMetrics = protectMetrics }
        if let rateLimitRequests { configuration.security.rateLimitRequests = rateLimitRequests }
        if let rateLimitAudioSeconds { configuration.security.rateLimitAudioSeconds = rateLimitAudioSeconds }
        if let rateLimitWindow { configuration.security.rateLimitWindowSeconds = rateLimitWindow }
        if !allowedHosts.isEmpty { configuration.security.allowedHosts = allowedHosts }
        if !trustedProxies.isEmpty { configuration.security.trustedProxies = trustedProxies }
        if !corsOrigins.isEmpty { configuration.security.cors.origins = corsOrigins }
        if let logFormat {
            if let format = LogFormat(rawValue: logFormat.lowercased()) {
                configuration.observability.logFormat = format
            } else {
                problems.append("--log-format: '\(logFormat)' is not json, text or auto")
            }
        }
        if let logLevel {
            if let level = ObservabilitySettings.parseLogLevel(logLevel) {
                configuration.observability.logLevel = level
            } else {
                problems.append("--log-level: '\(logLevel)' is not a log level (trace, debug, info, notice, warning, error, critical)")
            }
        }
        if let shutdownGraceSeconds { configuration.lifecycle.shutdownGraceSeconds = shutdownGraceSeconds }
    }

    func run() async throws {
        let configuration: ServerConfiguration
        do {
            configuration = try ServerConfiguration.load(environment: ProcessInfo.processInfo.environment, configFile: configFile) {
                applyFlags(to: &$0, problems: &$1)
            }
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(2)
        }
        JSONLogHandler.bootstrap(configuration.observability)
        var dependencies = ServerDependencies.bootstrappingMetrics()
        dependencies.modelLoader = WhisperModelLoader(
            encoderPrecision: configuration.inference.encoderPrecision, decoderWeights: configuration.inference.decoderWeights)
        var logger = Logger(label: "whisper-server")
        logger.logLevel = configuration.observability.logLevel
        do {
            let app = try buildApplication(configuration: configuration, dependencies: dependencies, logger: logger)
            logger.info(
                "starting",
                metadata: [
                    "http.host": "\(configuration.http.host)", "http.port": "\(configuration.http.port)",
                    "models.directory": "\(configuration.models.directory)", "models.default": "\(configuration.models.defaultModel)",
                    "models.preload": "\(configuration.models.preload)",
                    "inference.workers": "\(configuration.inference.workers)", "inference.queue_size": "\(configuration.inference.queueSize)",
                    "inference.encoder_precision": "\(configuration.inference.encoderPrecision.available)",
                    "inference.decoder_weights": "\(configuration.inference.decoderWeights)",
                    "auth.enabled": "\(configuration.security.apiKeys != nil || configuration.security.apiKeysFile != nil)",
                    "rate_limit.requests": "\(configuration.security.rateLimitRequests ?? 0)",
                    "shutdown.grace_seconds": "\(configuration.lifecycle.shutdownGraceSeconds)",
                ]
            )
            try await runApplication(app, configuration: configuration, logger: logger)
        } catch let error as ServerConfiguration.ValidationError {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(2)
        }
        logger.info("stopped")
    }
}
