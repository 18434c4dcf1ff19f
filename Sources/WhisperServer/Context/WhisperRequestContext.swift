import Hummingbird

/// The request context of every route: Hummingbird's core storage plus the body limit of this request.
///
/// ``maxUploadSize`` is set by ``UploadLimitMiddleware`` from the configuration (the upload limit plus form overhead,
/// or its base64 size for JSON), so bodies are refused with 413 while being read.
public struct WhisperRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Largest request body this request may send.
    public var maxUploadSize: Int

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.maxUploadSize = ServerConfiguration.Limits().maxBodyBytes(isJSON: false)
    }
}

/// A context whose body limit can be set per request.
public protocol UploadLimitedRequestContext: RequestContext {
    var maxUploadSize: Int { get set }
}

extension WhisperRequestContext: UploadLimitedRequestContext {}
