import CoreMetrics
import Foundation
import Hummingbird
import Metrics
import Prometheus
import WhisperEngine

/// Prometheus wiring: a factory with our histogram buckets, the global bootstrap, and the `/metrics` response.
///
/// ```swift
/// let registry = PrometheusCollectorRegistry()
/// PrometheusMetrics.bootstrap(registry: registry)          // once per process
/// router.get("/metrics") { _, _ in PrometheusMetrics.response(registry: registry) }
/// ```
public enum PrometheusMetrics {
    /// The content type of the text exposition format.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// A factory over `registry` whose duration histograms reach 10 minutes and whose real-time-factor histogram has its own buckets.
    public static func makeFactory(registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        let durations = WhisperMetrics.durationBuckets.map { Duration.nanoseconds(Int64($0 * 1e9)) }
        factory.defaultDurationHistogramBuckets = durations
        for name in [WhisperMetrics.Name.requestDuration, WhisperMetrics.Name.queueWait, WhisperMetrics.Name.modelLoadDuration] {
            factory.durationHistogramBuckets[name] = durations
        }
        factory.valueHistogramBuckets[WhisperMetrics.Name.realTimeFactor] = WhisperMetrics.realTimeFactorBuckets
        return factory
    }

    /// Bootstraps `MetricsSystem` with ``makeFactory(registry:)``. Call once per process (a second call traps).
    public static func bootstrap(registry: PrometheusCollectorRegistry) {
        MetricsSystem.bootstrap(makeFactory(registry: registry))
    }

    /// The registry, then the engine's counters (``EngineMetrics``), as a `200 text/plain; version=0.0.4` response.
    public static func response(
        registry: PrometheusCollectorRegistry, engine: ComputeActivity = WhisperModel.computeActivity
    ) -> Response {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16 * 1024)
        registry.emit(into: &bytes)
        bytes += EngineMetrics.render(engine).utf8
        return Response(
            status: .ok,
            headers: [.contentType: contentType],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes))
        )
    }
}
