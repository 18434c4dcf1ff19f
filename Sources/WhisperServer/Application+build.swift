import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOPosix

/// What the application is built from besides its configuration; tests substitute their own.
public struct ServerDependencies: Sendable {
    /// Turns a model directory into a model.
    public var modelLoader: any SpeechModelLoading
    /// Event loops for the HTTP server and deadline timers.
    public var eventLoopGroup: any EventLoopGroup

    /// The production dependencies.
    public init(
        modelLoader: any SpeechModelLoading = WhisperModelLoader(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.modelLoader = modelLoader
        self.eventLoopGroup = eventLoopGroup
    }
}

/// Builds the server: routes, middleware, model manager and inference scheduler.
///
/// ```swift
/// let app = try buildApplication(configuration: configuration, logger: logger)
/// try await app.runService()
/// ```
/// - Parameters:
///   - configuration: validated settings.
///   - dependencies: model loader and event loops.
///   - logger: the server's logger.
/// - Returns: the application, ready to run (its services: model manager, scheduler).
/// - Throws: ``ServerConfiguration/ValidationError`` when the configuration is invalid.
public func buildApplication(
    configuration: ServerConfiguration, dependencies: ServerDependencies = ServerDependencies(), logger: Logger
) throws(ServerConfiguration.ValidationError) -> some ApplicationProtocol {
    try configuration.validate()
    let models = ModelManager(configuration: configuration.models, loader: dependencies.modelLoader, logger: logger)
    let scheduler = InferenceScheduler(
        workers: configuration.inference.workers, queueSize: configuration.inference.queueSize,
        eventLoopGroup: dependencies.eventLoopGroup
    )
    let service = TranscriptionService(models: models, scheduler: scheduler, configuration: configuration)

    let router = Router(context: WhisperRequestContext.self, options: .autoGenerateHeadEndpoints)

    // MARK: Middleware, outermost first.
    // 1. Errors: everything below answers in OpenAI's error shape.
    router.add(middleware: OpenAIErrorMiddleware())
    // 2. Request id, logging, metrics (Observability/) go here.
    // 3. CORS, trusted hosts, authentication, rate limiting (Security/) go here.
    // 4. Body limit: last, so rejected requests are never read.
    router.add(middleware: UploadLimitMiddleware(limits: configuration.limits))

    // MARK: Routes
    HealthController(models: models, scheduler: scheduler).addRoutes(to: router)
    let v1 = router.group("v1")
    ModelsController(models: models, defaultModel: configuration.models.defaultModel).addRoutes(to: v1)
    TranscriptionController(service: service, limits: configuration.limits).addRoutes(to: v1)

    var app = Application(
        router: router,
        configuration: ApplicationConfiguration(
            address: .hostname(configuration.http.host, port: configuration.http.port),
            serverName: configuration.http.serverName
        ),
        eventLoopGroupProvider: .shared(dependencies.eventLoopGroup),
        logger: logger
    )
    app.addServices(models, scheduler)
    return app
}
