import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// Hummingbird's HTTP/1.1 child channel with the server's slow-client timeouts.
///
/// - Headers: Hummingbird's idle timeout, set to ``ServerConfiguration/HTTP/headerTimeout``, closes a connection that
///   completes no request part for that long: headers trickled byte by byte, an idle keep-alive connection, a body
///   that stalls. A request being answered is never cut off.
/// - Bodies: a ``BodyDeadlineHandler`` right after the HTTP/1 decoder enforces ``ServerConfiguration/HTTP/bodyTimeout``.
/// - Requests that are not valid HTTP/1.1: a ``ParserErrorResponder`` makes sure each gets exactly one 400 in OpenAI's
///   error shape.
/// - Connections accepted while the server stops, never handled: a ``DroppedConnectionCloser`` closes them cleanly.
///
/// Both act on the connection before any handler runs inference, so a slow client never holds an inference worker.
struct TimedHTTP1Channel: ServerChildChannel {
    typealias Value = AcceptedConnection

    let base: HTTP1Channel
    let settings: ServerConfiguration.HTTP

    /// - Parameters:
    ///   - responder: Hummingbird's responder.
    ///   - settings: the timeouts.
    init(responder: @escaping HTTPChannelHandler.Responder, settings: ServerConfiguration.HTTP) {
        self.base = HTTP1Channel(
            responder: responder, configuration: .init(idleTimeout: Self.timeAmount(seconds: settings.headerTimeout))
        )
        self.settings = settings
    }

    /// The server builder to pass to `Application(router:server:…)`.
    static func builder(settings: ServerConfiguration.HTTP) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in TimedHTTP1Channel(responder: responder, settings: settings) }
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let timeout = Self.timeAmount(seconds: settings.bodyTimeout)
        return base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let pipeline = channel.pipeline.syncOperations
            let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try pipeline.addHandlers(
                [
                    ParserErrorResponder(),
                    BodyDeadlineHandler(timeout: timeout, bytesPerSecond: ServerConfiguration.HTTP.bodyMinimumBytesPerSecond),
                ],
                position: .after(decoder)
            )
            // `outbound` is deprecated for writing outside `executeThenClose`; the closer only finishes it.
            return AcceptedConnection(asyncChannel: value, closer: DroppedConnectionCloser(writer: value.outbound, channel: channel))
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value.asyncChannel, logger: logger)
    }

    private static func timeAmount(seconds: Double) -> TimeAmount {
        .nanoseconds(Int64(seconds * 1_000_000_000))
    }
}
