import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Prometheus
import Testing

@testable import WhisperServer

extension LiveServerTests {
/// The security and observability middleware as `buildApplication` installs them, over real HTTP with fake models.
@Suite struct IntegrationSecurityTests {
    let modelsDirectory: URL

    init() throws {
        modelsDirectory = try ServerTest.makeModelsDirectory()
    }

    func configuration(_ edit: (inout ServerConfiguration) -> Void = { _ in }) -> ServerConfiguration {
        var configuration = ServerTest.configuration(modelsDirectory: modelsDirectory)
        configuration.security.apiKeys = "alice:sk-alice-0123456789,bob:sk-bob-0123456789"
        edit(&configuration)
        return configuration
    }

    func app(_ configuration: ServerConfiguration, logs: CapturedLogLines? = nil) throws -> some ApplicationProtocol {
        try buildApplication(
            configuration: configuration, dependencies: ServerDependencies(modelLoader: FakeModelLoader()),
            logger: logs?.logger(label: "whisper-server", level: .info) ?? ServerTest.logger
        )
    }

    /// One request on a connection of its own.
    func send(
        _ port: Int?, _ path: String, method: HTTPRequest.Method = .get, headers: HTTPFields = [:], body: ByteBuffer? = nil,
        authority: String? = nil
    ) async throws -> TestClient.Response {
        let request = TestClient.Request(path, method: method, authority: authority, headers: headers, body: body)
        return try await ServerConcurrencyTests.send(request, port: try #require(port))
    }

    /// Every route with a request that passes validation.
    var routes: [(path: String, method: HTTPRequest.Method, headers: HTTPFields, body: ByteBuffer?)] {
        let form = ServerTest.form([("model", "whisper-1")], file: ServerTest.wav(seconds: 1))
        let chat = ByteBuffer(string: #"{"model":"whisper-1","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"\#(Data(ServerTest.wav(seconds: 1)).base64EncodedString())","format":"wav"}}]}]}"#)
        return [
            ("/v1/models", .get, [:], nil),
            ("/v1/models/tiny.en", .get, [:], nil),
            ("/v1/audio/transcriptions", .post, ServerTest.formHeaders, form),
            ("/v1/audio/translations", .post, ServerTest.formHeaders, ServerTest.form([("model", "base")], file: ServerTest.wav(seconds: 1))),
            ("/v1/chat/completions", .post, ServerTest.jsonHeaders, chat),
            ("/debug/audio-info", .post, ServerTest.jsonHeaders, ByteBuffer(string: #"{"audio":"\#(Data(ServerTest.wav(seconds: 1)).base64EncodedString())"}"#)),
            ("/metrics", .get, [:], nil),
            ("/openapi.json", .get, [:], nil),
        ]
    }

    @Test(.timeLimit(.minutes(2))) func everyRouteButHealthAndReadyNeedsAKey() async throws {
        let registry = PrometheusCollectorRegistry()
        let app = try buildApplication(
            configuration: configuration { $0.security.rateLimitRequests = 0 },
            dependencies: ServerDependencies(modelLoader: FakeModelLoader(), metricsRegistry: registry), logger: ServerTest.logger
        )
        try await app.test(.live) { client in
            for route in routes {
                let missing = try await send(client.port, route.path, method: route.method, headers: route.headers, body: route.body)
                #expect(missing.status == .unauthorized, "\(route.path) without a key")
                #expect(try ServerTest.error(missing).code == "invalid_api_key")
                #expect(missing.headers[.wwwAuthenticate] == "Bearer")
                var wrong = route.headers
                wrong[.authorization] = "Bearer sk-wrong-0123456789"
                #expect(try await send(client.port, route.path, method: route.method, headers: wrong, body: route.body).status == .unauthorized)
                var wrongHeader = route.headers
                wrongHeader[HTTPField.Name("X-API-Key")!] = "sk-alice-012345678"
                #expect(try await send(client.port, route.path, method: route.method, headers: wrongHeader, body: route.body).status == .unauthorized)

                var bearer = route.headers
                bearer[.authorization] = "Bearer sk-alice-0123456789"
                let ok = try await send(client.port, route.path, method: route.method, headers: bearer, body: route.body)
                #expect(ok.status == .ok, "\(route.path) with a Bearer key: \(String(buffer: ok.body ?? ByteBuffer()))")
                var apiKey = route.headers
                apiKey[HTTPField.Name("X-API-Key")!] = "sk-bob-0123456789"
                #expect(try await send(client.port, route.path, method: route.method, headers: apiKey, body: route.body).status == .ok, "\(route.path) with X-API-Key")
            }
            #expect(try await send(client.port, "/health").status == .ok)
            #expect(try await send(client.port, "/ready").status != .unauthorized)
        }
        var bytes: [UInt8] = []
        registry.emit(into: &bytes)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains(#"whisper_auth_rejections_total{reason="missing_key"} 8"#), "\(text)")
        #expect(text.contains(#"whisper_auth_rejections_total{reason="invalid_key"} 16"#))
    }

    @Test func metricsCanBeLeftOpen() async throws {
        try await app(configuration { $0.security.protectMetrics = false }).test(.live) { client in
            let metrics = try await send(client.port, "/metrics")
            #expect(metrics.status == .ok)
            #expect(try await send(client.port, "/v1/models").status == .unauthorized)
        }
    }

    @Test func rateLimitHeadersAnd429WithRetryAfter() async throws {
        let auth: HTTPFields = [.authorization: "Bearer sk-alice-0123456789"]
        try await app(configuration { $0.security.rateLimitRequests = 2 }).test(.live) { client in
            let first = try await send(client.port, "/v1/models", headers: auth)
            #expect(first.status == .ok)
            #expect(first.headers[HTTPField.Name("x-ratelimit-limit-requests")!] == "2")
            #expect(first.headers[HTTPField.Name("x-ratelimit-remaining-requests")!] == "1")
            #expect(first.headers[HTTPField.Name("x-ratelimit-reset-requests")!] != nil)
            #expect(try await send(client.port, "/v1/models", headers: auth).status == .ok)
            let refused = try await send(client.port, "/v1/models", headers: auth)
            #expect(refused.status == .tooManyRequests)
            #expect(Int(refused.headers[.retryAfter] ?? "") ?? 0 >= 1)
            #expect(try ServerTest.error(refused).code == "rate_limit_exceeded")
            #expect(refused.headers[HTTPField.Name("x-ratelimit-remaining-requests")!] == "0")
            // Another key has its own bucket; health is never limited.
            #expect(try await send(client.port, "/v1/models", headers: [.authorization: "Bearer sk-bob-0123456789"]).status == .ok)
            #expect(try await send(client.port, "/health").status == .ok)
        }
    }

    @Test func audioSecondsAreChargedAfterDecoding() async throws {
        let auth: HTTPFields = [.authorization: "Bearer sk-alice-0123456789"]
        let headers = securityMerged(ServerTest.formHeaders, auth)
        try await app(configuration { $0.security.rateLimitAudioSeconds = 3 }).test(.live) { client in
            let body = ServerTest.form([("model", "whisper-1")], file: ServerTest.wav(seconds: 2))
            #expect(try await send(client.port, "/v1/audio/transcriptions", method: .post, headers: headers, body: body).status == .ok)
            let status = try await send(client.port, "/v1/models", headers: auth)
            let remaining = try #require(Double(status.headers[HTTPField.Name("x-ratelimit-remaining-audio-seconds")!] ?? ""))
            #expect((0.9...1.5).contains(remaining), "3 s budget minus 2 s of decoded audio (plus a little refill)")
            #expect(try await send(client.port, "/v1/audio/transcriptions", method: .post, headers: headers, body: body).status == .ok)
            let refused = try await send(client.port, "/v1/audio/transcriptions", method: .post, headers: headers, body: body)
            #expect(refused.status == .tooManyRequests, "the audio budget is spent")
        }
    }

    @Test func corsPreflightAndRejection() async throws {
        try await app(configuration { $0.security.cors.origins = ["https://app.example.com"] }).test(.live) { client in
            let preflight: HTTPFields = [
                .origin: "https://app.example.com", .accessControlRequestMethod: "POST",
                .accessControlRequestHeaders: "authorization, content-type",
            ]
            let allowed = try await send(client.port, "/v1/audio/transcriptions", method: .options, headers: preflight)
            #expect(allowed.status == .noContent || allowed.status == .ok)
            #expect(allowed.headers[.accessControlAllowOrigin] == "https://app.example.com")
            #expect(allowed.headers[.accessControlAllowMethods]?.contains("POST") == true)
            var other = preflight
            other[.origin] = "https://evil.example.com"
            let refused = try await send(client.port, "/v1/audio/transcriptions", method: .options, headers: other)
            #expect(refused.status == .forbidden)
            #expect(refused.headers[.accessControlAllowOrigin] == nil)
            let simple = try await send(
                client.port, "/v1/models", headers: [.origin: "https://app.example.com", .authorization: "Bearer sk-alice-0123456789"]
            )
            #expect(simple.headers[.accessControlAllowOrigin] == "https://app.example.com")
        }
    }

    @Test func onlyTrustedHostsAreAnswered() async throws {
        let auth: HTTPFields = [.authorization: "Bearer sk-alice-0123456789"]
        try await app(configuration { $0.security.allowedHosts = ["api.example.com"] }).test(.live) { client in
            let evil = try await send(client.port, "/v1/models", headers: auth, authority: "evil.example.com")
            #expect(evil.status == .badRequest)
            #expect(try ServerTest.error(evil).code == "invalid_host")
            #expect(try await send(client.port, "/v1/models", headers: auth, authority: "api.example.com:8084").status == .ok)
            #expect(try await send(client.port, "/health", authority: "10.1.2.3").status == .ok, "probes use any host")
        }
        try await app(configuration()).test(.live) { client in
            let local = try await send(client.port, "/v1/models", headers: auth, authority: "localhost:8084")
            #expect(local.status == .ok)
            #expect(try await send(client.port, "/v1/models", headers: auth, authority: "rebind.attacker.net").status == .badRequest)
        }
    }

    @Test func requestIDOnEveryResponseAndLogLine() async throws {
        let logs = CapturedLogLines()
        try await app(configuration(), logs: logs).test(.live) { client in
            let ok = try await send(client.port, "/v1/models", headers: [.authorization: "Bearer sk-alice-0123456789", .testXRequestID: "req-ok-1"])
            #expect(ok.status == .ok)
            #expect(ok.headers[.testXRequestID] == "req-ok-1")
            let denied = try await send(client.port, "/v1/models", headers: [.testXRequestID: "req-401"])
            #expect(denied.status == .unauthorized)
            #expect(denied.headers[.testXRequestID] == "req-401")
            let missing = try await send(client.port, "/v1/nothing", headers: [.authorization: "Bearer sk-alice-0123456789"])
            #expect(missing.status == .notFound)
            let generated = try #require(missing.headers[.testXRequestID])
            #expect(!generated.isEmpty)
            let invalid = try await send(client.port, "/v1/audio/transcriptions", method: .post, headers: [
                .authorization: "Bearer sk-alice-0123456789", .testXRequestID: "req-400", .contentType: "text/plain",
            ], body: ByteBuffer(string: "x"))
            #expect(invalid.status == .unsupportedMediaType)
            #expect(invalid.headers[.testXRequestID] == "req-400")
            try await Task.sleep(for: .milliseconds(200))
            let lines = logs.objects
            for id in ["req-ok-1", "req-401", "req-400", generated] {
                let line = try #require(lines.first { $0["request.id"] as? String == id && $0["message"] as? String == "request completed" }, "\(id)")
                #expect(line["http.status"] != nil)
            }
            let ok1 = try #require(lines.first { $0["request.id"] as? String == "req-ok-1" && $0["message"] as? String == "request completed" })
            #expect(ok1["api_key.name"] as? String == "alice")
            #expect(!logs.lines.joined().contains("sk-alice-0123456789"), "keys are never logged")
        }
    }

    @Test func secureDefaultRefusesToBuild() throws {
        var configuration = configuration()
        configuration.http.host = "0.0.0.0"
        configuration.security.apiKeys = nil
        #expect(configuration.problems.contains { $0.hasPrefix("Refusing to start") })
        #expect { try app(configuration) } throws: { error in
            (error as? ServerConfiguration.ValidationError)?.problems.first?.contains("--allow-unauthenticated") == true
        }
        configuration.security.allowUnauthenticated = true
        #expect(configuration.problems.isEmpty)
        _ = try app(configuration)
        configuration.security.allowUnauthenticated = false
        configuration.security.apiKeys = "ops:sk-ops-0123456789"
        #expect(configuration.problems.isEmpty)
    }
}
}
