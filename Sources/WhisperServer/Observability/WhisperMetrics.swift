import CoreMetrics
import Foundation
import Metrics

/// Every metric the server exports, each name defined once here.
///
/// Metrics are created against an explicit `MetricsFactory` (the bootstrapped global one by default), so
/// tests can record into their own Prometheus registry. Dimension values are bounded: routes are the
/// router's templates (never raw paths), statuses are codes, reasons and kinds are fixed words.
///
/// ```swift
/// let metrics = WhisperMetrics()                    // uses MetricsSystem.factory
/// metrics.recordAudioTranscribed(seconds: 12.5, model: "tiny.en")
/// ```
public struct WhisperMetrics: Sendable {
    /// Metric names.
    public enum Name {
        /// Counter: requests by `route`, `method`, `status`.
        public static let requests = "whisper_http_requests_total"
        /// Histogram (seconds): request duration by `route`, `method`.
        public static let requestDuration = "whisper_http_request_duration_seconds"
        /// Counter: seconds of audio transcribed, by `model`.
        public static let audioSeconds = "whisper_audio_seconds_total"
        /// Histogram: processing time / audio duration, by `model`.
        public static let realTimeFactor = "whisper_real_time_factor"
        /// Gauge: requests waiting for an inference worker.
        public static let queueDepth = "whisper_queue_depth"
        /// Histogram (seconds): time spent waiting in the queue.
        public static let queueWait = "whisper_queue_wait_seconds"
        /// Gauge: models currently loaded.
        public static let modelsLoaded = "whisper_models_loaded"
        /// Histogram (seconds): model load time, by `model`.
        public static let modelLoadDuration = "whisper_model_load_seconds"
        /// Counter: requests refused by the rate limiter, by `reason` (`requests`, `audio_seconds`).
        public static let rateLimitRejections = "whisper_rate_limit_rejections_total"
        /// Counter: requests refused by authentication, by `reason` (`missing_key`, `invalid_key`).
        public static let authRejections = "whisper_auth_rejections_total"
        /// Counter: audio that could not be decoded, by `kind`.
        public static let decodeErrors = "whisper_decode_errors_total"
        /// Counter: seconds of the engine's cores per kind of `work` (``WhisperEngine/ComputeWork``), every model;
        /// work on half the cores counts half (rendered by ``EngineMetrics``).
        public static let engineSeconds = "whisper_engine_seconds_total"
        /// Histogram: transcriptions advanced by each decoder pass (the batch), every model (``EngineMetrics``).
        public static let decoderPassSessions = "whisper_decoder_pass_sessions"
    }

    /// Histogram buckets in seconds for request, queue-wait and model-load durations: 5 ms … 10 min.
    public static let durationBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600]
    /// Real-time-factor buckets (processing seconds per audio second).
    public static let realTimeFactorBuckets: [Double] = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 5, 10]

    private let factory: any MetricsFactory

    /// Creates the metrics over a factory.
    /// - Parameter factory: where metrics are recorded (default: the bootstrapped `MetricsSystem.factory`).
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
    }

    /// Records one finished request.
    public func recordRequest(route: String, method: String, status: Int, durationSeconds: Double) {
        Counter(label: Name.requests, dimensions: [("route", route), ("method", method), ("status", String(status))], factory: factory).increment()
        CoreMetrics.Timer(label: Name.requestDuration, dimensions: [("route", route), ("method", method)], factory: factory)
            .recordNanoseconds(Int64((max(0, durationSeconds) * 1e9).rounded()))
    }

    /// Records seconds of audio transcribed by a model.
    public func recordAudioTranscribed(seconds: Double, model: String) {
        guard seconds.isFinite, seconds > 0 else { return }
        FloatingPointCounter(label: Name.audioSeconds, dimensions: [("model", model)], factory: factory).increment(by: seconds)
    }

    /// Records a real-time factor (processing seconds ÷ audio seconds).
    public func recordRealTimeFactor(_ factor: Double, model: String) {
        guard factor.isFinite, factor >= 0 else { return }
        Recorder(label: Name.realTimeFactor, dimensions: [("model", model)], aggregate: true, factory: factory).record(factor)
    }

    /// Sets the number of queued requests.
    public func setQueueDepth(_ depth: Int) {
        Gauge(label: Name.queueDepth, dimensions: [], factory: factory).record(depth)
    }

    /// Records how long a request waited for a worker.
    public func recordQueueWait(seconds: Double) {
        CoreMetrics.Timer(label: Name.queueWait, dimensions: [], factory: factory).recordNanoseconds(Int64((max(0, seconds) * 1e9).rounded()))
    }

    /// Sets the number of loaded models.
    public func setModelsLoaded(_ count: Int) {
        Gauge(label: Name.modelsLoaded, dimensions: [], factory: factory).record(count)
    }

    /// Records how long a model took to load.
    public func recordModelLoad(seconds: Double, model: String) {
        CoreMetrics.Timer(label: Name.modelLoadDuration, dimensions: [("model", model)], factory: factory)
            .recordNanoseconds(Int64((max(0, seconds) * 1e9).rounded()))
    }

    /// Counts a rate-limit rejection.
    public func recordRateLimitRejection(reason: String) {
        Counter(label: Name.rateLimitRejections, dimensions: [("reason", reason)], factory: factory).increment()
    }

    /// Counts an authentication rejection.
    public func recordAuthRejection(reason: String) {
        Counter(label: Name.authRejections, dimensions: [("reason", reason)], factory: factory).increment()
    }

    /// Counts an audio decode error of a kind (e.g. `unsupported_format`, `corrupt`, `too_long`, `empty`).
    public func recordDecodeError(kind: String) {
        Counter(label: Name.decodeErrors, dimensions: [("kind", kind)], factory: factory).increment()
    }
}
