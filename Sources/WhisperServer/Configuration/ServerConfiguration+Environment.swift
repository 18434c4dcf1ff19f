import Foundation

extension ServerConfiguration {
    /// The `WHISPER_*` environment variables read by ``applyEnvironment(_:)`` and the settings they set.
    public static let environmentVariables: [String] = [
        "WHISPER_HOST", "WHISPER_PORT", "WHISPER_MODELS_DIR", "WHISPER_DEFAULT_MODEL", "WHISPER_MODEL_ALIASES",
        "WHISPER_WORKERS", "WHISPER_QUEUE_SIZE", "WHISPER_REQUEST_TIMEOUT", "WHISPER_MAX_UPLOAD_MB",
        "WHISPER_MAX_LOADED_MODELS", "WHISPER_MODEL_IDLE_TTL", "WHISPER_PRELOAD", "WHISPER_MAX_AUDIO_SECONDS",
    ]

    /// Overrides settings with the `WHISPER_*` variables present in `environment`.
    /// - Parameter environment: variables, usually `ProcessInfo.processInfo.environment`.
    /// - Throws: ``ValidationError`` listing every variable whose value does not parse.
    public mutating func applyEnvironment(_ environment: [String: String]) throws(ValidationError) {
        var reader = EnvironmentReader(environment: environment)
        reader.read("WHISPER_HOST", into: &http.host)
        reader.read("WHISPER_PORT", into: &http.port)
        reader.read("WHISPER_MODELS_DIR", into: &models.directory)
        reader.read("WHISPER_DEFAULT_MODEL", into: &models.defaultModel)
        reader.readAliases("WHISPER_MODEL_ALIASES", into: &models.aliases)
        reader.read("WHISPER_MAX_LOADED_MODELS", into: &models.maxLoaded)
        reader.readOptional("WHISPER_MODEL_IDLE_TTL", into: &models.idleTTL)
        reader.read("WHISPER_PRELOAD", into: &models.preload)
        reader.read("WHISPER_WORKERS", into: &inference.workers)
        reader.read("WHISPER_QUEUE_SIZE", into: &inference.queueSize)
        reader.read("WHISPER_REQUEST_TIMEOUT", into: &inference.requestTimeout)
        var megabytes: Double?
        reader.readOptional("WHISPER_MAX_UPLOAD_MB", into: &megabytes)
        if let megabytes { limits.maxUploadBytes = Self.bytes(megabytes: megabytes) }
        reader.read("WHISPER_MAX_AUDIO_SECONDS", into: &limits.maxAudioSeconds)
        if !reader.problems.isEmpty { throw ValidationError(problems: reader.problems) }
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

    mutating func readAliases(_ name: String, into aliases: inout [String: String]) {
        guard let text = environment[name] else { return }
        if let parsed = ServerConfiguration.parseAliases(text) {
            aliases.merge(parsed) { _, new in new }
        } else {
            problems.append("\(name)=\(text) is not a list of alias=model pairs")
        }
    }
}
