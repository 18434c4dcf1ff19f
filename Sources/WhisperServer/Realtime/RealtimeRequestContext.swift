import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// The request context of the WebSocket upgrade router: what ``WhisperRequestContext`` carries for the admission
/// middleware (annotations, API key name, peer address), plus the handler reference the upgrade needs and the
/// connection, so that a refused upgrade can be answered on it.
public struct RealtimeRequestContext: RequestContext, WebSocketRequestContext, AuthenticatedRequestContext, AnnotatedRequestContext,
    RemoteAddressRequestContext
{
    public var coreContext: CoreRequestContextStorage
    /// Set by the route when the upgrade is accepted.
    public let webSocket = WebSocketHandlerReference<Self>()
    /// Facts shared with the outer middleware (access log, rate limiter).
    public let annotations = RequestAnnotations()
    /// The TCP peer, for the rate limiter's client address.
    public let remoteAddress: SocketAddress?
    /// The connection being upgraded.
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.channel = source.channel
    }
}
