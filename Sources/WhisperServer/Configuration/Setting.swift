import Foundation

/// One setting of `whisper-server serve`: every name it goes by, its type, default, range and help, and how its text
/// is parsed into ``ServerConfiguration`` and checked there.
///
/// The rows of ``ServerConfiguration/settings`` drive the command line, the environment, the config file, validation,
/// `serve --help` and the settings table of docs/configuration.md, so a setting is declared once.
///
/// ```swift
/// Setting.integer(
///     "port", flag: "--port", environment: "WHISPER_PORT", legacy: "WHISPER_SERVER_PORT",
///     help: "TCP port, 0 for any free port", \.http.port, range: 0...65535)
/// ```
public struct Setting {
    /// The config-file key, e.g. `max_upload_mb`: the environment variable without `WHISPER_`, lower-cased.
    public let key: String
    /// The `serve` option, e.g. `--max-upload-mb`; `nil` for settings read only from the environment and the file.
    public let flag: String?
    /// The environment variable, e.g. `WHISPER_MAX_UPLOAD_MB`.
    public let environment: String
    /// The original Python server's name for the same variable, read when ours is unset.
    public let legacyEnvironment: String?
    /// What the value is, as the docs show it (`integer`, `seconds`, `json, text or auto`, …).
    public let type: String
    /// The default, as the docs show it.
    public let defaultText: String
    /// The accepted range, as the docs show it; `nil` when any value of the type goes.
    public let rangeText: String?
    /// One or two sentences for `--help` and the docs.
    public let help: String
    /// Whether the option takes no value on the command line (`--preload`).
    public let isSwitch: Bool
    /// Whether the option may be given several times, its values joined as a comma-separated list.
    public let isRepeatable: Bool
    /// The placeholder shown after the option in `--help`, e.g. `<seconds>`.
    public let valueName: String

    /// Parses `text` into the configuration; returns why it does not parse, or `nil`.
    let apply: (inout ServerConfiguration, String) -> String?
    /// Records what is wrong with the setting's value in a parsed configuration.
    let check: (ServerConfiguration, String, inout ConfigurationValidator) -> Void

    /// How problems name the setting: its flag and variable, e.g. `--port/WHISPER_PORT`.
    public var label: String { flag.map { "\($0)/\(environment)" } ?? environment }

    /// A row of the table.
    /// - Parameters:
    ///   - key: the config-file key (the environment variable is `WHISPER_` + the key upper-cased unless given).
    ///   - flag: the `serve` option, or `nil`.
    ///   - environment: the environment variable, when it is not derived from `key`.
    ///   - legacy: the original server's variable name, if it had one.
    ///   - type: the value's type for the docs.
    ///   - defaultText: the default for the docs.
    ///   - range: the accepted range for the docs.
    ///   - help: what the setting does.
    ///   - isSwitch: whether the option takes no value.
    ///   - isRepeatable: whether the option may repeat (lists).
    ///   - valueName: the `--help` placeholder.
    ///   - apply: parses text into the configuration, returning why it failed.
    ///   - check: validates the parsed value.
    init(
        _ key: String, flag: String?, environment: String? = nil, legacy: String? = nil, type: String, defaultText: String,
        range: String? = nil, help: String, isSwitch: Bool = false, isRepeatable: Bool = false, valueName: String,
        apply: @escaping (inout ServerConfiguration, String) -> String?,
        check: @escaping (ServerConfiguration, String, inout ConfigurationValidator) -> Void = { _, _, _ in }
    ) {
        self.key = key
        self.flag = flag
        self.environment = environment ?? "WHISPER_" + key.uppercased()
        self.legacyEnvironment = legacy
        self.type = type
        self.defaultText = defaultText
        self.rangeText = range
        self.help = help
        self.isSwitch = isSwitch
        self.isRepeatable = isRepeatable
        self.valueName = valueName
        self.apply = apply
        self.check = check
    }
}

// MARK: - Rows by type

extension Setting {
    /// The defaults, read to document each row's default from the struct that declares it.
    static let defaults = ServerConfiguration()

    /// Parses text with `parse` into the setting at `path`, or answers `'text' is not <what>`.
    private static func setter<Value>(
        _ path: WritableKeyPath<ServerConfiguration, Value>, _ what: String, _ parse: @escaping (String) -> Value?
    ) -> (inout ServerConfiguration, String) -> String? {
        { configuration, text in
            guard let value = parse(text) else { return "'\(text)' is not \(what)" }
            configuration[keyPath: path] = value
            return nil
        }
    }

