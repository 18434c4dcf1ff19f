import HTTPTypes
import Hummingbird
import Logging

/// Writes one log line per request when its response has been sent, with the fields operators search
/// by: `http.method`, `http.path` (no query string), `http.route`, `http.status`, `duration_ms`, and,
/// when known, `api_key.name`, `model`, `audio_seconds` (from ``RequestAnnotations``). The request id
/// is already on the logger (install after ``RequestIDMiddleware``).
///
/// Bodies are never logged. Only headers named in `includeHeaders` are logged, and `Authorization`,
/// `X-API-Key`, `Cookie` and `Proxy-Authorization` are always written as `***`.
///
/// ```swift
/// router.add(middleware: AccessLogMiddleware<AppRequestContext>())
/// ```
public struct AccessLogMiddleware<Context: RequestContext>: RouterMiddleware {
    let level: Logger.Level
    let includeHeaders: [HTTPField.Name]
    static var redacted: Set<HTTPField.Name> { [.authorization, WhisperHTTPHeader.apiKey, .cookie, .proxyAuthorization] }

    /// Creates the middleware.
    /// - Parameters:
    ///   - level: level for successful and client-error requests (default `.info`); 5xx are logged as `.error`.
    ///   - includeHeaders: request headers to add as `http.request.header.<name>` (default: `User-Agent`).
    public init(level: Logger.Level = .info, includeHeaders: [HTTPField.Name] = [.userAgent]) {
        self.level = level
        self.includeHeaders = includeHeaders
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        var metadata: Logger.Metadata = [
            "http.method": .string(request.method.rawValue),
            "http.path": .string(request.uri.path),
        ]
        for name in includeHeaders {
            guard let value = request.headers[name] else { continue }
            metadata["http.request.header.\(name.canonicalName)"] = .string(Self.redacted.contains(name) ? "***" : value)
        }
        let logger = context.logger
        let level = self.level
        do {
            var response = try await next(request, context)
            let status = response.status
            let frozen = metadata
            response.body = response.body.onCompletion { completed in
                Self.log(logger: logger, level: level, metadata: frozen, status: status, start: start, context: context, completed: completed)
            }
            return response
        } catch {
            Self.log(logger: logger, level: level, metadata: metadata, status: ObservabilityTiming.status(for: error), start: start, context: context, completed: true)
            throw error
        }
    }

    static func log(
        logger: Logger,
        level: Logger.Level,
        metadata: Logger.Metadata,
        status: HTTPResponse.Status,
        start: ContinuousClock.Instant,
        context: Context,
        completed: Bool
    ) {
        var metadata = metadata
        metadata["http.status"] = .stringConvertible(status.code)
        metadata["duration_ms"] = .stringConvertible((ObservabilityTiming.secondsSince(start) * 1_000_000).rounded() / 1000)
        if let route = context.endpointPath { metadata["http.route"] = .string(route) }
        if let annotations = (context as? any AnnotatedRequestContext)?.annotations {
            if let name = annotations.apiKeyName { metadata["api_key.name"] = .string(name) }
            if let model = annotations.model { metadata["model"] = .string(model) }
            if let seconds = annotations.audioSeconds { metadata["audio_seconds"] = .stringConvertible((seconds * 1000).rounded() / 1000) }
        } else if let name = (context as? any AuthenticatedRequestContext)?.apiKeyName {
            metadata["api_key.name"] = .string(name)
        }
        let message: Logger.Message = completed ? "request completed" : "response interrupted"
        logger.log(level: status.code >= 500 ? .error : level, message, metadata: metadata)
    }
}
