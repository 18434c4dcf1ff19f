import Foundation
import Logging
import WhisperAudio
import WhisperEngine
import WhisperTensor

/// Runs a validated request: holds its model, queues the work, and on a worker decodes the audio, preprocesses it
/// and transcribes it.
public struct TranscriptionService: Sendable {
    /// A finished transcription.
    public struct Outcome: Sendable {
        /// The transcript, times relative to the start of the uploaded audio.
        public var transcript: Transcript
        /// The model that produced it (aliases resolved).
        public var modelID: String
        /// The audio container FFmpeg found, e.g. `wav`.
        public var audioFormat: String
        /// Seconds from the request's arrival to the end of inference.
        public var processingSeconds: Double
    }

    /// What a streaming request reports, in order: `started` once the audio is decoded, `segment`s, then `finished` or `failed`.
    public enum Event: Sendable {
        case started
        case segment(Segment)
        case finished(Outcome)
        case failed(OpenAIError)
    }

    let models: ModelManager
    let scheduler: InferenceScheduler
    let configuration: ServerConfiguration
    let metrics: WhisperMetrics?

    /// Called on the worker once the audio is decoded, with the model id and the audio's duration in seconds.
    public typealias DecodedHandler = @Sendable (_ modelID: String, _ audioSeconds: Double) -> Void

    /// Creates the service.
    /// - Parameter metrics: where audio seconds, real-time factors and decode errors are recorded, or `nil`.
    public init(models: ModelManager, scheduler: InferenceScheduler, configuration: ServerConfiguration, metrics: WhisperMetrics? = nil) {
        self.models = models
        self.scheduler = scheduler
        self.configuration = configuration
        self.metrics = metrics
    }

    /// Checks that the request's model exists before any work. The original server's JSON dialects answer an unknown
    /// model with 400 listing the models, as that server did; OpenAI's form keeps OpenAI's 404.
    public func checkModel(_ request: TranscriptionRequest) async throws(OpenAIError) {
        guard request.dialect != .openAI else { return }
        do {
            _ = try await models.resolve(request.model)
        } catch {
            throw .invalidModel(request.model, available: await models.names())
        }
    }

    /// Transcribes and waits for the result; cancelling the calling task cancels the work.
    /// - Parameters:
    ///   - request: the validated request.
    ///   - arrival: when the request arrived (its deadline counts from here).
    /// - Returns: the transcript and its metadata.
    public func transcribe(
        _ request: TranscriptionRequest, arrival: ContinuousClock.Instant, onDecoded: @escaping DecodedHandler = { _, _ in }
    ) async throws -> Outcome {
        try await checkModel(request)
        return try await models.withModel(request.model) { lease in
            let options = try request.options(for: lease, encoderPrecision: configuration.inference.encoderPrecision)
            let work = makeWork(request: request, lease: lease, options: options, onDecoded: onDecoded, onEvent: { _ in })
            let (transcript, format) = try await scheduler.run(
                deadline: arrival + .seconds(configuration.inference.requestTimeout),
                timeoutSeconds: configuration.inference.requestTimeout, work
            )
            let outcome = Outcome(
                transcript: transcript, modelID: lease.id, audioFormat: format,
                processingSeconds: (ContinuousClock.now - arrival).seconds
            )
            record(outcome)
            return outcome
        }
    }

    /// Records a finished transcription's audio seconds and real-time factor.
    private func record(_ outcome: Outcome) {
        let duration = outcome.transcript.duration
        guard let metrics, duration > 0 else { return }
        metrics.recordAudioTranscribed(seconds: duration, model: outcome.modelID)
        metrics.recordRealTimeFactor(outcome.processingSeconds / duration, model: outcome.modelID)
    }

    /// Starts a transcription whose progress arrives as events, and waits until its audio is decoded.
    ///
    /// Failures before the first segment (unknown model, full queue, undecodable audio) are thrown, so that they
    /// answer with their own status; later ones arrive as ``Event/failed(_:)``.
    /// - Returns: the remaining events and a ticket to cancel the work when the client goes away.
    public func startStreaming(
        _ request: TranscriptionRequest, arrival: ContinuousClock.Instant, onDecoded: @escaping DecodedHandler = { _, _ in }
    ) async throws -> (events: AsyncStream<Event>, ticket: InferenceScheduler.Ticket) {
        try await checkModel(request)
        let lease = try await models.acquire(request.model)
        let models = self.models
        let (events, continuation) = AsyncStream<Event>.makeStream()
        let ticket: InferenceScheduler.Ticket
        do {
            let options = try request.options(for: lease, encoderPrecision: configuration.inference.encoderPrecision)
            let work = makeWork(request: request, lease: lease, options: options, onDecoded: onDecoded) { continuation.yield($0) }
            ticket = try scheduler.submit(
                deadline: arrival + .seconds(configuration.inference.requestTimeout),
                timeoutSeconds: configuration.inference.requestTimeout, work
            ) { result in
                switch result {
                case .success(let (transcript, format)):
                    let outcome = Outcome(
                        transcript: transcript, modelID: lease.id, audioFormat: format,
                        processingSeconds: (ContinuousClock.now - arrival).seconds
                    )
                    record(outcome)
                    continuation.yield(.finished(outcome))
                case .failure(let error):
                    continuation.yield(.failed(OpenAIError.from(error)))
                }
                continuation.finish()
                // The lease outlives the handler: give it back when the work ends, however it ends.
                Task { await models.release(lease) }
            }
        } catch {
            await models.release(lease)
            throw error
        }
        var iterator = events.makeAsyncIterator()
        let first = await withTaskCancellationHandler {
            await iterator.next()
        } onCancel: {
            ticket.cancel()
        }
        switch first {
        case .failed(let error): throw error
        case .none: throw CancellationError()
        default: return (events, ticket)
        }
    }

