import Foundation
import Hummingbird
import NIOCore
import WhisperEngine

/// Turns finished transcriptions into response bodies in each dialect's shape.
enum TranscriptionResponse {
    /// The answer to a non-streaming request.
    static func make(_ outcome: TranscriptionService.Outcome, for request: TranscriptionRequest) -> Response {
        switch request.dialect {
        case .openAI, .legacyJSON:
            let rendered = request.responseFormat.render(
                outcome.transcript, granularities: request.granularities, includeLogprobs: request.includeLogprobs)
            guard request.dialect == .legacyJSON else { return body(rendered, format: request.responseFormat) }
            guard request.responseFormat == .json || request.responseFormat == .verboseJSON else {
                return body(rendered, format: request.responseFormat)
            }
            return json(legacyJSON(rendered, outcome: outcome, request: request))
        case .chatCompletion:
            return json(encode(ChatCompletion(outcome: outcome)))
        }
    }

    /// The original server's fields (`text`, `processing_time`, `model`, `format`) merged into OpenAI's JSON.
    static func legacyJSON(_ rendered: String, outcome: TranscriptionService.Outcome, request: TranscriptionRequest) -> [UInt8] {
        var object = (try? JSONSerialization.jsonObject(with: Data(rendered.utf8))) as? [String: Any] ?? [:]
        object["text"] = outcome.transcript.text
        object["processing_time"] = (outcome.processingSeconds * 1000).rounded() / 1000
        object["model"] = outcome.modelID
        object["format"] = request.declaredAudioFormat ?? outcome.audioFormat
        object["response_format"] = request.responseFormat.rawValue
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return Array(data)
    }

    static func body(_ text: String, format: TranscriptFormat) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = format.contentType
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func json(_ bytes: [UInt8]) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func encode(_ value: some Encodable) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return (try? Array(encoder.encode(value))) ?? Array("{}".utf8)
    }
}

/// OpenAI's `chat.completion` object with the transcript as the assistant's message.
struct ChatCompletion: Encodable {
    struct Choice: Encodable {
        struct Message: Encodable {
            let role = "assistant"
            let content: String
        }

        let index = 0
        let message: Message
        let finishReason = "stop"

        enum CodingKeys: String, CodingKey {
            case index, message
            case finishReason = "finish_reason"
        }
    }

    struct Usage: Encodable {
        let promptTokens = 0
        let completionTokens: Int
        var totalTokens: Int { completionTokens }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(promptTokens, forKey: .promptTokens)
            try container.encode(completionTokens, forKey: .completionTokens)
            try container.encode(totalTokens, forKey: .totalTokens)
        }

        enum CodingKeys: String, CodingKey {
            case promptTokens = "prompt_tokens"
            case completionTokens = "completion_tokens"
            case totalTokens = "total_tokens"
        }
    }

    let id: String
    let object = "chat.completion"
    let created: Int
    let model: String
    let choices: [Choice]
    let usage: Usage

    init(outcome: TranscriptionService.Outcome) {
        id = ChatCompletion.makeID()
        created = Int(Date().timeIntervalSince1970)
        model = outcome.modelID
        choices = [Choice(message: .init(content: outcome.transcript.text))]
        usage = Usage(completionTokens: outcome.transcript.segments.reduce(0) { $0 + $1.tokens.count })
    }

    static func makeID() -> String {
        "chatcmpl-" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(24)
    }

    enum CodingKeys: String, CodingKey { case id, object, created, model, choices, usage }
}
