import Hummingbird
import NIOCore

/// The request context of every route: Hummingbird's core storage, the body limit of this request, the request's
/// shared annotations (request id, API key name, rate-limit identity, model, audio seconds) and the socket peer.
///
/// ``maxUploadSize`` is set by ``UploadLimitMiddleware`` from the configuration (the upload limit plus form overhead,
/// or its base64 size for JSON), so bodies are refused with 413 while being read.
public struct WhisperRequestContext: RequestContext, AuthenticatedRequestContext, AnnotatedRequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Largest request body this request may send.
    public var maxUploadSize: Int
    /// Facts shared with the outer middleware (access log, rate limiter).
    public let annotations = RequestAnnotations()
    /// The TCP peer, for the rate limiter's client address.
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.maxUploadSize = ServerConfiguration.Limits().maxBodyBytes(isJSON: false)
        self.remoteAddress = source.channel.remoteAddress
    }
}

/// A context whose body limit can be set per request.
public protocol UploadLimitedRequestContext: RequestContext {
    var maxUploadSize: Int { get set }
}

extension WhisperRequestContext: UploadLimitedRequestContext {}
