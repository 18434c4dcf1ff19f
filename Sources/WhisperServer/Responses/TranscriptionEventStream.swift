import Foundation
import Hummingbird
import NIOCore
import WhisperEngine

/// Server-Sent Events for `stream=true`: OpenAI's `transcript.text.delta` … `transcript.text.done` events, or
/// `chat.completion.chunk`s for chat completions; a failure after the first event is sent as an error event.
enum TranscriptionEventStream {
    /// A response that writes the events as they come; the work is cancelled if the client goes away.
    static func response(
        events: AsyncStream<TranscriptionService.Event>, ticket: InferenceScheduler.Ticket,
        request: Request, transcription: TranscriptionRequest
    ) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        let chat = transcription.dialect == .chatCompletion ? ChatChunker(model: transcription.model) : nil
        let body = ResponseBody { writer in
            do {
                try await request.body.consumeWithCancellationOnInboundClose { _ in
                    try await withTaskCancellationHandler {
                        var isFirstDelta = true
                        if let chat { try await writer.write(chat.chunk(delta: .init(role: "assistant", content: ""))) }
                        for await event in events {
                            switch event {
                            case .started:
                                continue
                            case .segment(let segment):
                                var text = segment.text
                                if isFirstDelta { text = String(text.drop { $0.isWhitespace }) }
                                guard !text.isEmpty else { continue }
                                isFirstDelta = false
                                if let chat {
                                    try await writer.write(chat.chunk(delta: .init(role: nil, content: text)))
                                } else {
                                    try await writer.write(Self.event(TextDelta(delta: text)))
                                }
                            case .finished(let outcome):
                                if let chat {
                                    try await writer.write(chat.chunk(delta: .init(role: nil, content: nil), finishReason: "stop"))
                                    try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
                                } else {
                                    try await writer.write(Self.event(TextDone(text: outcome.transcript.text)))
                                }
                            case .failed(let error):
                                let body = error.body
                                if chat != nil {
                                    try await writer.write(Self.event(body))
                                } else {
                                    try await writer.write(Self.event(ErrorEvent(error: body.error)))
                                }
                            }
                        }
                    } onCancel: {
                        ticket.cancel()
                    }
                }
            } catch {
                ticket.cancel()
                throw error
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    /// `data: <json>` and a blank line.
    static func event(_ value: some Encodable) -> ByteBuffer {
        var buffer = ByteBuffer(string: "data: ")
        buffer.writeBytes(TranscriptionResponse.encode(value))
        buffer.writeString("\n\n")
        return buffer
    }

    struct TextDelta: Encodable {
        let type = "transcript.text.delta"
        let delta: String
    }

    struct TextDone: Encodable {
        let type = "transcript.text.done"
        let text: String
    }

    struct ErrorEvent: Encodable {
        let type = "error"
        let error: OpenAIError.ErrorBody.Detail
    }

    /// Builds `chat.completion.chunk` events sharing one id.
    struct ChatChunker: Sendable {
        struct Delta: Encodable {
            let role: String?
            let content: String?
        }

        struct Choice: Encodable {
            let index = 0
            let delta: Delta
            let finishReason: String?

            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(index, forKey: .index)
                try container.encode(delta, forKey: .delta)
                try container.encode(finishReason, forKey: .finishReason)
            }

            enum CodingKeys: String, CodingKey {
                case index, delta
                case finishReason = "finish_reason"
            }
        }

        struct Chunk: Encodable {
            let id: String
            let object = "chat.completion.chunk"
            let created: Int
            let model: String
            let choices: [Choice]
        }

        let id = ChatCompletion.makeID()
        let created = Int(Date().timeIntervalSince1970)
        let model: String

        func chunk(delta: Delta, finishReason: String? = nil) -> ByteBuffer {
            TranscriptionEventStream.event(
                Chunk(id: id, created: created, model: model, choices: [Choice(delta: delta, finishReason: finishReason)])
            )
        }
    }
}
