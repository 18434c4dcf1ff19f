import Foundation
import Hummingbird

/// Per-request facts that inner stages learn and outer middleware report: the request id, the API
/// key's name, the rate-limit identity, the model and the seconds of audio.
///
/// A `RequestContext` is a value: what a handler writes into it never reaches the middleware that
/// called it. This box is a reference shared by every copy of one request's context, so the access
/// log sees the model and audio duration that the handler recorded. Thread-safe.
///
/// ```swift
/// context.annotations.model = "tiny.en"
/// context.annotations.audioSeconds = 12.5
/// ```
public final class RequestAnnotations: @unchecked Sendable {
    private struct Values {
        var requestID: String?
        var apiKeyName: String?
        var rateLimitIdentity: String?
        var model: String?
        var audioSeconds: Double?
    }

    private let lock = NSLock()
    private var values = Values()

    public init() {}

    private func get<Value>(_ key: KeyPath<Values, Value>) -> Value { lock.withLock { values[keyPath: key] } }
    private func set<Value>(_ key: WritableKeyPath<Values, Value>, _ value: Value) { lock.withLock { values[keyPath: key] = value } }

    /// The id returned in `X-Request-ID`.
    public var requestID: String? {
        get { get(\.requestID) }
        set { set(\.requestID, newValue) }
    }
    /// Name of the API key that authenticated the request (never the key).
    public var apiKeyName: String? {
        get { get(\.apiKeyName) }
        set { set(\.apiKeyName, newValue) }
    }
    /// Identity the rate limiter charged (`key:NAME` or `ip:ADDRESS`); pass it to ``RateLimiter/chargeAudio(identity:seconds:)``.
    public var rateLimitIdentity: String? {
        get { get(\.rateLimitIdentity) }
        set { set(\.rateLimitIdentity, newValue) }
    }
    /// Model id that served the request.
    public var model: String? {
        get { get(\.model) }
        set { set(\.model, newValue) }
    }
    /// Seconds of decoded audio in the request.
    public var audioSeconds: Double? {
        get { get(\.audioSeconds) }
        set { set(\.audioSeconds, newValue) }
    }
}

/// A request context that carries a shared ``RequestAnnotations`` box.
///
/// Conform the application's context with a stored `let annotations = RequestAnnotations()`.
public protocol AnnotatedRequestContext: RequestContext {
    /// The request's shared annotations.
    var annotations: RequestAnnotations { get }
}
