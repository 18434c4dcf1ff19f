import Hummingbird

/// A request context that can hold the name of the API key that authenticated the request.
///
/// ``AuthenticationMiddleware`` sets it; ``RateLimitMiddleware`` keys its buckets on it; the access log
/// reports it as `api_key.name`. A context that is also an ``AnnotatedRequestContext`` gets the property
/// for free, stored in its annotations box so that outer middleware see it too:
///
/// ```swift
/// struct AppRequestContext: AuthenticatedRequestContext, AnnotatedRequestContext, RemoteAddressRequestContext {
///     var coreContext: CoreRequestContextStorage
///     let annotations = RequestAnnotations()
///     let remoteAddress: SocketAddress?
///     init(source: ApplicationRequestContextSource) {
///         self.coreContext = .init(source: source)
///         self.remoteAddress = source.channel.remoteAddress
///     }
/// }
/// ```
public protocol AuthenticatedRequestContext: RequestContext {
    /// Name of the authenticating API key, or `nil` when authentication is off or the path is exempt.
    var apiKeyName: String? { get set }
}

extension AuthenticatedRequestContext where Self: AnnotatedRequestContext {
    /// Stored in ``AnnotatedRequestContext/annotations`` so every copy of the context shares it.
    public var apiKeyName: String? {
        get { annotations.apiKeyName }
        nonmutating set { annotations.apiKeyName = newValue }
    }
}
