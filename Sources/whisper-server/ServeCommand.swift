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
        usage: "whisper-server serve [--config <file>] [--<setting> <value> ...]",
        discussion: """
            Settings come from defaults, then a JSON config file (--config or WHISPER_CONFIG), then WHISPER_* environment \
            variables (the original Python server's names where ours are unset), then these options (options win). \
            Every problem is listed at start and the command exits with status 2.

            \(ServerConfiguration.settingsHelp)
            """
    )

    /// Everything after `serve`, read against the settings table by ``ServerConfiguration/CommandLineOptions``.
    @Argument(parsing: .allUnrecognized, help: ArgumentHelp(visibility: .hidden))
    var arguments: [String] = []

    func run() async throws {
        let configuration: ServerConfiguration
        do {
            configuration = try ServerConfiguration.load(
                environment: ProcessInfo.processInfo.environment, options: ServerConfiguration.CommandLineOptions(arguments))
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
        for legacy in ServerConfiguration.legacyVariables(in: ProcessInfo.processInfo.environment) {
            logger.notice(
                legacy.isOverridden
                    ? "ignoring the original server's variable \(legacy.name): \(legacy.replacement) is set"
                    : "reading the original server's variable \(legacy.name) as \(legacy.replacement)",
                metadata: ["config.legacy_variable": "\(legacy.name)", "config.variable": "\(legacy.replacement)"]
            )
        }
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
