import Hummingbird
import NIOCore
import WhisperEngine

/// `POST /v1/audio/transcriptions`, `POST /v1/audio/translations` (OpenAI's multipart form, or the original server's
/// JSON dialect on the same paths) and `POST /v1/chat/completions` with an `input_audio` part.
struct TranscriptionController<Context: RequestContext> {
    let service: TranscriptionService
    let limits: ServerConfiguration.Limits

    func addRoutes(to router: RouterGroup<Context>) {
        router.post("audio/transcriptions") { request, context in
            try await handle(request, context: context, task: .transcribe, chat: false)
        }
        router.post("audio/translations") { request, context in
            try await handle(request, context: context, task: .translate, chat: false)
        }
        router.post("chat/completions") { request, context in
            try await handle(request, context: context, task: .transcribe, chat: true)
        }
    }

    private func handle(_ request: Request, context: Context, task: TranscriptionTask, chat: Bool) async throws -> Response {
        let arrival = ContinuousClock.now
        var request = request
        let kind = MediaKind(request.headers[.contentType])
        if case .other(let contentType) = kind { throw OpenAIError.unsupportedMediaType(contentType) }
        if chat, kind != .json { throw OpenAIError.unsupportedMediaType(request.headers[.contentType]) }

        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: context.maxUploadSize)
        } catch is NIOTooManyBytesError {
            throw OpenAIError.tooLarge(limitBytes: limits.maxUploadBytes)
        }
        let transcription = try parse(body, kind: kind, task: task, chat: chat)

        // Work is cancelled when the client goes away: Hummingbird watches the connection's input for that, which ends
        // the connection after the response, so the response says so and clients open a new one for their next request.
        var response: Response
        if transcription.stream {
            let (events, ticket) = try await service.startStreaming(transcription, arrival: arrival)
            response = TranscriptionEventStream.response(events: events, ticket: ticket, request: request, transcription: transcription)
        } else {
            do {
                let outcome = try await request.body.consumeWithCancellationOnInboundClose { _ in
                    try await service.transcribe(transcription, arrival: arrival)
                }
                response = TranscriptionResponse.make(outcome, for: transcription)
            } catch {
                throw OpenAIError.from(error).closingConnection()
            }
        }
        response.headers[.connection] = "close"
        return response
    }

    private func parse(_ body: ByteBuffer, kind: MediaKind, task: TranscriptionTask, chat: Bool) throws(OpenAIError) -> TranscriptionRequest {
        switch kind {
        case .multipart(let boundary):
            guard let boundary, !boundary.isEmpty, boundary.utf8.count <= 200 else {
                throw OpenAIError.malformedBody("the multipart/form-data Content-Type has no valid boundary")
            }
            let form = try MultipartForm.parse(body, boundary: boundary, limits: limits)
            return try TranscriptionRequest(form: form, task: task, limits: limits)
        case .json:
            return try TranscriptionRequest(json: body, task: task, dialect: chat ? .chatCompletion : .legacyJSON, limits: limits)
        case .other(let contentType):
            throw OpenAIError.unsupportedMediaType(contentType)
        }
    }
}
