import Foundation
import HTTPTypes
import Hummingbird

/// Applies a ``RateLimiter`` to every request except exempt paths, and writes OpenAI's rate-limit
/// headers on every limited-route response, errors included.
///
/// The identity is `key:NAME` when ``AuthenticatedRequestContext/apiKeyName`` is set (install after
/// ``AuthenticationMiddleware``), otherwise `ip:ADDRESS` from ``ClientAddressResolver``. It is stored in
/// ``RequestAnnotations/rateLimitIdentity`` when the context is an ``AnnotatedRequestContext`` so the
/// handler can charge decoded audio with ``RateLimiter/chargeAudio(identity:seconds:)``.
/// A refused request gets 429 (`type` `rate_limit_error`, `code` `rate_limit_exceeded`) with `Retry-After`.
///
/// ```swift
/// router.add(middleware: RateLimitMiddleware<AppRequestContext>(limiter: limiter, resolver: ClientAddressResolver(trustedProxies: ["10.0.0.1"])))
/// ```
public struct RateLimitMiddleware<Context: AuthenticatedRequestContext>: RouterMiddleware {
    let limiter: RateLimiter
    let resolver: ClientAddressResolver
    let exemptPaths: Set<String>
    let metrics: WhisperMetrics?

    /// Creates the middleware.
    /// - Parameters:
    ///   - limiter: the shared limiter.
    ///   - resolver: how to find the client IP when no key name is known.
    ///   - exemptPaths: paths never limited (default `/health`, `/ready`, `/metrics`).
    ///   - metrics: where rejections are counted, or `nil`.
    public init(
        limiter: RateLimiter,
        resolver: ClientAddressResolver = ClientAddressResolver(),
        exemptPaths: Set<String> = ["/health", "/ready", "/metrics"],
        metrics: WhisperMetrics? = nil
    ) {
        self.limiter = limiter
        self.resolver = resolver
        self.exemptPaths = Set(exemptPaths.map(AuthenticationMiddleware<Context>.normalize))
        self.metrics = metrics
    }

    /// The bucket identity of a request.
    public func identity(request: Request, context: Context) -> String {
        if let name = context.apiKeyName { return "key:\(name)" }
        return "ip:\(resolver.clientAddress(request: request, context: context))"
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard limiter.policy.isEnabled, !exemptPaths.contains(AuthenticationMiddleware<Context>.normalize(request.uri.path)) else {
            return try await next(request, context)
        }
        let identity = identity(request: request, context: context)
        (context as? any AnnotatedRequestContext)?.annotations.rateLimitIdentity = identity
        let decision = await limiter.consume(identity: identity)
        var headers = Self.headers(for: decision)
        guard decision.allowed else {
            metrics?.recordRateLimitRejection(reason: decision.reason?.rawValue ?? "requests")
            let retryAfter = Int((decision.retryAfterSeconds ?? 1).rounded(.up))
            headers[.retryAfter] = String(max(1, retryAfter))
            let what = decision.reason == .audioSeconds ? "audio seconds" : "requests"
            throw RequestRejection(
                status: .tooManyRequests,
                message: "Rate limit reached for \(what). Please try again in \(max(1, retryAfter))s.",
                type: "rate_limit_error",
                code: "rate_limit_exceeded",
                headers: headers
            )
        }
        do {
            var response = try await next(request, context)
            for field in headers { response.headers[field.name] = field.value }
            return response
        } catch {
            throw HeaderAddingError.wrap(error, adding: headers)
        }
    }

    /// OpenAI's `x-ratelimit-*` headers for a decision (audio headers only when an audio limit is set).
    public static func headers(for decision: RateLimitDecision) -> HTTPFields {
        var headers = HTTPFields()
        if let limit = decision.requestLimit {
            headers[WhisperHTTPHeader.rateLimitLimitRequests] = String(limit)
            headers[WhisperHTTPHeader.rateLimitRemainingRequests] = String(decision.remainingRequests ?? 0)
            headers[WhisperHTTPHeader.rateLimitResetRequests] = formatReset(decision.requestsResetSeconds ?? 0)
        }
        if let limit = decision.audioLimit {
            headers[WhisperHTTPHeader.rateLimitLimitAudioSeconds] = formatNumber(limit)
            headers[WhisperHTTPHeader.rateLimitRemainingAudioSeconds] = formatNumber(max(0, decision.remainingAudioSeconds ?? 0))
            headers[WhisperHTTPHeader.rateLimitResetAudioSeconds] = formatReset(decision.audioResetSeconds ?? 0)
        }
        return headers
    }

    /// Formats a reset delay the way OpenAI does: `0s`, `250ms`, `1.5s`, `6m0s`, `1h2m3s`.
    public static func formatReset(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds > 0 else { return "0s" }
        if seconds < 1 { return "\(Int((seconds * 1000).rounded(.up)))ms" }
        if seconds < 60 {
            let tenths = (seconds * 10).rounded(.up) / 10
            return tenths == tenths.rounded() ? "\(Int(tenths))s" : "\(tenths)s"
        }
        let total = Int(seconds.rounded(.up))
        let hours = total / 3600
        let minutes = (total % 3600) / 60
        let secs = total % 60
        return hours > 0 ? "\(hours)h\(minutes)m\(secs)s" : "\(minutes)m\(secs)s"
    }

    static func formatNumber(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(format: "%.1f", value)
    }
}
