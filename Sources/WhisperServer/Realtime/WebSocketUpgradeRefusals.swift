import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// The answers of refused WebSocket upgrades, kept per connection until the connection writes them.
///
/// Hummingbird's upgrade channel answers every refused upgrade with a bare 400; the admission middleware's real
/// answer (401, 403, 429 in OpenAI's error shape) is recorded here by ``WebSocketUpgradeRefusalMiddleware`` and
/// written by ``TimedWebSocketUpgradeChannel`` instead.
final class WebSocketUpgradeRefusals: Sendable {
    /// A refusal: the response head and its whole body.
    struct Refusal: Sendable {
        var head: HTTPResponse
        var body: ByteBuffer
    }

    private let refusals = Mutex<[ObjectIdentifier: Refusal]>([:])

    init() {}

    func record(_ refusal: Refusal, for channel: any Channel) {
        refusals.withLock { $0[ObjectIdentifier(channel)] = refusal }
    }

    /// Takes the refusal recorded for `channel`, if any.
    func take(for channel: any Channel) -> Refusal? {
        refusals.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }
}

/// The outermost middleware of the upgrade router: records every answer other than the upgrade (errors included)
/// with ``WebSocketUpgradeRefusals`` so that the client receives it, and passes it on.
struct WebSocketUpgradeRefusalMiddleware: RouterMiddleware {
    typealias Context = RealtimeRequestContext
    let refusals: WebSocketUpgradeRefusals

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        } catch {
            response = try OpenAIError.from(error).response(from: request, context: context)
        }
        if response.status != .ok {
            let collector = BodyCollector()
            try await response.body.write(collector)
            var head = response.head
            head.headerFields[.connection] = "close"
            head.headerFields[.contentLength] = String(collector.buffer.readableBytes)
            refusals.record(.init(head: head, body: collector.buffer), for: context.channel)
        }
        return response
    }
}

/// Collects a response body into one buffer.
private final class BodyCollectorStorage: @unchecked Sendable {
    var buffer = ByteBuffer()
}

private struct BodyCollector: ResponseBodyWriter {
    let storage = BodyCollectorStorage()
    var buffer: ByteBuffer { storage.buffer }

    mutating func write(_ buffer: ByteBuffer) async throws {
        var buffer = buffer
        storage.buffer.writeBuffer(&buffer)
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
