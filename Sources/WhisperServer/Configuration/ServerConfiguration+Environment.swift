import Foundation

extension ServerConfiguration {
    /// The `WHISPER_*` environment variables read by ``applyEnvironment(_:)`` and the settings they set.
    public static let environmentVariables: [String] = [
        "WHISPER_HOST", "WHISPER_PORT", "WHISPER_HEADER_TIMEOUT", "WHISPER_BODY_TIMEOUT", "WHISPER_MAX_CONNECTIONS", "WHISPER_MODELS_DIR", "WHISPER_DEFAULT_MODEL", "WHISPER_MODEL_ALIASES",
        "WHISPER_WORKERS", "WHISPER_QUEUE_SIZE", "WHISPER_REQUEST_TIMEOUT", "WHISPER_MAX_UPLOAD_MB",
        "WHISPER_MAX_LOADED_MODELS", "WHISPER_MODEL_IDLE_TTL", "WHISPER_PRELOAD", "WHISPER_MAX_AUDIO_SECONDS",
        "WHISPER_MIN_AUDIO_SECONDS", "WHISPER_DECODE_TIMEOUT", "WHISPER_NORMALIZE_PEAK", "WHISPER_TRIM_SILENCE_DB",
        "WHISPER_API_KEYS_FILE", "WHISPER_API_KEYS", "WHISPER_ALLOW_UNAUTHENTICATED", "WHISPER_PROTECT_METRICS",
        "WHISPER_RATE_LIMIT_REQUESTS", "WHISPER_RATE_LIMIT_AUDIO_SECONDS", "WHISPER_RATE_LIMIT_WINDOW",
        "WHISPER_ALLOWED_HOSTS", "WHISPER_TRUSTED_PROXIES", "WHISPER_CORS_ORIGINS", "WHISPER_LOG_FORMAT", "WHISPER_LOG_LEVEL",
        "WHISPER_ACCESS_LOG", "WHISPER_METRICS", "WHISPER_SHUTDOWN_GRACE_SECONDS",
    ]

    /// Overrides settings with the `WHISPER_*` variables present in `environment`.
    /// - Parameter environment: variables, usually `ProcessInfo.processInfo.environment`.
    /// - Throws: ``ValidationError`` listing every variable whose value does not parse.
    public mutating func applyEnvironment(_ environment: [String: String]) throws(ValidationError) {
        var problems: [String] = []
        applyEnvironment(environment, problems: &problems)
        if !problems.isEmpty { throw ValidationError(problems: problems) }
    }

