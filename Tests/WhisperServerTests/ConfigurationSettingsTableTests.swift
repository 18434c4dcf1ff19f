import Foundation
import Testing

@testable import WhisperServer

/// The settings table: one row per setting drives the command line, the environment (ours and the original server's
/// names), the config file, validation and the generated docs.
@Suite struct ConfigurationSettingsTableTests {
    /// docs/configuration.md's table is what `whisper-server settings --markdown` prints.
    @Test func docsTableMatchesTheSettings() throws {
        let doc = try String(contentsOf: ServerTest.repositoryRoot.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        let begin = try #require(doc.range(of: "<!-- settings-table:begin -->\n"))
        let end = try #require(doc.range(of: "<!-- settings-table:end -->"))
        let table = String(doc[begin.upperBound..<end.lowerBound])
        #expect(
            table == ServerConfiguration.settingsMarkdown,
            "docs/configuration.md is out of date: replace its table with the output of `whisper-server settings --markdown`"
        )
    }

    @Test func everyNameIsUniqueAndKeysFollowTheVariables() {
        let settings = ServerConfiguration.settings
        for names in [settings.map(\.key), settings.compactMap(\.flag), settings.map(\.environment), settings.compactMap(\.legacyEnvironment)] {
            #expect(Set(names).count == names.count, "\(names)")
        }
        for setting in settings {
            #expect(ServerConfiguration.fileKey(forEnvironmentVariable: setting.environment) == setting.key)
            #expect(!setting.help.isEmpty && !setting.defaultText.isEmpty)
            if let flag = setting.flag { #expect(ServerConfiguration.settingsHelp.contains(flag), "\(flag)") }
        }
        #expect(
            Set(settings.compactMap(\.legacyEnvironment)) == [
                "WHISPER_SERVER_HOST", "WHISPER_SERVER_PORT", "MAX_AUDIO_FILE_SIZE_MB", "ALLOWED_ORIGINS", "ALLOWED_HOSTS", "LOG_LEVEL",
                "RATE_LIMIT_REQUESTS", "RATE_LIMIT_WINDOW",
            ])
    }

    @Test func commandLineOptionsAreReadFromTheTable() throws {
        let options = ServerConfiguration.CommandLineOptions([
            "--port", "9000", "--preload", "--allowed-host", "a.example.com", "--allowed-host=b.example.com", "--alias", "fast=tiny.en",
            "--alias", "good=base", "--max-upload-mb=0.05", "--log-level", "DEBUG", "--protect-metrics", "false", "--config", "/tmp/x.json",
        ])
        #expect(options.problems.isEmpty, "\(options.problems)")
        #expect(options.configFile == "/tmp/x.json")
        var configuration = ServerConfiguration()
        var problems: [String] = []
        configuration.applyOptions(options, problems: &problems)
        #expect(problems.isEmpty)
        #expect(configuration.http.port == 9000)
        #expect(configuration.models.preload)
        #expect(configuration.security.allowedHosts == ["a.example.com", "b.example.com"])
        #expect(configuration.models.aliases == ["fast": "tiny.en", "good": "base"])
        #expect(configuration.limits.maxUploadBytes == 52_428)
        #expect(configuration.observability.logLevel == .debug)
        #expect(!configuration.security.protectMetrics)
    }

    @Test func badOptionsAreListed() {
        let options = ServerConfiguration.CommandLineOptions(["--colour", "blue", "stray", "--port"])
        #expect(options.problems.count == 4, "\(options.problems)")
        #expect(options.problems.contains { $0.hasPrefix("--colour: unknown option") })
        #expect(options.problems.contains { $0.contains("'blue'") })
        #expect(options.problems.contains { $0.hasPrefix("--port: missing value") })
        var configuration = ServerConfiguration()
        var problems: [String] = []
        configuration.applyOptions(ServerConfiguration.CommandLineOptions(["--workers", "many", "--preload=perhaps"]), problems: &problems)
        #expect(problems == ["--preload: 'perhaps' is not a boolean (true/false/yes/no/on/off/1/0)", "--workers: 'many' is not an integer"])
    }

    @Test func booleanProblemsListTheAcceptedWords() {
        var configuration = ServerConfiguration()
        var problems: [String] = []
        configuration.applyEnvironment(["WHISPER_PRELOAD": "perhaps"], problems: &problems)
        #expect(problems == ["WHISPER_PRELOAD: 'perhaps' is not a boolean (true/false/yes/no/on/off/1/0)"])
        for word in ["yes", "ON", "1", "true"] {
            configuration.applyEnvironment(["WHISPER_PRELOAD": word], problems: &problems)
            #expect(configuration.models.preload, "\(word)")
            configuration.models.preload = false
        }
    }

