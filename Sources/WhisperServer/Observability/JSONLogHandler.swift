import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where finished log lines go. Thread-safe: lines from concurrent requests never interleave.
public struct LogLineSink: Sendable {
    let write: @Sendable (String) -> Void

    /// A sink calling `write` with each line (without trailing newline).
    public init(_ write: @escaping @Sendable (String) -> Void) {
        self.write = write
    }

    /// Standard output, one `write(2)` per line under a process-wide lock.
    public static var standardOutput: LogLineSink {
        LogLineSink { line in StandardOutputWriter.shared.write(line) }
    }
}

/// Serialises whole lines to file descriptor 1.
final class StandardOutputWriter: @unchecked Sendable {
    static let shared = StandardOutputWriter()
    private let lock = NSLock()

    func write(_ line: String) {
        var bytes = Array(line.utf8)
        bytes.append(0x0A)
        lock.withLock {
            bytes.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let written = Foundation.write(1, raw.baseAddress! + offset, raw.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        return
                    }
                    offset += written
                }
            }
        }
    }
}

/// A swift-log handler writing one JSON object per line (or readable text), for log collectors.
///
/// A JSON line has `timestamp` (ISO 8601 UTC with milliseconds), `level`, `message`, `logger` (the label)
/// and every metadata entry as a top-level key; nested metadata is flattened with dotted keys
/// (`["http": ["status": 200]]` → `"http.status"`). Metadata that was logged as a number or boolean stays
/// one in JSON (`duration_ms`, `http.status`, `audio_seconds`).
///
/// ```json
/// {"timestamp":"2026-11-26T14:02:03.517Z","level":"info","message":"request completed","logger":"whisper","duration_ms":812.4,"http.method":"POST","http.path":"/v1/audio/transcriptions","http.status":200,"request.id":"req_9f…"}
/// ```
///
/// ```swift
/// JSONLogHandler.bootstrap(format: .auto, level: .info)
/// ```
public struct JSONLogHandler: LogHandler {
    /// Output style.
    public enum Style: Sendable {
        case json
        case text
    }

    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public var logLevel: Logger.Level
    let label: String
    let style: Style
    let sink: LogLineSink

    /// Creates a handler.
    /// - Parameters:
    ///   - label: the logger's label, written as `logger`.
    ///   - style: JSON or text.
    ///   - level: minimum level.
    ///   - metadataProvider: contextual metadata, or `nil`.
    ///   - sink: where lines go (default standard output).
    public init(
        label: String,
        style: Style = .json,
        level: Logger.Level = .info,
        metadataProvider: Logger.MetadataProvider? = nil,
        sink: LogLineSink = .standardOutput
    ) {
        self.label = label
        self.style = style
        self.logLevel = level
        self.metadataProvider = metadataProvider
        self.sink = sink
    }

    /// Resolves ``LogFormat/auto``: text when stdout is a terminal, JSON otherwise.
    public static func style(for format: LogFormat, isTerminal: Bool = isatty(STDOUT_FILENO) != 0) -> Style {
        switch format {
        case .json: .json
        case .text: .text
        case .auto: isTerminal ? .text : .json
        }
    }

    /// Bootstraps `LoggingSystem` with this handler. Call once per process.
    public static func bootstrap(format: LogFormat, level: Logger.Level, metadataProvider: Logger.MetadataProvider? = nil) {
        let style = style(for: format)
        LoggingSystem.bootstrap(
            { label, provider in JSONLogHandler(label: label, style: style, level: level, metadataProvider: provider) },
            metadataProvider: metadataProvider
        )
    }

