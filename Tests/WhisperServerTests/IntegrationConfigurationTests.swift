import Foundation
import Testing

@testable import WhisperServer

/// `ServerConfiguration.load`: config file, environment and flags with their precedence, and start-up validation that
/// lists every problem.
@Suite struct IntegrationConfigurationTests {
    static func temporaryFile(_ text: String, name: String = "config.json") throws -> String {
        let directory = ServerTest.scratch.appendingPathComponent("config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let url = directory.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    @Test func precedenceIsFlagsThenEnvironmentThenFileThenDefaults() throws {
        let models = try ServerTest.makeModelsDirectory()
        let file = try Self.temporaryFile(
            #"{"port": 9001, "workers": 3, "queue_size": 7, "models_dir": "\#(models.path)", "allowed_hosts": ["a.example.com", "b.example.com"], "log_format": "json", "preload": true, "model_aliases": {"fast": "tiny.en"}, "rate_limit_audio_seconds": 1.5}"#
        )
        let configuration = try ServerConfiguration.load(
            environment: ["WHISPER_PORT": "9002", "WHISPER_WORKERS": "2", "WHISPER_LOG_LEVEL": "debug"], configFile: file
        ) { configuration, _ in
            configuration.http.port = 9003
        }
        #expect(configuration.http.port == 9003, "flag beats environment and file")
        #expect(configuration.inference.workers == 2, "environment beats file")
        #expect(configuration.inference.queueSize == 7, "file beats default")
        #expect(configuration.security.allowedHosts == ["a.example.com", "b.example.com"])
        #expect(configuration.observability.logFormat == .json)
        #expect(configuration.observability.logLevel == .debug)
        #expect(configuration.models.preload)
        #expect(configuration.models.aliases == ["fast": "tiny.en"])
        #expect(configuration.security.rateLimitAudioSeconds == 1.5)
        #expect(configuration.lifecycle.shutdownGraceSeconds == 30)
    }

    @Test func configFileFromEnvironment() throws {
        let models = try ServerTest.makeModelsDirectory()
        let file = try Self.temporaryFile(#"{"port": 9100, "models_dir": "\#(models.path)"}"#)
        let configuration = try ServerConfiguration.load(environment: ["WHISPER_CONFIG": file])
        #expect(configuration.http.port == 9100)
    }

    @Test func everySettingHasAConfigFileKey() {
        let keys = ServerConfiguration.environmentVariables.map(ServerConfiguration.fileKey(forEnvironmentVariable:))
        #expect(keys.contains("api_keys_file"))
        #expect(keys.contains("max_upload_mb"))
        #expect(Set(keys).count == keys.count)
    }

    /// Three mistakes in the file, one in the environment, one flag: all five are listed.
    @Test func everyProblemIsListedAtOnce() throws {
        let file = try Self.temporaryFile(#"{"port": 70000, "cors_origins": ["ftp://files.example.com"], "workers": 0, "colour": "blue"}"#)
        #expect {
            try ServerConfiguration.load(environment: ["WHISPER_LOG_LEVEL": "loud"], configFile: file) { configuration, problems in
                configuration.models.directory = "/nonexistent/models"
                problems.append("--log-format: 'yaml' is not json, text or auto")
            }
        } throws: { error in
            guard let problems = (error as? ServerConfiguration.ValidationError)?.problems else { return false }
            let expected = ["port", "ftp://files.example.com", "--workers", "colour", "WHISPER_LOG_LEVEL", "--log-format", "/nonexistent/models"]
            return expected.allSatisfy { word in problems.contains { $0.contains(word) } }
        }
    }

    @Test func eachInvalidValueIsReported() {
        func problems(_ edit: (inout ServerConfiguration) -> Void) -> [String] {
            var configuration = ServerConfiguration()
            edit(&configuration)
            return configuration.problems
        }
        #expect(problems { $0.http.host = "bad host!" }.contains { $0.hasPrefix("--host/WHISPER_HOST") })
        #expect(problems { $0.http.port = -1 }.count == 1)
        #expect(problems { $0.inference.queueSize = -1 }.count == 1)
        #expect(problems { $0.inference.requestTimeout = 0 }.count == 1)
        #expect(problems { $0.limits.maxUploadBytes = 10 }.count == 1)
        #expect(problems { $0.limits.maxAudioSeconds = 0.05 }.count == 1)
        #expect(problems { $0.lifecycle.shutdownGraceSeconds = -5 }.count == 1)
        #expect(problems { $0.security.cors.origins = ["example.com"] }.count == 1)
        #expect(problems { $0.security.trustedProxies = ["10.0.0.0/99"] }.count == 1)
        #expect(problems { $0.security.apiKeysFile = "/nonexistent/keys" }.count == 1)
        #expect(problems { $0.observability.metricsPath = "metrics" }.count == 1)
        #expect(problems { $0.http.host = "::1" }.isEmpty)
    }

    @Test func missingDefaultModelIsAStartupProblem() throws {
        var configuration = ServerConfiguration()
        configuration.models.directory = try ServerTest.makeModelsDirectory(["base"]).path
        #expect(configuration.problems.isEmpty)
        #expect(configuration.startupProblems.count == 1)
        #expect(configuration.startupProblems.first?.contains("tiny.en") == true)
    }
}
