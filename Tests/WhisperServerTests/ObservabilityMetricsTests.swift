import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Prometheus
import Testing

@testable import WhisperEngine
@testable import WhisperServer

@Suite("Observability: metrics")
struct ObservabilityMetricsTests {
    @Test func requestMetricsAfterKnownTraffic() async throws {
        let registry = PrometheusCollectorRegistry()
        let metrics = WhisperMetrics(factory: PrometheusMetrics.makeFactory(registry: registry))
        let router = Router(context: SecurityTestContext.self)
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
        router.get("/v1/models/{id}") { _, context in
            let id = try context.parameters.require("id")
            guard id == "tiny.en" else { throw HTTPError(.notFound) }
            return id
        }
        router.get("/metrics") { _, _ in PrometheusMetrics.response(registry: registry) }
        try await Application(router: router).test(.router) { client in
            for _ in 0..<3 { try await client.execute(uri: "/v1/models/tiny.en", method: .get) { #expect($0.status == .ok) } }
            try await client.execute(uri: "/v1/models/missing", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/nowhere", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
                let text = response.securityBodyString
                #expect(text.contains(#"whisper_http_requests_total{route="/v1/models/{id}",method="GET",status="200"} 3"#), "\(text)")
                #expect(text.contains(#"whisper_http_requests_total{route="/v1/models/{id}",method="GET",status="404"} 1"#))
                #expect(text.contains(#"whisper_http_requests_total{route="NotFound",method="GET",status="404"} 1"#))
                #expect(text.contains(#"whisper_http_request_duration_seconds_count{route="/v1/models/{id}",method="GET"} 4"#))
                #expect(text.contains(#"whisper_http_request_duration_seconds_bucket{route="/v1/models/{id}",method="GET",le="600.0"} 4"#))
                #expect(!text.contains("/nowhere"), "raw paths never become label values")
            }
        }
    }

    @Test func domainMetricsRender() {
        let registry = PrometheusCollectorRegistry()
        let metrics = WhisperMetrics(factory: PrometheusMetrics.makeFactory(registry: registry))
        metrics.recordAudioTranscribed(seconds: 12.5, model: "tiny.en")
        metrics.recordAudioTranscribed(seconds: 2.5, model: "tiny.en")
        metrics.recordRealTimeFactor(0.15, model: "tiny.en")
        metrics.setQueueDepth(3)
        metrics.setQueueDepth(2)
        metrics.recordQueueWait(seconds: 0.2)
        metrics.recordQueueWait(seconds: 400)
        metrics.setModelsLoaded(1)
        metrics.recordModelLoad(seconds: 1.7, model: "tiny.en")
        metrics.recordRateLimitRejection(reason: "requests")
        metrics.recordAuthRejection(reason: "invalid_key")
        metrics.recordDecodeError(kind: "unsupported_format")
        metrics.recordDecodeError(kind: "unsupported_format")
        let text = registry.emitToString()
        #expect(text.contains(#"whisper_audio_seconds_total{model="tiny.en"} 15.0"#), "\(text)")
        #expect(text.contains(#"whisper_real_time_factor_bucket{model="tiny.en",le="0.2"} 1"#))
        #expect(text.contains(#"whisper_real_time_factor_bucket{model="tiny.en",le="0.1"} 0"#))
        #expect(text.contains("whisper_queue_depth 2.0"))
        #expect(text.contains(#"whisper_queue_wait_seconds_bucket{le="0.25"} 1"#))
        #expect(text.contains(#"whisper_queue_wait_seconds_bucket{le="300.0"} 1"#))
        #expect(text.contains(#"whisper_queue_wait_seconds_bucket{le="600.0"} 2"#))
        #expect(text.contains("whisper_models_loaded 1.0"))
        #expect(text.contains(#"whisper_model_load_seconds_count{model="tiny.en"} 1"#))
        #expect(text.contains(#"whisper_rate_limit_rejections_total{reason="requests"} 1"#))
        #expect(text.contains(#"whisper_auth_rejections_total{reason="invalid_key"} 1"#))
        #expect(text.contains(#"whisper_decode_errors_total{kind="unsupported_format"} 2"#))
    }

    @Test func durationBucketsReachTenMinutes() {
        #expect(WhisperMetrics.durationBuckets.last == 600)
        #expect(WhisperMetrics.durationBuckets == WhisperMetrics.durationBuckets.sorted())
    }

    /// The engine's counters as exposition lines: every kind of work (zero when none ran), the passes' histogram
    /// with cumulative buckets, all after the registry's metrics.
    @Test func engineCountersRender() async throws {
        var activity = ComputeActivity()
        activity.record(.encoder, elapsed: .milliseconds(1500), sharedCores: false)
        activity.record(.decoderStep, elapsed: .milliseconds(500), sharedCores: true)
        for sessions in [1, 1, 3, 8, 40] { activity.recordDecoderPass(sessions: sessions) }
        let lines = EngineMetrics.render(activity).split(separator: "\n").map(String.init)
        #expect(lines.contains(#"whisper_engine_seconds_total{work="encoder"} 1.5"#))
        #expect(lines.contains(#"whisper_engine_seconds_total{work="decoder_step"} 0.25"#))
        #expect(lines.contains(#"whisper_engine_seconds_total{work="prompt"} 0.0"#))
        #expect(lines.contains("# TYPE whisper_engine_seconds_total counter"))
        #expect(lines.contains("# TYPE whisper_decoder_pass_sessions histogram"))
        let buckets = lines.filter { $0.hasPrefix("whisper_decoder_pass_sessions_bucket") }
        #expect(buckets == [
            #"whisper_decoder_pass_sessions_bucket{le="1"} 2"#, #"whisper_decoder_pass_sessions_bucket{le="2"} 2"#,
            #"whisper_decoder_pass_sessions_bucket{le="4"} 3"#, #"whisper_decoder_pass_sessions_bucket{le="8"} 4"#,
            #"whisper_decoder_pass_sessions_bucket{le="16"} 4"#, #"whisper_decoder_pass_sessions_bucket{le="32"} 4"#,
            #"whisper_decoder_pass_sessions_bucket{le="+Inf"} 5"#,
        ])
        #expect(lines.contains("whisper_decoder_pass_sessions_sum 53") && lines.contains("whisper_decoder_pass_sessions_count 5"))

        let registry = PrometheusCollectorRegistry()
        WhisperMetrics(factory: PrometheusMetrics.makeFactory(registry: registry)).setModelsLoaded(1)
        let router = Router(context: SecurityTestContext.self)
        let scraped = activity
        router.get("/metrics") { _, _ in PrometheusMetrics.response(registry: registry, engine: scraped) }
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.securityBodyString.hasPrefix(
                    "# TYPE whisper_models_loaded gauge\nwhisper_models_loaded 1.0\n# HELP whisper_engine_seconds_total"),
                    "\(response.securityBodyString)")
            }
        }
    }
}