    /// Overrides settings with the `WHISPER_*` variables present in `environment`, appending a problem for each value that does not parse.
    /// - Parameters:
    ///   - environment: variables (or a config file's keys translated by ``fileEnvironment(json:source:)``).
    ///   - problems: where unparsable values are reported.
    ///   - source: prefix for the problems, e.g. the config file's path; `nil` for the environment.
    public mutating func applyEnvironment(_ environment: [String: String], problems: inout [String], source: String? = nil) {
        var reader = EnvironmentReader(environment: environment)
        reader.read("WHISPER_HOST", into: &http.host)
        reader.read("WHISPER_PORT", into: &http.port)
        reader.read("WHISPER_HEADER_TIMEOUT", into: &http.headerTimeout)
        reader.read("WHISPER_BODY_TIMEOUT", into: &http.bodyTimeout)
        reader.read("WHISPER_MAX_CONNECTIONS", into: &http.maxConnections)
        reader.read("WHISPER_MODELS_DIR", into: &models.directory)
        reader.read("WHISPER_DEFAULT_MODEL", into: &models.defaultModel)
        reader.readAliases("WHISPER_MODEL_ALIASES", into: &models.aliases)
        reader.read("WHISPER_MAX_LOADED_MODELS", into: &models.maxLoaded)
        reader.readOptional("WHISPER_MODEL_IDLE_TTL", into: &models.idleTTL)
        reader.read("WHISPER_PRELOAD", into: &models.preload)
        reader.read("WHISPER_WORKERS", into: &inference.workers)
        reader.read("WHISPER_QUEUE_SIZE", into: &inference.queueSize)
        reader.read("WHISPER_REQUEST_TIMEOUT", into: &inference.requestTimeout)
        reader.read("WHISPER_ENCODER_PRECISION", into: &inference.encoderPrecision)
        reader.read("WHISPER_DECODER_WEIGHTS", into: &inference.decoderWeights)
        var megabytes: Double?
        reader.readOptional("WHISPER_MAX_UPLOAD_MB", into: &megabytes)
        if let megabytes { limits.maxUploadBytes = Self.bytes(megabytes: megabytes) }
        reader.read("WHISPER_MAX_AUDIO_SECONDS", into: &limits.maxAudioSeconds)
        reader.read("WHISPER_MIN_AUDIO_SECONDS", into: &limits.minAudioSeconds)
        reader.read("WHISPER_DECODE_TIMEOUT", into: &limits.decodeTimeout)
        reader.read("WHISPER_NORMALIZE_PEAK", into: &preprocessing.normalizePeak)
        reader.readOptional("WHISPER_TRIM_SILENCE_DB", into: &preprocessing.trimSilenceThresholdDB)
        reader.readOptional("WHISPER_API_KEYS_FILE", into: &security.apiKeysFile)
        reader.readOptional("WHISPER_API_KEYS", into: &security.apiKeys)
        reader.read("WHISPER_ALLOW_UNAUTHENTICATED", into: &security.allowUnauthenticated)
        reader.read("WHISPER_PROTECT_METRICS", into: &security.protectMetrics)
        reader.readOptional("WHISPER_RATE_LIMIT_REQUESTS", into: &security.rateLimitRequests)
        reader.readOptional("WHISPER_RATE_LIMIT_AUDIO_SECONDS", into: &security.rateLimitAudioSeconds)
        reader.read("WHISPER_RATE_LIMIT_WINDOW", into: &security.rateLimitWindowSeconds)
        reader.readList("WHISPER_ALLOWED_HOSTS", into: &security.allowedHosts)
        reader.readList("WHISPER_TRUSTED_PROXIES", into: &security.trustedProxies)
        reader.readList("WHISPER_CORS_ORIGINS", into: &security.cors.origins)
        if let text = environment["WHISPER_LOG_FORMAT"] {
            if let format = LogFormat(rawValue: text.trimmingCharacters(in: .whitespaces).lowercased()) {
                observability.logFormat = format
            } else {
                reader.problems.append("WHISPER_LOG_FORMAT=\(text) is not json, text or auto")
            }
        }
        if let text = environment["WHISPER_LOG_LEVEL"] {
            if let level = ObservabilitySettings.parseLogLevel(text) {
                observability.logLevel = level
            } else {
                reader.problems.append("WHISPER_LOG_LEVEL=\(text) is not a log level (trace, debug, info, notice, warning, error, critical)")
            }
        }
        reader.read("WHISPER_ACCESS_LOG", into: &observability.accessLog)
        reader.read("WHISPER_METRICS", into: &observability.metricsEnabled)
        reader.read("WHISPER_SHUTDOWN_GRACE_SECONDS", into: &lifecycle.shutdownGraceSeconds)
        for problem in reader.problems {
            problems.append(source.map { "\($0): \(problem)" } ?? problem)
        }
    }

    /// The config-file key of an environment variable: the name without `WHISPER_`, lower-cased (`WHISPER_MAX_UPLOAD_MB` → `max_upload_mb`).
    public static func fileKey(forEnvironmentVariable name: String) -> String {
        String(name.dropFirst("WHISPER_".count)).lowercased()
    }