    /// A text setting; `validate` reports a bad value (the message follows the label).
    static func text(
        _ key: String, flag: String?, environment: String? = nil, legacy: String? = nil, help: String,
        _ path: WritableKeyPath<ServerConfiguration, String>, valueName: String = "<text>",
        validate: @escaping (String) -> String? = { $0.isEmpty ? "must not be empty" : nil }
    ) -> Setting {
        Setting(
            key, flag: flag, environment: environment, legacy: legacy, type: "text", defaultText: "`\(defaults[keyPath: path])`",
            help: help, valueName: valueName,
            apply: { configuration, text in
                configuration[keyPath: path] = text.trimmingCharacters(in: .whitespaces)
                return nil
            },
            check: { configuration, label, check in
                if let problem = validate(configuration[keyPath: path]) { check.report("\(label): \(problem)") }
            }
        )
    }

    /// A text setting that is unset by default.
    static func optionalText(
        _ key: String, flag: String?, help: String, _ path: WritableKeyPath<ServerConfiguration, String?>, valueName: String
    ) -> Setting {
        Setting(
            key, flag: flag, type: "text", defaultText: "none", help: help, valueName: valueName,
            apply: { configuration, text in
                let value = text.trimmingCharacters(in: .whitespaces)
                configuration[keyPath: path] = value.isEmpty ? nil : value
                return nil
            }
        )
    }

    /// A whole number within `range`.
    static func integer(
        _ key: String, flag: String?, legacy: String? = nil, help: String, _ path: WritableKeyPath<ServerConfiguration, Int>,
        range: ClosedRange<Int>, valueName: String = "<n>",
        check: ((Int, String, inout ConfigurationValidator) -> Void)? = nil
    ) -> Setting {
        Setting(
            key, flag: flag, legacy: legacy, type: "integer", defaultText: "`\(defaults[keyPath: path])`",
            range: "\(range.lowerBound)…\(range.upperBound)", help: help, valueName: valueName,
            apply: setter(path, "an integer") { SettingText.integer($0) },
            check: { configuration, label, validator in
                let value = configuration[keyPath: path]
                if let check { check(value, label, &validator) } else { validator.checkRange(value, range, setting: label) }
            }
        )
    }

    /// A whole number within `range` that may be unset (`nil`).
    static func optionalInteger(
        _ key: String, flag: String?, legacy: String? = nil, help: String, _ path: WritableKeyPath<ServerConfiguration, Int?>,
        range: ClosedRange<Int>, valueName: String = "<n>"
    ) -> Setting {
        Setting(
            key, flag: flag, legacy: legacy, type: "integer", defaultText: defaults[keyPath: path].map { "`\($0)`" } ?? "none",
            range: "\(range.lowerBound)…\(range.upperBound)", help: help, valueName: valueName,
            apply: setter(path, "an integer") { SettingText.integer($0).map { Optional($0) } },
            check: { configuration, label, validator in
                if let value = configuration[keyPath: path] { validator.checkRange(value, range, setting: label) }
            }
        )
    }

    /// A number within `range`; `unit` names it in the docs (`seconds`).
    static func number<Value: BinaryFloatingPoint & LosslessStringConvertible>(
        _ key: String, flag: String?, help: String, _ path: WritableKeyPath<ServerConfiguration, Value>,
        range: ClosedRange<Double>, unit: String = "number", valueName: String = "<seconds>"
    ) -> Setting {
        Setting(
            key, flag: flag, type: unit, defaultText: "`\(SettingText.format(Double(defaults[keyPath: path])))`",
            range: "\(SettingText.format(range.lowerBound))…\(SettingText.format(range.upperBound))", help: help, valueName: valueName,
            apply: setter(path, "a number") { SettingText.number($0).map { Value($0) } },
            check: { configuration, label, validator in
                validator.checkRange(Double(configuration[keyPath: path]), range, setting: label)
            }
        )
    }

    /// A number within `range` that may be unset (`nil`); `unsetText` documents what unset means.
    static func optionalNumber<Value: BinaryFloatingPoint & LosslessStringConvertible>(
        _ key: String, flag: String?, help: String, _ path: WritableKeyPath<ServerConfiguration, Value?>,
        range: ClosedRange<Double>, unit: String = "number", unsetText: String, valueName: String = "<seconds>"
    ) -> Setting {
        Setting(
            key, flag: flag, type: unit,
            defaultText: defaults[keyPath: path].map { "`\(SettingText.format(Double($0)))`" } ?? unsetText,
            range: "\(SettingText.format(range.lowerBound))…\(SettingText.format(range.upperBound))", help: help, valueName: valueName,
            apply: setter(path, "a number") { SettingText.number($0).map { Optional(Value($0)) } },
            check: { configuration, label, validator in
                if let value = configuration[keyPath: path] { validator.checkRange(Double(value), range, setting: label) }
            }
        )
    }

