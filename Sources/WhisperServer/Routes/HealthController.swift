import Hummingbird
import NIOCore

/// `GET /health` (liveness: 200 while the process runs) and `GET /ready` (200 only when the default model is loaded
/// and the queue has room; 503 otherwise).
///
/// `/health` answers `{"status":"healthy","service":"whisper-api-server"}` as the original Python server did, so its
/// clients and monitors keep working unchanged.
struct HealthController<Context: RequestContext> {
    let models: ModelManager
    let scheduler: InferenceScheduler

    func addRoutes(to router: Router<Context>) {
        router.get("health") { _, _ in
            TranscriptionResponse.json(Array(Self.healthBody.utf8))
        }
        router.get("ready") { _, _ in
            let modelLoaded = await models.isDefaultModelLoaded()
            let snapshot = scheduler.snapshot
            let ready = modelLoaded && !snapshot.isFull
            var response = TranscriptionResponse.json(
                TranscriptionResponse.encode(
                    Readiness(
                        status: ready ? "ready" : "not_ready", defaultModelLoaded: modelLoaded, queueFull: snapshot.isFull,
                        running: snapshot.running, waiting: snapshot.waiting
                    )
                )
            )
            if !ready { response.status = .serviceUnavailable }
            return response
        }
    }

    /// The liveness answer, the original server's words.
    static var healthBody: String { #"{"status":"healthy","service":"whisper-api-server"}"# }

    struct Readiness: Encodable {
        let status: String
        let defaultModelLoaded: Bool
        let queueFull: Bool
        let running: Int
        let waiting: Int

        enum CodingKeys: String, CodingKey {
            case status, running, waiting
            case defaultModelLoaded = "default_model_loaded"
            case queueFull = "queue_full"
        }
    }
}
