import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging

/// What the Realtime endpoint is built from: the admission pieces shared with the HTTP router, and the engine.
struct RealtimeComponents {
    var configuration: ServerConfiguration
    var keys: APIKeyStore
    var limiter: RateLimiter
    var metrics: WhisperMetrics
    var models: ModelManager
    var scheduler: InferenceScheduler
}

/// The HTTP server for `configuration`: with WebSocket upgrades on `/v1/realtime` when Realtime sessions are on,
/// else plain HTTP/1.1.
///
/// The upgrade router runs the same admission middleware as the HTTP router (request id, access log, request
/// metrics, CORS, Host allow-list, API keys, rate limits, OpenAI-shaped errors) before ``RealtimeController`` decides.
func makeServer(_ components: RealtimeComponents, httpRouter: Router<WhisperRequestContext>) -> HTTPServerBuilder {
    let configuration = components.configuration
    guard configuration.realtime.maxSessions > 0 else { return TimedHTTP1Channel.builder(settings: configuration.http) }
    let metrics = components.metrics
    let refusals = WebSocketUpgradeRefusals()
    let router = Router(context: RealtimeRequestContext.self)
    router.add(middleware: WebSocketUpgradeRefusalMiddleware(refusals: refusals))
    addAdmissionMiddleware(
        to: router, configuration: configuration, keys: components.keys, limiter: components.limiter, metrics: metrics, rateLimitExemptPaths: []
    )
    router.add(middleware: OpenAIErrorMiddleware())
    RealtimeController(
        models: components.models, scheduler: components.scheduler, configuration: configuration, metrics: metrics,
        sessions: RealtimeSessionLimiter(capacity: configuration.realtime.maxSessions, metrics: metrics)
    ).addRoutes(to: router)

    // A plain GET (no upgrade) is told how to connect.
    httpRouter.get("/v1/realtime") { _, _ -> Response in
        throw OpenAIError(
            status: .upgradeRequired,
            message: "This endpoint speaks WebSocket: connect with Upgrade: websocket (intent=transcription).",
            code: "websocket_required", headers: [.upgrade: "websocket"])
    }
    return TimedWebSocketUpgradeChannel.builder(
        settings: configuration.http, webSocketRouter: router, maxFrameSize: configuration.realtime.maxMessageBytes, refusals: refusals)
}

/// The middleware every request passes before a route, outermost first: request id on every response and log line,
/// one access-log line and the request metrics per request, then security: CORS (preflights answered before auth),
/// Host allow-list, API keys, rate limits. The HTTP router and the WebSocket upgrade router both use it.
func addAdmissionMiddleware<Context: AuthenticatedRequestContext & AnnotatedRequestContext>(
    to router: Router<Context>, configuration: ServerConfiguration, keys: APIKeyStore, limiter: RateLimiter, metrics: WhisperMetrics,
    rateLimitExemptPaths: Set<String>
) {
    let security = configuration.security
    let observability = configuration.observability
    router.add(middleware: RequestIDMiddleware())
    if observability.accessLog { router.add(middleware: AccessLogMiddleware()) }
    router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
    if let cors = CORSAllowListMiddleware<Context>(settings: security.cors) { router.add(middleware: cors) }
    router.add(middleware: TrustedHostMiddleware(allowedHosts: security.effectiveAllowedHosts(bindHost: configuration.http.host)))
    router.add(
        middleware: AuthenticationMiddleware(
            keys: keys, exemptPaths: Set(security.authExemptPaths), protectMetrics: security.protectMetrics,
            metricsPath: observability.metricsPath, metrics: metrics
        )
    )
    router.add(
        middleware: RateLimitMiddleware(
            limiter: limiter, resolver: ClientAddressResolver(trustedProxies: security.trustedProxies),
            exemptPaths: rateLimitExemptPaths, metrics: metrics
        )
    )
}