    /// Reads a JSON config file into the environment variables its keys stand for.
    ///
    /// The file is one JSON object whose keys are the environment variables' names without `WHISPER_`, lower-cased
    /// (`{"port": 9000, "api_keys_file": "/etc/whisper/keys", "allowed_hosts": ["api.example.com"]}`). Values are
    /// strings, numbers, booleans, or arrays for lists (joined with commas) and `model_aliases` may be an object.
    /// - Parameters:
    ///   - data: the file's bytes.
    ///   - source: the file's path, for the problems.
    ///   - problems: where unknown keys and unusable values are reported.
    /// - Returns: `WHISPER_*` name → value, to apply with ``applyEnvironment(_:problems:source:)``.
    public static func fileEnvironment(json data: Data, source: String, problems: inout [String]) -> [String: String] {
        guard let object = try? JSONDecoder().decode([String: ConfigFileValue].self, from: data) else {
            problems.append("\(source): not a JSON object of settings ({\"port\": 8084, …})")
            return [:]
        }
        let known = Dictionary(
            uniqueKeysWithValues: environmentVariables.map { (fileKey(forEnvironmentVariable: $0), $0) }
        )
        var environment: [String: String] = [:]
        for (key, value) in object.sorted(by: { $0.key < $1.key }) {
            guard let name = known[key] else {
                problems.append("\(source): unknown key '\(key)' (keys are the WHISPER_* variable names without WHISPER_, lower-cased)")
                continue
            }
            environment[name] = value.text
        }
        return environment
    }

    /// Mebibytes (as given on the command line) to bytes.
    public static func bytes(megabytes: Double) -> Int {
        guard megabytes.isFinite, megabytes > 0 else { return 0 }
        return Int(min(megabytes, 1_000_000) * 1024 * 1024)
    }

    /// Parses `alias=model,alias=model`.
    public static func parseAliases(_ text: String) -> [String: String]? {
        var aliases: [String: String] = [:]
        for pair in text.split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
            aliases[parts[0]] = parts[1]
        }
        return aliases
    }
}

/// A value in the JSON config file, as the text its environment variable would hold.
private struct ConfigFileValue: Decodable {
    let text: String

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let flag = try? container.decode(Bool.self) {
            text = flag ? "true" : "false"
        } else if let number = try? container.decode(Double.self) {
            text = number == number.rounded() && abs(number) < 1e15 ? String(Int(number)) : String(number)
        } else if let string = try? container.decode(String.self) {
            text = string
        } else if let list = try? container.decode([ConfigFileValue].self) {
            text = list.map(\.text).joined(separator: ",")
        } else if let map = try? container.decode([String: ConfigFileValue].self) {
            text = map.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.text)" }.joined(separator: ",")
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a string, number, boolean, list or object")
        }
    }
}

/// Reads typed values from environment variables, collecting the ones that do not parse.
private struct EnvironmentReader {
    let environment: [String: String]
    var problems: [String] = []

    mutating func read<Value: LosslessStringConvertible>(_ name: String, into value: inout Value) {
        var optional: Value? = value
        readOptional(name, into: &optional)
        if let optional { value = optional }
    }

    mutating func read(_ name: String, into value: inout Bool) {
        guard let text = environment[name] else { return }
        switch text.lowercased() {
        case "1", "true", "yes", "on": value = true
        case "0", "false", "no", "off", "": value = false
        default: problems.append("\(name)=\(text) is not a boolean (true/false)")
        }
    }

    mutating func readOptional<Value: LosslessStringConvertible>(_ name: String, into value: inout Value?) {
        guard let text = environment[name] else { return }
        if let parsed = Value(text.trimmingCharacters(in: .whitespaces)) {
            value = parsed
        } else {
            problems.append("\(name)=\(text) is not a valid \(Value.self)")
        }
    }

    mutating func readList(_ name: String, into list: inout [String]) {
        guard let text = environment[name] else { return }
        list = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    mutating func readAliases(_ name: String, into aliases: inout [String: String]) {
        guard let text = environment[name] else { return }
        if let parsed = ServerConfiguration.parseAliases(text) {
            aliases.merge(parsed) { _, new in new }
        } else {
            problems.append("\(name)=\(text) is not a list of alias=model pairs")
        }
    }
}
