import Foundation
import HTTPTypes
import Hummingbird

/// Requires an API key on every request except exempt paths.
///
/// The key is read from `Authorization: Bearer <key>` or, if that header is absent, from `X-API-Key`.
/// A missing or unknown key gets 401 in OpenAI's shape (`type` `invalid_request_error`, `code`
/// `invalid_api_key`) with `WWW-Authenticate: Bearer`. On success the key's *name* is stored in
/// ``AuthenticatedRequestContext/apiKeyName``. With an empty ``APIKeyStore`` the middleware lets
/// everything through (authentication off; the secure-default check decides whether that is allowed).
///
/// ```swift
/// router.add(middleware: AuthenticationMiddleware<AppRequestContext>(keys: store, exemptPaths: ["/health", "/ready"], protectMetrics: true))
/// ```
public struct AuthenticationMiddleware<Context: AuthenticatedRequestContext>: RouterMiddleware {
    let keys: APIKeyStore
    let exemptPaths: Set<String>
    let metrics: WhisperMetrics?

    /// Creates the middleware.
    /// - Parameters:
    ///   - keys: accepted keys; empty turns authentication off.
    ///   - exemptPaths: paths answered without a key (exact match, a trailing `/` ignored). Default `/health`, `/ready`.
    ///   - protectMetrics: whether `metricsPath` needs a key (default `true`); when `false` it is added to the exempt paths.
    ///   - metricsPath: path of the Prometheus endpoint (default `/metrics`).
    ///   - metrics: where auth rejections are counted, or `nil`.
    public init(
        keys: APIKeyStore,
        exemptPaths: Set<String> = ["/health", "/ready"],
        protectMetrics: Bool = true,
        metricsPath: String = "/metrics",
        metrics: WhisperMetrics? = nil
    ) {
        self.keys = keys
        var exempt = Set(exemptPaths.map(Self.normalize))
        if !protectMetrics { exempt.insert(Self.normalize(metricsPath)) }
        self.exemptPaths = exempt
        self.metrics = metrics
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if keys.isEmpty || exemptPaths.contains(Self.normalize(request.uri.path)) {
            return try await next(request, context)
        }
        guard let presented = Self.presentedKey(in: request.headers) else {
            metrics?.recordAuthRejection(reason: "missing_key")
            throw Self.rejection(
                "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or in an X-API-Key header."
            )
        }
        guard let name = keys.name(forKey: presented) else {
            metrics?.recordAuthRejection(reason: "invalid_key")
            throw Self.rejection("Incorrect API key provided.")
        }
        var context = context
        context.apiKeyName = name
        context.logger[metadataKey: "api_key.name"] = .string(name)
        return try await next(request, context)
    }

    /// The key presented by the client: `Authorization: Bearer …` first, then `X-API-Key`.
    /// An `Authorization` header with another scheme counts as a wrong key (returns an empty string).
    static func presentedKey(in headers: HTTPFields) -> String? {
        if let authorization = headers[.authorization] {
            let trimmed = authorization.trimmingCharacters(in: .whitespaces)
            let scheme = "bearer "
            guard trimmed.count > scheme.count, trimmed.prefix(scheme.count).lowercased() == scheme else { return "" }
            return trimmed.dropFirst(scheme.count).trimmingCharacters(in: .whitespaces)
        }
        if let apiKey = headers[WhisperHTTPHeader.apiKey] {
            return apiKey.trimmingCharacters(in: .whitespaces)
        }
        return nil
    }

    static func normalize(_ path: String) -> String {
        path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
    }

    static func rejection(_ message: String) -> RequestRejection {
        RequestRejection(
            status: .unauthorized,
            message: message,
            type: "invalid_request_error",
            code: "invalid_api_key",
            headers: [.wwwAuthenticate: "Bearer"]
        )
    }
}
