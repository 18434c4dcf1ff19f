import Foundation

/// OpenAI's `chunking_strategy` as sent: the string `"auto"`, or `{"type":"server_vad","threshold",
/// "prefix_padding_ms","silence_duration_ms"}` (a JSON value, a JSON string in a form field, or bracketed form
/// fields such as `chunking_strategy[type]` as the OpenAI SDKs send it). Checked by ``TranscriptionRequest/Fields``.
struct ChunkingStrategy: Decodable, Equatable {
    /// `auto` or `server_vad`; `nil` when the value had no type.
    var type: String?
    var threshold: Double?
    var prefixPaddingMs: Double?
    var silenceDurationMs: Double?

    enum CodingKeys: String, CodingKey {
        case type, threshold
        case prefixPaddingMs = "prefix_padding_ms"
        case silenceDurationMs = "silence_duration_ms"
    }

    init(type: String?, threshold: Double? = nil, prefixPaddingMs: Double? = nil, silenceDurationMs: Double? = nil) {
        self.type = type
        self.threshold = threshold
        self.prefixPaddingMs = prefixPaddingMs
        self.silenceDurationMs = silenceDurationMs
    }

    /// Decodes `"auto"` (any string becomes the type) or the object.
    init(from decoder: any Decoder) throws {
        if let single = try? decoder.singleValueContainer(), let text = try? single.decode(String.self) {
            self.init(type: text)
            return
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            type: try container.decodeIfPresent(String.self, forKey: .type),
            threshold: try container.decodeIfPresent(Double.self, forKey: .threshold),
            prefixPaddingMs: try container.decodeIfPresent(Double.self, forKey: .prefixPaddingMs),
            silenceDurationMs: try container.decodeIfPresent(Double.self, forKey: .silenceDurationMs))
    }

    /// Reads the form's `chunking_strategy` field (`auto` or a JSON object) or its bracketed sub-fields.
    /// - Throws: 400 when the field is neither `auto` nor a JSON object, or a number is not a number.
    init?(form: MultipartForm) throws(OpenAIError) {
        let param = "chunking_strategy"
        if let value = form.field(param)?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty {
            if value.hasPrefix("{") {
                do {
                    self = try JSONDecoder().decode(ChunkingStrategy.self, from: Data(value.utf8))
                } catch {
                    throw .invalidParameter(param, "chunking_strategy is not a valid JSON object with type, threshold, prefix_padding_ms and silence_duration_ms")
                }
            } else {
                self.init(type: value)
            }
            return
        }
        func number(_ key: CodingKeys) throws(OpenAIError) -> Double? {
            guard let text = form.field("\(param)[\(key.rawValue)]")?.trimmingCharacters(in: .whitespaces) else { return nil }
            guard let value = Double(text) else {
                throw .invalidParameter(param, "chunking_strategy[\(key.rawValue)] must be a number, got '\(text.prefix(40))'")
            }
            return value
        }
        let type = form.field("\(param)[type]")
        let threshold = try number(.threshold)
        let padding = try number(.prefixPaddingMs)
        let silence = try number(.silenceDurationMs)
        guard type != nil || threshold != nil || padding != nil || silence != nil else { return nil }
        self.init(type: type, threshold: threshold, prefixPaddingMs: padding, silenceDurationMs: silence)
    }
}
