import ArgumentParser
import Foundation
import Logging
import WhisperServer

/// `whisper-server serve`: the OpenAI-compatible HTTP server.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the OpenAI-compatible speech-to-text HTTP server.",
        discussion: "Every option also reads a WHISPER_* environment variable (e.g. WHISPER_PORT); options win over the environment."
    )

    @Option(help: "Address to bind (WHISPER_HOST; default 127.0.0.1).") var host: String?
    @Option(help: "TCP port, 0 for any free port (WHISPER_PORT; default 8084).") var port: Int?
    @Option(name: .customLong("models-dir"), help: "Directory of model subdirectories (WHISPER_MODELS_DIR; default ./models).")
    var modelsDirectory: String?
    @Option(name: .customLong("default-model"), help: "Model used for whisper-1 and when none is named (WHISPER_DEFAULT_MODEL; default tiny.en).")
    var defaultModel: String?
    @Option(name: .customLong("alias"), help: "Extra model name as alias=model; repeatable (WHISPER_MODEL_ALIASES=a=b,c=d).")
    var aliases: [String] = []
    @Option(help: "Inference worker threads: requests transcribed at once (WHISPER_WORKERS; default 1).") var workers: Int?
    @Option(name: .customLong("queue-size"), help: "Requests that may wait for a worker before 429 (WHISPER_QUEUE_SIZE; default 16).")
    var queueSize: Int?
    @Option(name: .customLong("request-timeout"), help: "Seconds before a request answers 504 (WHISPER_REQUEST_TIMEOUT; default 600).")
    var requestTimeout: Double?
    @Option(name: .customLong("max-upload-mb"), help: "Largest audio upload in MiB (WHISPER_MAX_UPLOAD_MB; default 25).")
    var maxUploadMB: Double?
    @Option(name: .customLong("max-audio-seconds"), help: "Longest audio accepted, in seconds (WHISPER_MAX_AUDIO_SECONDS; default 7200).")
    var maxAudioSeconds: Double?
    @Option(name: .customLong("max-loaded-models"), help: "Models kept in memory at once (WHISPER_MAX_LOADED_MODELS; default 2).")
    var maxLoadedModels: Int?
    @Option(name: .customLong("model-idle-ttl"), help: "Unload a model unused for this many seconds (WHISPER_MODEL_IDLE_TTL; default never).")
    var modelIdleTTL: Double?
    @Flag(help: "Load the default model at start (WHISPER_PRELOAD).") var preload = false
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (default info).")
    var logLevel: String = "info"

    /// Defaults, then the environment, then these options.
    func makeConfiguration(environment: [String: String]) throws -> ServerConfiguration {
        var configuration = ServerConfiguration()
        try configuration.applyEnvironment(environment)
        if let host { configuration.http.host = host }
        if let port { configuration.http.port = port }
        if let modelsDirectory { configuration.models.directory = modelsDirectory }
        if let defaultModel { configuration.models.defaultModel = defaultModel }
        for alias in aliases {
            guard let parsed = ServerConfiguration.parseAliases(alias) else {
                throw ValidationError("--alias \(alias) is not alias=model")
            }
            configuration.models.aliases.merge(parsed) { _, new in new }
        }
        if let workers { configuration.inference.workers = workers }
        if let queueSize { configuration.inference.queueSize = queueSize }
        if let requestTimeout { configuration.inference.requestTimeout = requestTimeout }
        if let maxUploadMB { configuration.limits.maxUploadBytes = ServerConfiguration.bytes(megabytes: maxUploadMB) }
        if let maxAudioSeconds { configuration.limits.maxAudioSeconds = maxAudioSeconds }
        if let maxLoadedModels { configuration.models.maxLoaded = maxLoadedModels }
        if let modelIdleTTL { configuration.models.idleTTL = modelIdleTTL }
        if preload { configuration.models.preload = true }
        try configuration.validate()
        return configuration
    }

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel.lowercased()) else {
            throw ValidationError("--log-level \(logLevel) is not one of trace, debug, info, notice, warning, error, critical")
        }
        let configuration: ServerConfiguration
        do {
            configuration = try makeConfiguration(environment: ProcessInfo.processInfo.environment)
        } catch let error as ServerConfiguration.ValidationError {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(2)
        }
        var logger = Logger(label: "whisper-server")
        logger.logLevel = level
        let app = try buildApplication(configuration: configuration, logger: logger)
        logger.info(
            "starting",
            metadata: [
                "http.host": "\(configuration.http.host)", "http.port": "\(configuration.http.port)",
                "models.directory": "\(configuration.models.directory)", "models.default": "\(configuration.models.defaultModel)",
                "inference.workers": "\(configuration.inference.workers)", "inference.queue_size": "\(configuration.inference.queueSize)",
            ]
        )
        try await app.runService()
    }
}