    /// The blocking work of one request, run on an inference worker.
    private func makeWork(
        request: TranscriptionRequest, lease: ModelManager.Lease, options: TranscriptionOptions,
        onDecoded: @escaping DecodedHandler, onEvent: @escaping @Sendable (Event) -> Void
    ) -> @Sendable (InferenceJobControl) throws -> (Transcript, String) {
        let limits = configuration.limits
        let preprocessing = AudioPreprocessing(
            normalizePeak: configuration.preprocessing.normalizePeak,
            trimSilenceThresholdDB: configuration.preprocessing.trimSilenceThresholdDB
        )
        let audioBytes = request.audio
        let model = lease.model
        let modelID = lease.id
        let metrics = self.metrics
        return { control in
            let decoder = AudioDecoder(
                limits: AudioLimits(
                    maxInputBytes: limits.maxUploadBytes, maxDuration: limits.maxAudioSeconds,
                    minDuration: limits.minAudioSeconds,
                    decodeTimeout: max(0.001, min(limits.decodeTimeout, control.remainingSeconds))
                )
            )
            let audio: DecodedAudio
            do {
                audio = try decoder.decode(audioBytes)
            } catch {
                if control.isCancelled { throw CancellationError() }
                if let error = error as? AudioDecodingError { metrics?.recordDecodeError(kind: error.kind.rawValue) }
                throw error
            }
            onDecoded(modelID, audio.duration)
            if control.isCancelled { throw CancellationError() }
            let (samples, offset) = preprocessing.isEnabled ? preprocessing.apply(to: audio.samples) : (audio.samples, 0)
            onEvent(.started)
            var transcript = try model.transcribe(
                samples, options: options, isCancelled: { control.isCancelled },
                onSegment: { segment in onEvent(.segment(segment.shifted(by: offset))) }
            )
            transcript.segments = transcript.segments.map { $0.shifted(by: offset) }
            transcript.duration = audio.duration
            return (transcript, audio.containerName)
        }
    }
}

extension Segment {
    /// The segment with its times (and its words' times) moved later by `offset` seconds.
    func shifted(by offset: Double) -> Segment {
        guard offset != 0 else { return self }
        var segment = self
        segment.start += offset
        segment.end += offset
        segment.words = words?.map { word in
            var word = word
            word.start += offset
            word.end += offset
            return word
        }
        return segment
    }
}

extension TranscriptionRequest {
    /// Decoding options for this request on this model, refusing what the model cannot do.
    /// - Throws: 400 when an English-only model is asked to translate or to hear another language.
    /// - Parameter encoderPrecision: the server's ``ServerConfiguration/Inference/encoderPrecision``.
    func options(for lease: ModelManager.Lease, encoderPrecision: ProductPrecision) throws(OpenAIError) -> TranscriptionOptions {
        let info = lease.model.capabilities
        var options = TranscriptionOptions()
        options.task = task
        options.temperatures = TranscriptionOptions.temperatures(openAITemperature: temperature)
        options.initialPrompt = prompt.flatMap { $0.isEmpty ? nil : $0 }
        options.wordTimestamps = granularities.contains(.word)
        options.language = language
        options.voiceActivity = voiceActivity
        options.filterHallucinations = true
        options.encoderPrecision = encoderPrecision
        if !info.isMultilingual {
            if task == .translate {
                throw .invalidParameter(
                    "model", "the model '\(lease.id)' is English-only and cannot translate: use a multilingual model",
                    code: "model_cannot_translate"
                )
            }
            if let language, language != "en" {
                throw .invalidParameter(
                    "language",
                    "the model '\(lease.id)' is English-only and cannot transcribe '\(language)': use a multilingual model or language 'en'",
                    code: "unsupported_language"
                )
            }
            options.language = "en"
        } else if task == .translate && !info.canTranslate {
            throw .invalidParameter("model", "the model '\(lease.id)' cannot translate", code: "model_cannot_translate")
        }
        return options
    }
}
