import Foundation

extension ServerConfiguration {
    /// Reads a JSON config file into the environment variables its keys stand for.
    ///
    /// The file is one JSON object whose keys are the settings' keys (the `WHISPER_*` names without `WHISPER_`,
    /// lower-cased): `{"port": 9000, "api_keys_file": "/etc/whisper/keys", "allowed_hosts": ["api.example.com"]}`.
    /// Values are strings, numbers, booleans, arrays for lists, and an object for `model_aliases`.
    /// - Parameters:
    ///   - data: the file's bytes.
    ///   - source: the file's path, for the problems.
    ///   - problems: where syntax errors (with line and column), unknown keys and unusable values are reported.
    /// - Returns: `WHISPER_*` name → value, to apply with ``applyEnvironment(_:problems:source:)``.
    public static func fileEnvironment(json data: Data, source: String, problems: inout [String]) -> [String: String] {
        do {
            _ = try JSONSerialization.jsonObject(with: data)
        } catch {
            let position = syntaxErrorPosition(error, in: data).map { " at line \($0.line), column \($0.column)" } ?? ""
            problems.append("\(source): not valid JSON\(position)")
            return [:]
        }
        guard let object = try? JSONDecoder().decode([String: ConfigFileValue].self, from: data) else {
            problems.append("\(source): not a JSON object of settings ({\"port\": 8084, …})")
            return [:]
        }
        let byKey = Dictionary(uniqueKeysWithValues: settings.map { ($0.key, $0) })
        var environment: [String: String] = [:]
        for (key, value) in object.sorted(by: { $0.key < $1.key }) {
            guard let setting = byKey[key] else {
                problems.append("\(source): unknown key '\(key)' (keys are the WHISPER_* variable names without WHISPER_, lower-cased)")
                continue
            }
            guard let text = value.text else {
                problems.append("\(source): \(key): not a string, number, boolean, list or object")
                continue
            }
            environment[setting.environment] = text
        }
        return environment
    }

    /// Line and column (from 1) of a JSON syntax error, from the byte offset Foundation's message gives.
    static func syntaxErrorPosition(_ error: any Error, in data: Data) -> (line: Int, column: Int)? {
        let message = ((error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String) ?? "\(error)"
        guard let range = message.range(of: "character ") else { return nil }
        let digits = message[range.upperBound...].prefix { $0.isNumber }
        guard let offset = Int(digits), offset <= data.count else { return nil }
        var line = 1
        var column = 1
        for byte in data.prefix(offset) {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        return (line, column)
    }
}

/// A value in the JSON config file, as the text its environment variable would hold: lists joined with commas,
/// objects as `key=value` pairs; `nil` for `null` or a list or object holding one.
private struct ConfigFileValue: Decodable {
    let text: String?

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let flag = try? container.decode(Bool.self) {
            text = flag ? "true" : "false"
        } else if let number = try? container.decode(Double.self) {
            text = SettingText.format(number)
        } else if let string = try? container.decode(String.self) {
            text = string
        } else if let list = try? container.decode([ConfigFileValue].self) {
            text = list.contains { $0.text == nil } ? nil : list.compactMap(\.text).joined(separator: ",")
        } else if let map = try? container.decode([String: ConfigFileValue].self) {
            let pairs = map.sorted { $0.key < $1.key }
            text = pairs.contains { $0.value.text == nil } ? nil : pairs.map { "\($0.key)=\($0.value.text ?? "")" }.joined(separator: ",")
        } else {
            text = nil
        }
    }
}
