import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// ``TimedHTTP1Channel`` with WebSocket upgrades: plain HTTP/1.1 requests get the same slow-client timeouts and
/// parser-error answers, and a `GET` with `Upgrade: websocket` is offered to the upgrade router.
///
/// - A refused upgrade is answered with what the upgrade router's middleware said (401, 403, 429 in OpenAI's error
///   shape, from ``WebSocketUpgradeRefusals``) instead of Hummingbird's bare 400.
/// - The parser-error and body-deadline handlers speak HTTP: the upgrade route removes them (``removeHTTPHandlers(from:)``)
///   before the connection switches to WebSocket frames.
/// - A connection accepted but never handled (the server stopping) is closed and its writer finished, as
///   ``DroppedConnectionCloser`` does for plain HTTP.
struct TimedWebSocketUpgradeChannel: ServerChildChannel {
    typealias Value = HTTP1WebSocketUpgradeChannel.Value

    let base: HTTP1WebSocketUpgradeChannel
    let settings: ServerConfiguration.HTTP
    let refusals: WebSocketUpgradeRefusals

    static let parserErrorHandlerName = "whisper.parser-error-responder"
    static let bodyDeadlineHandlerName = "whisper.body-deadline"

    /// The server builder to pass to `Application(router:server:…)`.
    /// - Parameters:
    ///   - settings: the HTTP timeouts.
    ///   - webSocketRouter: the router that decides upgrades.
    ///   - maxFrameSize: the largest WebSocket frame accepted.
    ///   - refusals: where the upgrade router records refusals.
    static func builder<WebSocketRouter: HTTPResponderBuilder>(
        settings: ServerConfiguration.HTTP, webSocketRouter: WebSocketRouter, maxFrameSize: Int, refusals: WebSocketUpgradeRefusals
    ) -> HTTPServerBuilder where WebSocketRouter.Responder.Context: WebSocketRequestContext {
        let webSocketResponder = webSocketRouter.buildResponder()
        return HTTPServerBuilder { responder in
            TimedWebSocketUpgradeChannel(
                base: HTTP1WebSocketUpgradeChannel(
                    responder: responder, webSocketResponder: webSocketResponder,
                    configuration: .init(
                        http1: .init(idleTimeout: timeAmount(seconds: settings.headerTimeout)),
                        ws: .init(maxFrameSize: maxFrameSize, autoPing: .enabled(timePeriod: .seconds(30)))
                    )
                ),
                settings: settings, refusals: refusals
            )
        }
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let timeout = Self.timeAmount(seconds: settings.bodyTimeout)
        return base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            let deadline = BodyDeadlineHandler(timeout: timeout, bytesPerSecond: ServerConfiguration.HTTP.bodyMinimumBytesPerSecond)
            try pipeline.addHandler(deadline, name: Self.bodyDeadlineHandlerName, position: .after(decoder))
            try pipeline.addHandler(ParserErrorResponder(), name: Self.parserErrorHandlerName, position: .after(decoder))
            if let result = Self.upgradeResult(of: value) {
                // Finishes the writer of a connection that is never handled, once its request has arrived.
                let closer = UpgradeConnectionCloser(result: result, channel: channel)
                channel.closeFuture.whenComplete { _ in withExtendedLifetime(closer) {} }
            }
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        guard let future = Self.upgradeResult(of: value) else {
            await base.handle(value: value, logger: logger)
            return
        }
        do {
            switch try await future.get() {
            case .notUpgraded(let http1):
                await base.handleHTTP(asyncChannel: http1, logger: logger)
            case .failedUpgrade(let http1, let logger):
                await writeRefusal(refusals.take(for: value.channel), on: http1, logger: logger)
            case .websocket(let asyncChannel, let handler, let logger):
                await handler(asyncChannel, logger)
            }
        } catch {
            logger.trace("connection ended before its first request", metadata: ["error": "\(error)"])
        }
    }

    /// Removes the HTTP-only handlers, right before the connection switches to WebSocket frames.
    static func removeHTTPHandlers(from channel: any Channel) async throws {
        try await channel.pipeline.removeHandler(name: parserErrorHandlerName).get()
        try await channel.pipeline.removeHandler(name: bodyDeadlineHandlerName).get()
    }

    /// Writes the recorded refusal (or a bare 400 when there is none) and closes the connection.
    private func writeRefusal(
        _ refusal: WebSocketUpgradeRefusals.Refusal?, on channel: NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, logger: Logger
    ) async {
        let refusal = refusal ?? .init(head: HTTPResponse(status: .badRequest, headerFields: [.connection: "close", .contentLength: "0"]), body: ByteBuffer())
        do {
            try await channel.executeThenClose { _, outbound in
                var parts: [HTTPResponsePart] = [.head(refusal.head)]
                if refusal.body.readableBytes > 0 { parts.append(.body(refusal.body)) }
                parts.append(.end(nil))
                try await outbound.write(contentsOf: parts)
            }
        } catch {
            logger.trace("could not answer a refused upgrade", metadata: ["error": "\(error)"])
        }
    }

    /// The upgrade negotiation's result, which Hummingbird keeps in a stored property of `Value` without a public
    /// accessor; `nil` if that ever changes (the channel then behaves as Hummingbird's own).
    static func upgradeResult(of value: Value) -> EventLoopFuture<HTTP1WebSocketUpgradeChannel.UpgradeResult>? {
        Mirror(reflecting: value).descendant("upgradeResult") as? EventLoopFuture<HTTP1WebSocketUpgradeChannel.UpgradeResult>
    }

    static func timeAmount(seconds: Double) -> TimeAmount {
        .nanoseconds(Int64(seconds * 1_000_000_000))
    }
}

/// Finishes the outbound writer of a connection's negotiated async channel when nothing refers to the connection
/// any more, and closes it: harmless for a handled connection, and it keeps an unhandled one from stopping the
/// process (an unfinished writer must not be released).
private final class UpgradeConnectionCloser: Sendable {
    private let result: EventLoopFuture<HTTP1WebSocketUpgradeChannel.UpgradeResult>
    private let channel: any Channel

    init(result: EventLoopFuture<HTTP1WebSocketUpgradeChannel.UpgradeResult>, channel: any Channel) {
        self.result = result
        self.channel = channel
    }

    deinit {
        result.whenSuccess { result in
            switch result {
            case .notUpgraded(let http1), .failedUpgrade(let http1, _): http1.outbound.finish()
            case .websocket(let ws, _, _): ws.outbound.finish()
            }
        }
        channel.close(promise: nil)
    }
}
