import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Prometheus
import Testing

@testable import WhisperServer

/// Every component installed in the documented order, over real HTTP:
/// request id → access log → metrics → CORS → trusted host → auth → rate limit.
@Suite("Security: full middleware stack")
struct SecurityFullStackTests {
    struct Stack {
        let router: Router<SecurityTestContext>
        let registry: PrometheusCollectorRegistry
        let logs: CapturedLogLines
    }

    func makeStack(settings: SecuritySettings) throws -> Stack {
        let registry = PrometheusCollectorRegistry()
        let metrics = WhisperMetrics(factory: PrometheusMetrics.makeFactory(registry: registry))
        let keys = try settings.loadAPIKeys()
        let limiter = RateLimiter(policy: settings.rateLimitPolicy)
        let router = Router(context: SecurityTestContext.self)
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: AccessLogMiddleware())
        router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
        if let cors = CORSAllowListMiddleware<SecurityTestContext>(settings: settings.cors) { router.add(middleware: cors) }
        router.add(middleware: TrustedHostMiddleware(allowedHosts: settings.effectiveAllowedHosts(bindHost: "127.0.0.1")))
        router.add(middleware: AuthenticationMiddleware(keys: keys, protectMetrics: settings.protectMetrics, metrics: metrics))
        router.add(middleware: RateLimitMiddleware(limiter: limiter, resolver: ClientAddressResolver(trustedProxies: settings.trustedProxies), metrics: metrics))
        router.get("/health") { _, _ in "ok" }
        router.get("/metrics") { _, _ in PrometheusMetrics.response(registry: registry) }
        router.post("/v1/audio/transcriptions") { _, context in
            context.annotations.model = "tiny.en"
            context.annotations.audioSeconds = 4
            if let identity = context.annotations.rateLimitIdentity { await limiter.chargeAudio(identity: identity, seconds: 4) }
            metrics.recordAudioTranscribed(seconds: 4, model: "tiny.en")
            return #"{"text":"hello"}"#
        }
        return Stack(router: router, registry: registry, logs: CapturedLogLines())
    }

    @Test(.timeLimit(.minutes(1))) func liveStackBehavesEndToEnd() async throws {
        let settings = SecuritySettings(
            apiKeys: "alice:sk-alice-live",
            rateLimitRequests: 2,
            rateLimitAudioSeconds: 100,
            cors: CORSSettings(origins: ["https://app.example.com"])
        )
        let stack = try makeStack(settings: settings)
        let app = Application(
            router: stack.router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            logger: stack.logs.logger(label: "whisper")
        )
        try await app.test(.live) { client in
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[WhisperHTTPHeader.requestID] != nil)
            }
            try await client.execute(uri: "/v1/audio/transcriptions", method: .post, headers: [.testXRequestID: "live-401"]) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[WhisperHTTPHeader.requestID] == "live-401")
                #expect(response.headers[WhisperHTTPHeader.rateLimitLimitRequests] == nil, "auth runs before the rate limiter")
            }
            let auth: HTTPFields = [.authorization: "Bearer sk-alice-live", .origin: "https://app.example.com"]
            try await client.execute(uri: "/v1/audio/transcriptions", method: .post, headers: securityMerged(auth, [.testXRequestID: "live-ok"])) { response in
                #expect(response.status == .ok)
                #expect(response.headers[WhisperHTTPHeader.requestID] == "live-ok")
                #expect(response.headers[.accessControlAllowOrigin] == "https://app.example.com")
                #expect(response.headers[WhisperHTTPHeader.rateLimitRemainingRequests] == "1")
                #expect(response.headers[WhisperHTTPHeader.rateLimitLimitAudioSeconds] == "100")
            }
            try await client.execute(uri: "/v1/audio/transcriptions", method: .post, headers: auth) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v1/audio/transcriptions", method: .post, headers: securityMerged(auth, [.testXRequestID: "live-429"])) { response in
                #expect(response.status == .tooManyRequests)
                #expect(response.headers[.retryAfter] != nil)
                #expect(response.headers[WhisperHTTPHeader.requestID] == "live-429")
                #expect(response.headers[.accessControlAllowOrigin] == "https://app.example.com")
            }
            try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer sk-alice-live"]) { response in
                #expect(response.status == .ok)
                let text = response.securityBodyString
                #expect(text.contains(#"whisper_http_requests_total{route="/v1/audio/transcriptions",method="POST",status="200"} 2"#), "\(text)")
                #expect(text.contains(#"whisper_http_requests_total{route="/v1/audio/transcriptions",method="POST",status="429"} 1"#))
                #expect(text.contains(#"whisper_http_requests_total{route="/v1/audio/transcriptions",method="POST",status="401"} 1"#))
                #expect(text.contains(#"whisper_auth_rejections_total{reason="missing_key"} 1"#))
                #expect(text.contains(#"whisper_rate_limit_rejections_total{reason="requests"} 1"#))
                #expect(text.contains(#"whisper_audio_seconds_total{model="tiny.en"} 8.0"#))
            }
        }
        let completed = stack.logs.objects.filter { $0["message"] as? String == "request completed" }
        let ok = try #require(completed.first { $0["request.id"] as? String == "live-ok" })
        #expect(ok["api_key.name"] as? String == "alice")
        #expect(ok["model"] as? String == "tiny.en")
        #expect(ok["audio_seconds"] as? Double == 4 || ok["audio_seconds"] as? Int == 4)
        #expect(ok["http.status"] as? Int == 200)
        #expect(completed.first { $0["request.id"] as? String == "live-429" }?["http.status"] as? Int == 429)
        #expect(!stack.logs.lines.joined().contains("sk-alice-live"))
    }
}

/// `lhs` followed by the fields of `rhs`.
func securityMerged(_ lhs: HTTPFields, _ rhs: HTTPFields) -> HTTPFields {
    var merged = lhs
    merged.append(contentsOf: rhs)
    return merged
}