    /// A boolean; a switch takes no value on the command line (`--preload`), other options take `true` or `false`.
    static func boolean(
        _ key: String, flag: String?, isSwitch: Bool, help: String, _ path: WritableKeyPath<ServerConfiguration, Bool>
    ) -> Setting {
        Setting(
            key, flag: flag, type: "boolean", defaultText: "`\(defaults[keyPath: path])`", help: help, isSwitch: isSwitch,
            valueName: "<true|false>",
            apply: { configuration, text in
                guard let value = SettingText.boolean(text) else {
                    return "'\(text)' is not a boolean (\(SettingText.booleanWords))"
                }
                configuration[keyPath: path] = value
                return nil
            }
        )
    }

    /// A comma-separated list (a JSON array in the file); the option may repeat. `validate` checks each element.
    static func list(
        _ key: String, flag: String?, legacy: String? = nil, help: String, _ path: WritableKeyPath<ServerConfiguration, [String]>,
        defaultText: String, valueName: String, validate: @escaping (String, String, inout ConfigurationValidator) -> Void
    ) -> Setting {
        Setting(
            key, flag: flag, legacy: legacy, type: "list", defaultText: defaultText, help: help, isRepeatable: true, valueName: valueName,
            apply: { configuration, text in
                configuration[keyPath: path] = SettingText.list(text)
                return nil
            },
            check: { configuration, label, validator in
                for element in configuration[keyPath: path] { validate(element, label, &validator) }
            }
        )
    }

    /// One of a fixed set of words, e.g. `json, text or auto`.
    static func choice<Value>(
        _ key: String, flag: String?, legacy: String? = nil, help: String, _ path: WritableKeyPath<ServerConfiguration, Value>,
        choices: [String], defaultText: String, parse: @escaping (String) -> Value?
    ) -> Setting {
        let words = SettingText.either(choices)
        return Setting(
            key, flag: flag, legacy: legacy, type: words, defaultText: "`\(defaultText)`", help: help, valueName: "<\(choices.joined(separator: "|"))>",
            apply: { configuration, text in
                guard let value = parse(text.trimmingCharacters(in: .whitespaces)) else { return "'\(text)' is not \(words)" }
                configuration[keyPath: path] = value
                return nil
            }
        )
    }
}

/// Parsing and formatting of settings' text, shared by the environment, the config file and the command line.
enum SettingText {
    /// The words a boolean may be written as, for error messages and the docs.
    static let booleanWords = "true/false/yes/no/on/off/1/0"

    /// A whole number, spaces around ignored.
    static func integer(_ text: String) -> Int? {
        Int(text.trimmingCharacters(in: .whitespaces))
    }

    /// A finite number, spaces around ignored.
    static func number(_ text: String) -> Double? {
        Double(text.trimmingCharacters(in: .whitespaces)).flatMap { $0.isFinite ? $0 : nil }
    }

    /// `true/yes/on/1` or `false/no/off/0` (any case); the empty string is `false`, as an empty variable means off.
    static func boolean(_ text: String) -> Bool? {
        switch text.trimmingCharacters(in: .whitespaces).lowercased() {
        case "1", "true", "yes", "on": true
        case "0", "false", "no", "off", "": false
        default: nil
        }
    }

    /// A comma-separated list, blanks dropped; a JSON array of strings (the original server's form) is read too.
    static func list(_ text: String) -> [String] {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("["), let array = try? JSONDecoder().decode([String].self, from: Data(trimmed.utf8)) {
            return array.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        return trimmed.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// `alias=model,alias=model`, or `nil` when a pair is malformed.
    static func aliases(_ text: String) -> [String: String]? {
        var aliases: [String: String] = [:]
        for pair in text.split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
            aliases[parts[0]] = parts[1]
        }
        return aliases
    }

    /// Seconds, written as a number (`60`) or as the original server wrote them: a count and a unit
    /// (`30 seconds`, `1 minute`, `2 hours`, `1 day`; `s`, `min`, `h` too).
    static func duration(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        if let seconds = number(trimmed) { return seconds }
        let digits = trimmed.prefix { $0.isNumber || $0 == "." }
        guard let count = Double(digits), count.isFinite else { return nil }
        let unit = trimmed.dropFirst(digits.count).trimmingCharacters(in: .whitespaces)
        let seconds: [String: Double] = [
            "s": 1, "sec": 1, "second": 1, "seconds": 1, "m": 60, "min": 60, "minute": 60, "minutes": 60,
            "h": 3600, "hour": 3600, "hours": 3600, "d": 86_400, "day": 86_400, "days": 86_400,
        ]
        return seconds[unit].map { count * $0 }
    }

    /// A number without a trailing `.0`: `25`, `0.05`.
    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }

    /// `a, b or c`.
    static func either(_ words: [String]) -> String {
        words.count < 2 ? words.joined() : words.dropLast().joined(separator: ", ") + " or " + words[words.count - 1]
    }
}
