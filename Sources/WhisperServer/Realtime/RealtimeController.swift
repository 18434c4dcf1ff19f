import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import WhisperEngine

/// `GET /v1/realtime?intent=transcription`: OpenAI's Realtime transcription sessions over WebSocket.
///
/// Admission happens before the upgrade, in the upgrade router's middleware (Host allow-list, CORS, API key from
/// `Authorization: Bearer` or the `openai-insecure-api-key.<key>` subprotocol, rate limits) and here (the intent,
/// the session cap). Each accepted connection runs one ``RealtimeSession``: a reader feeds it client events, a
/// driver runs its passes through the ``InferenceScheduler`` (so live passes share the cores, and batch their
/// decoder steps, with file requests), a writer sends its events, and a watchdog enforces the idle and total
/// timeouts. When the client goes away, the pass in flight is cancelled and its worker freed.
struct RealtimeController: Sendable {
    let models: ModelManager
    let scheduler: InferenceScheduler
    let configuration: ServerConfiguration
    let metrics: WhisperMetrics?
    let sessions: RealtimeSessionLimiter

    /// The subprotocol OpenAI's clients offer first, echoed back when offered.
    static let subprotocol = "realtime"

    func addRoutes(to router: Router<RealtimeRequestContext>) {
        router.ws("/v1/realtime") { request, context in
            try await shouldUpgrade(request, context: context)
        } onUpgrade: { inbound, outbound, context in
            await run(inbound: inbound, outbound: outbound, logger: context.logger)
        }
    }

    /// Admits or refuses the upgrade (after the admission middleware let the request through).
    func shouldUpgrade(_ request: Request, context: RealtimeRequestContext) async throws -> RouterShouldUpgrade {
        if let intent = request.uri.queryParameters.get("intent"), intent != "transcription" {
            throw OpenAIError.invalidParameter(
                "intent", "This server serves Realtime transcription sessions only: use intent=transcription.", code: "unsupported_intent")
        }
        guard sessions.reserve() else {
            throw OpenAIError(
                status: .tooManyRequests,
                message: "Too many Realtime sessions: this server holds at most \(sessions.capacity) at once. Try again later.",
                type: "rate_limit_error", code: "session_limit_reached", headers: [.retryAfter: "1"])
        }
        let sessions = self.sessions
        context.channel.closeFuture.whenComplete { _ in sessions.release() }
        try await TimedWebSocketUpgradeChannel.removeHTTPHandlers(from: context.channel)
        var headers: HTTPFields = [:]
        let offered = request.headers[values: .secWebSocketProtocol].flatMap { $0.split(separator: ",") }.map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        if offered.contains(Self.subprotocol) { headers[.secWebSocketProtocol] = Self.subprotocol }
        return .upgrade(headers)
    }