    /// Bootstraps `LoggingSystem` from ``ObservabilitySettings`` (format and level). Call once per process.
    public static func bootstrap(_ settings: ObservabilitySettings, metadataProvider: Logger.MetadataProvider? = nil) {
        bootstrap(format: settings.logFormat, level: settings.logLevel, metadataProvider: metadataProvider)
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        if let error = event.error { merged["error"] = .string(String(describing: error)) }
        let flat = Self.flatten(merged)
        let line: String
        switch style {
        case .json: line = Self.jsonLine(timestamp: Self.timestamp(), level: event.level, message: event.message.description, label: label, fields: flat)
        case .text: line = Self.textLine(timestamp: Self.timestamp(), level: event.level, message: event.message.description, label: label, fields: flat)
        }
        sink.write(line)
    }

    // MARK: Formatting

    /// A flattened field value, typed for JSON.
    enum Field: Equatable {
        case string(String)
        case number(String)
        case bool(Bool)
    }

    /// Flattens metadata into sorted dotted keys.
    static func flatten(_ metadata: Logger.Metadata) -> [(String, Field)] {
        var out: [(String, Field)] = []
        func visit(_ prefix: String, _ value: Logger.Metadata.Value) {
            switch value {
            case .string(let string):
                out.append((prefix, .string(string)))
            case .stringConvertible(let convertible):
                out.append((prefix, typed(convertible)))
            case .dictionary(let dictionary):
                for (key, nested) in dictionary { visit(prefix.isEmpty ? key : "\(prefix).\(key)", nested) }
            case .array(let array):
                let rendered = array.map { element -> String in
                    switch element {
                    case .string(let s): return LogJSONEscaping.quote(s)
                    default: return LogJSONEscaping.quote(element.description)
                    }
                }
                out.append((prefix, .number("[" + rendered.joined(separator: ",") + "]")))
            }
        }
        for (key, value) in metadata { visit(key, value) }
        return out.sorted { $0.0 < $1.0 }
    }

    static func typed(_ value: any CustomStringConvertible & Sendable) -> Field {
        switch value {
        case let bool as Bool: return .bool(bool)
        case let int as Int: return .number(String(int))
        case let int as Int64: return .number(String(int))
        case let int as UInt64: return .number(String(int))
        case let int as Int32: return .number(String(int))
        case let double as Double: return double.isFinite ? .number(formatDouble(double)) : .string(String(double))
        case let float as Float: return float.isFinite ? .number(formatDouble(Double(float))) : .string(String(float))
        default: return .string(value.description)
        }
    }

    static func formatDouble(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String((value * 1000).rounded() / 1000)
    }

    static func jsonLine(timestamp: String, level: Logger.Level, message: String, label: String, fields: [(String, Field)]) -> String {
        var line = "{\"timestamp\":\"\(timestamp)\",\"level\":\"\(level.rawValue)\",\"message\":"
        line += LogJSONEscaping.quote(message)
        line += ",\"logger\":"
        line += LogJSONEscaping.quote(label)
        let reserved: Set<String> = ["timestamp", "level", "message", "logger"]
        for (key, value) in fields {
            line += ","
            line += LogJSONEscaping.quote(reserved.contains(key) ? "metadata.\(key)" : key)
            line += ":"
            switch value {
            case .string(let string): line += LogJSONEscaping.quote(string)
            case .number(let number): line += number
            case .bool(let bool): line += bool ? "true" : "false"
            }
        }
        line += "}"
        return line
    }

    static func textLine(timestamp: String, level: Logger.Level, message: String, label: String, fields: [(String, Field)]) -> String {
        var line = "\(timestamp) \(level.rawValue.uppercased()) [\(label)] \(message)"
        for (key, value) in fields {
            switch value {
            case .string(let string): line += " \(key)=" + (string.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" }) ? LogJSONEscaping.quote(string) : string)
            case .number(let number): line += " \(key)=\(number)"
            case .bool(let bool): line += " \(key)=\(bool)"
            }
        }
        return line
    }

    /// The current UTC time as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return timestamp(seconds: Int(now.tv_sec), milliseconds: Int(now.tv_nsec) / 1_000_000)
    }

    static func timestamp(seconds: Int, milliseconds: Int) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(milliseconds), 3))Z"
    }
}