    @Test func configFileAcceptsEveryKeyOfTheTable() throws {
        var problems: [String] = []
        let file = ServerConfiguration.fileEnvironment(
            json: Data(#"{"encoder_precision": "bfloat16", "decoder_weights": "int8", "access_log": false}"#.utf8), source: "c.json",
            problems: &problems
        )
        #expect(problems.isEmpty, "\(problems)")
        var configuration = ServerConfiguration()
        configuration.applyEnvironment(file, problems: &problems, source: "c.json")
        #expect(problems.isEmpty)
        #expect(configuration.inference.encoderPrecision == .bfloat16)
        #expect(configuration.inference.decoderWeights == .int8)
        #expect(!configuration.observability.accessLog)
        configuration.applyEnvironment(["WHISPER_WORKERS": "x"], problems: &problems, source: "c.json")
        #expect(problems == ["c.json: workers: 'x' is not an integer"])
    }

    @Test func jsonSyntaxErrorsGiveLineAndColumn() {
        var problems: [String] = []
        _ = ServerConfiguration.fileEnvironment(json: Data("{\n  \"port\": 9000,\n  \"host\" \"x\"\n}".utf8), source: "c.json", problems: &problems)
        #expect(problems.count == 1)
        #expect(problems.first?.hasPrefix("c.json: not valid JSON at line 3, column ") == true, "\(problems)")
    }

    @Test func anAliasNamingAMissingModelIsAStartupProblem() throws {
        var configuration = ServerConfiguration()
        configuration.models.directory = try ServerTest.makeModelsDirectory(["tiny.en"]).path
        configuration.models.aliases = ["fast": "tiny.en", "good": "large-v9"]
        #expect(configuration.problems.isEmpty)
        #expect(configuration.startupProblems.count == 1)
        #expect(configuration.startupProblems.first?.hasPrefix("--alias/WHISPER_MODEL_ALIASES: alias 'good' names model 'large-v9'") == true)
    }

    @Test func uploadLimitsBelowOneMebibyteAreShownAsConfigured() {
        var configuration = ServerConfiguration()
        var problems: [String] = []
        configuration.applyEnvironment(["WHISPER_MAX_UPLOAD_MB": "0.05"], problems: &problems)
        #expect(configuration.problems.isEmpty)
        let error = OpenAIError.tooLarge(limitBytes: configuration.limits.maxUploadBytes)
        #expect(error.message == "the request is too large: the limit is 0.05 MiB (52428 bytes)")
        #expect(OpenAIError.tooLarge(limitBytes: 25 * 1_048_576).message.contains("25 MiB"))
    }

    @Test func originalServerVariablesAreReadWhereOursAreUnset() throws {
        var configuration = ServerConfiguration()
        let legacy = [
            "WHISPER_SERVER_HOST": "::1", "WHISPER_SERVER_PORT": "9100", "MAX_AUDIO_FILE_SIZE_MB": "10",
            "ALLOWED_ORIGINS": "http://localhost:3000,https://app.example.com", "ALLOWED_HOSTS": #"["stt.example.com"]"#,
            "LOG_LEVEL": "WARNING", "RATE_LIMIT_REQUESTS": "5", "RATE_LIMIT_WINDOW": "1 minute", "WHISPER_PORT": "9200",
        ]
        try configuration.applyEnvironment(legacy)
        #expect(configuration.http.host == "::1")
        #expect(configuration.http.port == 9200, "ours wins")
        #expect(configuration.limits.maxUploadBytes == 10 * 1_048_576)
        #expect(configuration.security.cors.origins == ["http://localhost:3000", "https://app.example.com"])
        #expect(configuration.security.allowedHosts == ["stt.example.com"])
        #expect(configuration.observability.logLevel == .warning)
        #expect(configuration.security.rateLimitRequests == 5)
        #expect(configuration.security.rateLimitWindowSeconds == 60)
        let used = ServerConfiguration.legacyVariables(in: legacy)
        #expect(used.count == 8)
        #expect(used.first { $0.name == "WHISPER_SERVER_PORT" }?.isOverridden == true)
        #expect(used.first { $0.name == "LOG_LEVEL" } == .init(name: "LOG_LEVEL", replacement: "WHISPER_LOG_LEVEL", isOverridden: false))
        for (text, seconds) in [("30 seconds", 30.0), ("1 hour", 3600), ("2 minutes", 120), ("45", 45)] {
            try configuration.applyEnvironment(["RATE_LIMIT_WINDOW": text])
            #expect(configuration.security.rateLimitWindowSeconds == seconds, "\(text)")
        }
        #expect(throws: ServerConfiguration.ValidationError.self) { try configuration.applyEnvironment(["RATE_LIMIT_WINDOW": "a fortnight"]) }
        for level in ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] {
            try configuration.applyEnvironment(["LOG_LEVEL": level])
            #expect(configuration.observability.logLevel.rawValue == level.lowercased())
        }
    }

    @Test func badOriginalServerValuesAreListedWithTheRest() throws {
        let models = try ServerTest.makeModelsDirectory()
        #expect {
            try ServerConfiguration.load(environment: [
                "WHISPER_MODELS_DIR": models.path, "RATE_LIMIT_WINDOW": "soon", "LOG_LEVEL": "LOUD", "WHISPER_SERVER_PORT": "70000",
            ])
        } throws: { error in
            let problems = (error as? ServerConfiguration.ValidationError)?.problems ?? []
            return problems.count == 3 && problems.contains { $0.hasPrefix("RATE_LIMIT_WINDOW: 'soon'") }
                && problems.contains { $0.hasPrefix("LOG_LEVEL: 'LOUD'") } && problems.contains { $0.contains("70000") }
        }
    }
}