    /// Runs one session until the client leaves or a timeout closes it.
    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, logger: Logger) async {
        let (events, continuation) = AsyncStream<String>.makeStream()
        let limits = configuration.realtime
        let models = self.models
        let session = RealtimeSession(
            defaultModel: configuration.models.defaultModel, limits: limits, metrics: metrics,
            knowsModel: { id in (try? await models.resolve(id)) != nil }, send: { continuation.yield($0) })
        var sessionLogger = logger
        sessionLogger[metadataKey: "realtime.session"] = .string(session.id)
        let logger = sessionLogger
        await session.start()
        var closeReason = "client"
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await text in events {
                    do { try await outbound.write(.text(text)) } catch { break }
                }
            }
            closeReason = await withTaskGroup(of: String.self) { tasks in
                tasks.addTask { await read(inbound, into: session, logger: logger) }
                tasks.addTask { await drive(session) }
                tasks.addTask { await watch(session) }
                let reason = await tasks.next() ?? "client"
                tasks.cancelAll()
                return reason
            }
            continuation.finish()
        }
        sessions.setBehind(session.id, false)
        let totals = await session.totals
        logger.info(
            "realtime session ended",
            metadata: [
                "realtime.close_reason": .string(closeReason),
                "realtime.duration_seconds": .stringConvertible(Self.rounded((ContinuousClock.now - session.openedAt).seconds)),
                "realtime.audio_seconds": .stringConvertible(Self.rounded(totals.audioSeconds)),
                "realtime.turns": .stringConvertible(totals.turns),
                "realtime.failed_turns": .stringConvertible(totals.failedTurns),
                "realtime.deltas": .stringConvertible(totals.deltas),
                "realtime.passes": .stringConvertible(totals.passes),
                "realtime.errors": .stringConvertible(totals.errors),
                "realtime.dropped_audio_seconds": .stringConvertible(Self.rounded(totals.droppedSeconds)),
            ])
    }

    /// Feeds client messages to the session until the connection ends.
    private func read(_ inbound: WebSocketInboundStream, into session: RealtimeSession, logger: Logger) async -> String {
        do {
            for try await message in inbound.messages(maxSize: configuration.realtime.maxMessageBytes) {
                switch message {
                case .text(let text): await session.receive(text)
                case .binary: await session.refuseBinary()
                }
            }
        } catch {
            logger.debug("realtime connection ended", metadata: ["error": "\(error)"])
        }
        return "client"
    }

    /// Runs the session's passes, one at a time, until cancelled.
    private func drive(_ session: RealtimeSession) async -> String {
        var options = TranscriptionOptions()
        options.filterHallucinations = true
        options.encoderPrecision = configuration.inference.encoderPrecision
        while !Task.isCancelled {
            guard let pass = await session.nextPass(decodingOptions: options) else {
                try? await Task.sleep(for: .milliseconds(40))
                continue
            }
            let result = await transcribe(pass)
            if Task.isCancelled { break }
            await session.finish(pass, result: result)
        }
        return "client"
    }

    /// One pass on the scheduler, with the session's model held for it.
    private func transcribe(_ pass: RealtimeSession.Pass) async -> Result<Transcript, OpenAIError> {
        let timeout = configuration.inference.requestTimeout
        do {
            let transcript = try await models.withModel(pass.model) { lease in
                var options = pass.options
                if !lease.model.capabilities.isMultilingual {
                    if let language = options.language, language != "en" {
                        throw OpenAIError.invalidParameter(
                            "session.audio.input.transcription.language",
                            "the model '\(lease.id)' is English-only and cannot transcribe '\(language)'", code: "unsupported_language")
                    }
                    options.language = "en"
                }
                let samples = pass.input.samples
                let model = lease.model
                let decoding = options
                return try await scheduler.run(deadline: .now + .seconds(timeout), timeoutSeconds: timeout) { control in
                    try model.transcribe(samples, options: decoding, isCancelled: { control.isCancelled }, onSegment: { _ in })
                }
            }
            return .success(transcript)
        } catch {
            return .failure(OpenAIError.from(error))
        }
    }

    /// Closes the session when it has been idle or open too long; reports whether it is behind real time.
    private func watch(_ session: RealtimeSession) async -> String {
        let limits = configuration.realtime
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(250))
            let (idle, age, behind) = await (
                (ContinuousClock.now - session.lastActivity).seconds, (ContinuousClock.now - session.openedAt).seconds, session.isBehind
            )
            sessions.setBehind(session.id, behind)
            if idle >= limits.idleTimeout {
                await session.closing(code: "session_idle_timeout", message: "The session was idle for \(Int(limits.idleTimeout)) seconds and is closed.")
                return "idle_timeout"
            }
            if age >= limits.maxSessionSeconds {
                await session.closing(code: "session_expired", message: "The session reached its maximum duration of \(Int(limits.maxSessionSeconds)) seconds.")
                return "expired"
            }
        }
        return "client"
    }

    static func rounded(_ value: Double) -> Double { (value * 100).rounded() / 100 }
}
