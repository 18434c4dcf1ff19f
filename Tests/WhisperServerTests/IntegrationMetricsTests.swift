import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Prometheus
import Testing

@testable import WhisperServer

extension LiveServerTests {
/// `/metrics` after real traffic: tiny.en transcribing real speech over HTTP.
@Suite(.enabled(if: ServerTest.realModelsDirectory != nil, "needs models/tiny.en"))
struct IntegrationMetricsTests {
    @Test(.timeLimit(.minutes(3))) func metricsAfterARealTranscription() async throws {
        var configuration = ServerTest.configuration(modelsDirectory: try #require(ServerTest.realModelsDirectory), timeout: 120)
        configuration.models.preload = true
        let registry = PrometheusCollectorRegistry()
        let app = try buildApplication(
            configuration: configuration, dependencies: ServerDependencies(metricsRegistry: registry), logger: ServerTest.logger
        )
        let audio = try #require(ServerTest.fixture("hello-world.wav"))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            for _ in 0..<300 {
                if try await ServerBinary.get("/ready", port: port).status == .ok { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            let request = TestClient.Request(
                "/v1/audio/transcriptions", method: .post, headers: ServerTest.formHeaders,
                body: ServerTest.form([("model", "whisper-1")], file: audio)
            )
            #expect(try await LiveServerTests.ServerConcurrencyTests.send(request, port: port, timeout: .seconds(120)).status == .ok)
            let broken = TestClient.Request(
                "/v1/audio/transcriptions", method: .post, headers: ServerTest.formHeaders,
                body: ServerTest.form([("model", "whisper-1")], file: Array("this is not audio at all".utf8) + [UInt8](repeating: 7, count: 4000))
            )
            let refused = try await LiveServerTests.ServerConcurrencyTests.send(broken, port: port)
            #expect(refused.status.code >= 400 && refused.status.code < 500)

            let response = try await ServerBinary.get("/metrics", port: port)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
            let text = String(buffer: response.body ?? ByteBuffer())
            func value(_ prefix: String) -> Double? {
                text.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { Double($0.split(separator: " ").last ?? "") }
            }
            let seconds = try #require(value(#"whisper_audio_seconds_total{model="tiny.en"}"#), "\(text)")
            #expect(abs(seconds - 3.74) < 0.05)
            #expect(value(#"whisper_http_requests_total{route="/v1/audio/transcriptions",method="POST",status="200"}"#) == 1)
            #expect(value(#"whisper_http_requests_total{route="/v1/audio/transcriptions",method="POST",status="\#(refused.status.code)"}"#) == 1)
            #expect(value(#"whisper_real_time_factor_count{model="tiny.en"}"#) == 1)
            #expect(value("whisper_models_loaded") == 1)
            #expect(value(#"whisper_model_load_seconds_count{model="tiny.en"}"#) == 1)
            #expect((value("whisper_queue_wait_seconds_count") ?? 0) >= 1)
            #expect(text.contains("whisper_decode_errors_total{kind="), "\(text)")
            #expect(text.contains(#"whisper_http_request_duration_seconds_bucket{route="/v1/audio/transcriptions",method="POST",le="600"#), "buckets reach 10 minutes")
            // The engine's counters (the whole process's: earlier tests' work counts too).
            for work in ["encoder", "prompt", "decoder_step"] {
                #expect((value(#"whisper_engine_seconds_total{work="\#(work)"}"#) ?? 0) > 0, "\(work)")
            }
            #expect(value(#"whisper_engine_seconds_total{work="alignment"}"#) != nil)
            let passes = try #require(value("whisper_decoder_pass_sessions_count"))
            #expect(passes >= 10, "hello-world takes a few decoder steps")
            #expect(value(#"whisper_decoder_pass_sessions_bucket{le="+Inf"}"#) == passes)
            #expect((value("whisper_decoder_pass_sessions_sum") ?? 0) >= passes)
        }
    }
}
}
