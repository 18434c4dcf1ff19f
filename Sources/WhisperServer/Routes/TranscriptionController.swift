import Hummingbird
import NIOCore
import WhisperEngine

/// `POST /v1/audio/transcriptions`, `POST /v1/audio/translations` (OpenAI's multipart form, or the original server's
/// JSON dialect on the same paths) and `POST /v1/chat/completions` with an `input_audio` part.
///
/// The handler records the model and the decoded audio's duration in the request's annotations (for the access log) and
/// charges the audio to the client's rate-limit bucket.
struct TranscriptionController<Context: AnnotatedRequestContext> {
    let service: TranscriptionService
    let limits: ServerConfiguration.Limits
    /// The rate limiter whose audio-seconds budget decoded audio is charged to, or `nil`.
    let limiter: RateLimiter?

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
        let annotations = context.annotations
        let onDecoded: TranscriptionService.DecodedHandler = { modelID, seconds in
            annotations.model = modelID
            annotations.audioSeconds = seconds
        }
        var response: Response
        if transcription.stream {
            let started: (events: AsyncStream<TranscriptionService.Event>, ticket: InferenceScheduler.Ticket)
            do {
                started = try await service.startStreaming(transcription, arrival: arrival, onDecoded: onDecoded)
            } catch {
                await chargeAudio(annotations)
                throw error
            }
            await chargeAudio(annotations)
            response = TranscriptionEventStream.response(
                events: started.events, ticket: started.ticket, request: request, transcription: transcription
            )
        } else {
            do {
                let outcome = try await request.body.consumeWithCancellationOnInboundClose { _ in
                    try await service.transcribe(transcription, arrival: arrival, onDecoded: onDecoded)
                }
                await chargeAudio(annotations)
                response = TranscriptionResponse.make(outcome, for: transcription)
            } catch {
                await chargeAudio(annotations)
                throw OpenAIError.from(error).closingConnection()
            }
        }
        response.headers[.connection] = "close"
        return response
    }

    /// Charges decoded audio to the client's audio-seconds budget (nothing when the audio was never decoded).
    private func chargeAudio(_ annotations: RequestAnnotations) async {
        guard let limiter, let identity = annotations.rateLimitIdentity, let seconds = annotations.audioSeconds else { return }
        _ = await limiter.chargeAudio(identity: identity, seconds: seconds)
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
