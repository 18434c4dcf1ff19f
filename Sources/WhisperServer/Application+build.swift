import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import Prometheus
import ServiceLifecycle

/// What the application is built from besides its configuration; tests substitute their own.
public struct ServerDependencies: Sendable {
    /// Turns a model directory into a model.
    public var modelLoader: any SpeechModelLoading
    /// Event loops for the HTTP server and deadline timers.
    public var eventLoopGroup: any EventLoopGroup
    /// Where the server's metrics are recorded and `/metrics` reads them from.
    public var metricsRegistry: PrometheusCollectorRegistry

    /// The production dependencies.
    public init(
        modelLoader: any SpeechModelLoading = WhisperModelLoader(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        metricsRegistry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()
    ) {
        self.modelLoader = modelLoader
        self.eventLoopGroup = eventLoopGroup
        self.metricsRegistry = metricsRegistry
    }

    /// The production dependencies, with `MetricsSystem` bootstrapped on their metrics registry (once per process), so
    /// metrics of libraries appear on `/metrics` too.
    public static func bootstrappingMetrics() -> ServerDependencies {
        let dependencies = ServerDependencies()
        PrometheusMetrics.bootstrap(registry: dependencies.metricsRegistry)
        return dependencies
    }
}

/// Builds the server: middleware, routes, model manager and inference scheduler.
///
/// ```swift
/// let app = try buildApplication(configuration: configuration, logger: logger)
/// try await runApplication(app, configuration: configuration, logger: logger)
/// ```
/// - Parameters:
///   - configuration: validated settings.
///   - dependencies: model loader, event loops and metrics registry.
///   - logger: the server's logger.
/// - Returns: the application, ready to run (its services: model manager, scheduler).
/// - Throws: ``ServerConfiguration/ValidationError`` when the configuration is invalid, the API keys cannot be loaded
///   or the secure default refuses to serve without keys.
public func buildApplication(
    configuration: ServerConfiguration, dependencies: ServerDependencies = ServerDependencies(), logger: Logger
) throws(ServerConfiguration.ValidationError) -> some ApplicationProtocol {
    try configuration.validate()
    let security = configuration.security
    let keys: APIKeyStore
    do {
        keys = try security.loadAPIKeys()
    } catch {
        throw ServerConfiguration.ValidationError(problems: ["API keys: \(error)"])
    }
    if let refusal = SecureDefaultPolicy.refusal(
        bindHost: configuration.http.host, hasAPIKeys: !keys.isEmpty, allowUnauthenticated: security.allowUnauthenticated
    ) {
        throw ServerConfiguration.ValidationError(problems: [refusal])
    }

    let registry = dependencies.metricsRegistry
    let metrics = WhisperMetrics(factory: PrometheusMetrics.makeFactory(registry: registry))
    let models = ModelManager(configuration: configuration.models, loader: dependencies.modelLoader, logger: logger, metrics: metrics)
    let scheduler = InferenceScheduler(
        workers: configuration.inference.workers, queueSize: configuration.inference.queueSize,
        eventLoopGroup: dependencies.eventLoopGroup, metrics: metrics
    )
    let service = TranscriptionService(models: models, scheduler: scheduler, configuration: configuration, metrics: metrics)
    let limiter = RateLimiter(policy: security.rateLimitPolicy)
    let observability = configuration.observability

    let router = Router(context: WhisperRequestContext.self, options: .autoGenerateHeadEndpoints)

    // MARK: Middleware, outermost first.
    // 1. Request id on every response and log line; one access-log line and the request metrics per request.
    router.add(middleware: RequestIDMiddleware())
    if observability.accessLog { router.add(middleware: AccessLogMiddleware()) }
    router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
    // 2. Security: CORS (preflights answered before auth), Host allow-list, API keys, rate limits.
    if let cors = CORSAllowListMiddleware<WhisperRequestContext>(settings: security.cors) { router.add(middleware: cors) }
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
            exemptPaths: ["/health", "/ready", observability.metricsPath, "/openapi.json"], metrics: metrics
        )
    )
    // 3. Errors: everything below answers in OpenAI's error shape; a known path with another method answers 405.
    let allowedMethods = AllowedMethods()
    router.add(middleware: OpenAIErrorMiddleware(allowedMethods: allowedMethods))
    // 4. Body limit: last, so rejected requests are never read.
    router.add(middleware: UploadLimitMiddleware(limits: configuration.limits))

    // MARK: Routes
    HealthController(models: models, scheduler: scheduler).addRoutes(to: router)
    if observability.metricsEnabled {
        router.get(RouterPath(observability.metricsPath)) { _, _ in PrometheusMetrics.response(registry: registry) }
    }
    let document = OpenAPIController<WhisperRequestContext>.loadDocument()
    if document == nil { logger.warning("the OpenAPI document is not installed: /openapi.json answers 404") }
    OpenAPIController(document: document).addRoutes(to: router)
    let v1 = router.group("v1")
    ModelsController(models: models, defaultModel: configuration.models.defaultModel).addRoutes(to: v1)
    TranscriptionController(service: service, limits: configuration.limits, limiter: limiter).addRoutes(to: v1)
    AudioInfoController(service: service, limits: configuration.limits).addRoutes(to: router)

    allowedMethods.record(router.routes.map { ($0.path, $0.method) })

    var app = Application(
        router: router,
        server: TimedHTTP1Channel.builder(settings: configuration.http),
        configuration: ApplicationConfiguration(
            address: .hostname(configuration.http.host, port: configuration.http.port),
            serverName: configuration.http.serverName,
            availableConnectionsDelegate: MaximumAvailableConnections(configuration.http.maxConnections, logger: logger)
        ),
        eventLoopGroupProvider: .shared(dependencies.eventLoopGroup),
        logger: logger
    )
    app.addServices(models, scheduler)
    return app
}

/// Runs the application until SIGTERM or SIGINT, then shuts down gracefully: the listener closes (new connections are
/// refused), in-flight requests get ``ServerConfiguration/Lifecycle/shutdownGraceSeconds`` to finish, then whatever is
/// left is cancelled.
/// - Parameters:
///   - app: the application from ``buildApplication(configuration:dependencies:logger:)``.
///   - configuration: its configuration (for the grace period).
///   - logger: the service group's logger.
public func runApplication(_ app: some ApplicationProtocol, configuration: ServerConfiguration, logger: Logger) async throws {
    var groupConfiguration = ServiceGroupConfiguration(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    groupConfiguration.maximumGracefulShutdownDuration = .milliseconds(Int64(configuration.lifecycle.shutdownGraceSeconds * 1000))
    groupConfiguration.maximumCancellationDuration = .seconds(5)
    try await ServiceGroup(configuration: groupConfiguration).run()
}
