import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Cross-origin settings for browsers calling the API directly.
public struct CORSSettings: Sendable, Equatable {
    /// Allowed origins: `["*"]` for any, or exact `http(s)://host[:port]` origins. Empty (default) turns CORS off.
    public var origins: [String]
    /// Allowed methods (default `GET`, `POST`, `OPTIONS`).
    public var methods: [String]
    /// Allowed request headers (default `Authorization`, `Content-Type`, `X-API-Key`, `X-Request-ID`).
    public var headers: [String]
    /// Response headers exposed to scripts (default `X-Request-ID`, `Retry-After` and the rate-limit headers).
    public var exposedHeaders: [String]
    /// Seconds a browser may cache a preflight answer (default 600).
    public var maxAgeSeconds: Int

    public init(
        origins: [String] = [],
        methods: [String] = ["GET", "POST", "OPTIONS"],
        headers: [String] = ["Authorization", "Content-Type", "X-API-Key", "X-Request-ID"],
        exposedHeaders: [String] = [
            "X-Request-ID", "Retry-After", "x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests",
        ],
        maxAgeSeconds: Int = 600
    ) {
        self.origins = origins
        self.methods = methods
        self.headers = headers
        self.exposedHeaders = exposedHeaders
        self.maxAgeSeconds = maxAgeSeconds
    }

    /// Whether CORS is on.
    public var isEnabled: Bool { !origins.isEmpty }
    /// Whether any origin is allowed.
    public var allowsAnyOrigin: Bool { origins.contains("*") }
}

/// Hummingbird's ``CORSMiddleware`` restricted to an origin allow-list.
///
/// An allowed origin gets Hummingbird's CORS answer (preflight `204` with `Access-Control-Allow-*`,
/// `Vary: Origin`); any other origin gets no CORS headers at all, so the browser refuses the response,
/// and its preflight gets 403 in OpenAI's shape. Requests without `Origin` pass untouched.
///
/// ```swift
/// if let cors = CORSAllowListMiddleware<AppRequestContext>(settings: settings.cors) { router.add(middleware: cors) }
/// ```
public struct CORSAllowListMiddleware<Context: RequestContext>: RouterMiddleware {
    let cors: CORSMiddleware<Context>
    let origins: Set<String>
    let allowAny: Bool

    /// Creates the middleware, or `nil` when ``CORSSettings/isEnabled`` is false.
    public init?(settings: CORSSettings) {
        guard settings.isEnabled else { return nil }
        self.allowAny = settings.allowsAnyOrigin
        self.origins = Set(settings.origins.map { Self.normalizeOrigin($0) })
        self.cors = CORSMiddleware(
            allowOrigin: allowAny ? .all : .originBased,
            allowHeaders: settings.headers.compactMap { HTTPField.Name($0) },
            allowMethods: settings.methods.map { HTTPRequest.Method($0.uppercased()) ?? .get },
            allowCredentials: false,
            exposedHeaders: settings.exposedHeaders,
            maxAge: .seconds(Int64(settings.maxAgeSeconds))
        )
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin] else {
            return try await next(request, context)
        }
        if allowAny || origins.contains(Self.normalizeOrigin(origin)) {
            return try await cors.handle(request, context: context, next: next)
        }
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            throw RequestRejection(status: .forbidden, message: "Origin not allowed by the server's CORS settings.", code: "cors_origin_not_allowed")
        }
        return try await next(request, context)
    }

    static func normalizeOrigin(_ origin: String) -> String {
        var value = origin.trimmingCharacters(in: .whitespaces).lowercased()
        while value.hasSuffix("/") { value.removeLast() }
        return value
    }
}
