import Hummingbird

/// Records every request in ``WhisperMetrics``: `whisper_http_requests_total{route,method,status}` and
/// `whisper_http_request_duration_seconds{route,method}` (measured until the body has been written).
///
/// The route is the router's template (`/v1/models/{id}`), or `NotFound` (Hummingbird's name) for requests that
/// matched no route, so raw paths never become label values.
///
/// ```swift
/// router.add(middleware: RequestMetricsMiddleware<AppRequestContext>(metrics: WhisperMetrics()))
/// ```
public struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: WhisperMetrics

    /// Creates the middleware over `metrics`.
    public init(metrics: WhisperMetrics) {
        self.metrics = metrics
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let method = request.method.rawValue
        do {
            var response = try await next(request, context)
            let status = response.status.code
            let metrics = self.metrics
            response.body = response.body.onCompletion { _ in
                metrics.recordRequest(route: context.endpointPath ?? "unmatched", method: method, status: status, durationSeconds: ObservabilityTiming.secondsSince(start))
            }
            return response
        } catch {
            metrics.recordRequest(
                route: context.endpointPath ?? "unmatched",
                method: method,
                status: ObservabilityTiming.status(for: error).code,
                durationSeconds: ObservabilityTiming.secondsSince(start)
            )
            throw error
        }
    }
}
