import Foundation
import Logging

/// How log lines are written.
public enum LogFormat: String, Sendable, CaseIterable {
    /// One JSON object per line.
    case json
    /// Human-readable text.
    case text
    /// Text when stdout is a terminal, JSON otherwise.
    case auto
}

/// Logging, access-log and metrics settings, to be nested in the server configuration.
public struct ObservabilitySettings: Sendable, Equatable {
    /// Log line format (`--log-format`, `WHISPER_LOG_FORMAT`: `json`, `text`, `auto`). Default `auto`.
    public var logFormat: LogFormat
    /// Minimum level (`--log-level`, `WHISPER_LOG_LEVEL`: trace, debug, info, notice, warning, error, critical). Default `info`.
    public var logLevel: Logger.Level
    /// Whether one access-log line is written per request. Default `true`.
    public var accessLog: Bool
    /// Whether `/metrics` is served. Default `true`.
    public var metricsEnabled: Bool
    /// Path of the Prometheus endpoint. Default `/metrics`.
    public var metricsPath: String

    public init(
        logFormat: LogFormat = .auto,
        logLevel: Logger.Level = .info,
        accessLog: Bool = true,
        metricsEnabled: Bool = true,
        metricsPath: String = "/metrics"
    ) {
        self.logFormat = logFormat
        self.logLevel = logLevel
        self.accessLog = accessLog
        self.metricsEnabled = metricsEnabled
        self.metricsPath = metricsPath
    }

    /// Parses a log level name (case-insensitive; `warn` is accepted for `warning`).
    public static func parseLogLevel(_ text: String) -> Logger.Level? {
        let value = text.trimmingCharacters(in: .whitespaces).lowercased()
        return value == "warn" ? .warning : Logger.Level(rawValue: value)
    }
}
