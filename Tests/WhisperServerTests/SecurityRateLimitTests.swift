import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Prometheus
import Testing

@testable import WhisperServer

@Suite("Security: rate limiting")
struct SecurityRateLimitTests {
    @Test func burstThenRefusalThenRefill() async {
        let clock = SecurityManualClock()
        let limiter = RateLimiter(policy: RateLimitPolicy(requestsPerWindow: 3, audioSecondsPerWindow: nil, windowSeconds: 60), now: clock.now)
        var remaining: [Int?] = []
        for _ in 0..<3 {
            let decision = await limiter.consume(identity: "key:a")
            #expect(decision.allowed)
            remaining.append(decision.remainingRequests)
        }
        #expect(remaining == [2, 1, 0])
        let refused = await limiter.consume(identity: "key:a")
        #expect(!refused.allowed)
        #expect(refused.reason == .requests)
        #expect(refused.requestLimit == 3)
        #expect(abs((refused.retryAfterSeconds ?? 0) - 20) < 0.001, "one token refills every 60/3 s")
        #expect(abs((refused.requestsResetSeconds ?? 0) - 60) < 0.001)

        clock.advance(19.9)
        #expect(await !limiter.consume(identity: "key:a").allowed)
        clock.advance(0.2)
        #expect(await limiter.consume(identity: "key:a").allowed)
        #expect(await !limiter.consume(identity: "key:a").allowed)

        clock.advance(600)  // refill never exceeds capacity
        #expect(await limiter.status(identity: "key:a").remainingRequests == 3)
    }

    @Test func identitiesAreIsolated() async {
        let clock = SecurityManualClock()
        let limiter = RateLimiter(policy: RateLimitPolicy(requestsPerWindow: 1, audioSecondsPerWindow: nil, windowSeconds: 60), now: clock.now)
        #expect(await limiter.consume(identity: "key:a").allowed)
        #expect(await !limiter.consume(identity: "key:a").allowed)
        #expect(await limiter.consume(identity: "key:b").allowed)
        #expect(await limiter.consume(identity: "ip:127.0.0.1").allowed)
    }

    @Test func audioSecondsAreChargedAfterDecodeAndMayGoNegative() async {
        let clock = SecurityManualClock()
        let limiter = RateLimiter(policy: RateLimitPolicy(requestsPerWindow: nil, audioSecondsPerWindow: 60, windowSeconds: 60), now: clock.now)
        #expect(await limiter.consume(identity: "key:a").allowed)
        let after = await limiter.chargeAudio(identity: "key:a", seconds: 90)
        #expect(after.remainingAudioSeconds == -30)
        let refused = await limiter.consume(identity: "key:a")
        #expect(!refused.allowed)
        #expect(refused.reason == .audioSeconds)
        #expect(abs((refused.retryAfterSeconds ?? 0) - 30) < 0.01, "30 s of debt refill at 1 audio-second per second")
        clock.advance(30.5)
        #expect(await limiter.consume(identity: "key:a").allowed)
        #expect(await limiter.consume(identity: "key:other").allowed)
    }

    @Test func refundGivesATokenBack() async {
        let clock = SecurityManualClock()
        let limiter = RateLimiter(policy: RateLimitPolicy(requestsPerWindow: 1, audioSecondsPerWindow: nil, windowSeconds: 60), now: clock.now)
        #expect(await limiter.consume(identity: "a").allowed)
        await limiter.refund(identity: "a")
        #expect(await limiter.consume(identity: "a").allowed)
        await limiter.refund(identity: "a")
        await limiter.refund(identity: "a")
        #expect(await limiter.status(identity: "a").remainingRequests == 1, "refund never exceeds capacity")
    }

    @Test func idleFullBucketsArePruned() async {
        let clock = SecurityManualClock()
        let limiter = RateLimiter(policy: RateLimitPolicy(requestsPerWindow: 10, audioSecondsPerWindow: nil, windowSeconds: 1), maxIdentities: 100, now: clock.now)
        for i in 0..<100 { _ = await limiter.consume(identity: "ip:\(i)") }
        clock.advance(5)
        _ = await limiter.consume(identity: "ip:new")
        #expect(await limiter.trackedIdentities <= 2)
    }

    @Test func resetFormatFollowsOpenAI() {
        typealias M = RateLimitMiddleware<SecurityTestContext>
        #expect(M.formatReset(0) == "0s")
        #expect(M.formatReset(0.25) == "250ms")
        #expect(M.formatReset(1) == "1s")
        #expect(M.formatReset(1.5) == "1.5s")
        #expect(M.formatReset(20) == "20s")
        #expect(M.formatReset(360) == "6m0s")
        #expect(M.formatReset(3723) == "1h2m3s")
    }

    func makeRouter(limiter: RateLimiter, keys: APIKeyStore = APIKeyStore(), metrics: WhisperMetrics? = nil) -> Router<SecurityTestContext> {
        let router = Router(context: SecurityTestContext.self)
        router.add(middleware: AuthenticationMiddleware(keys: keys))
        router.add(middleware: RateLimitMiddleware(limiter: limiter, metrics: metrics))
        router.post("/v1/audio/transcriptions") { _, context in context.annotations.rateLimitIdentity ?? "none" }
        router.get("/v1/models/{id}") { _, _ -> String in throw HTTPError(.notFound, message: "no such model") }
        router.get("/health") { _, _ in "ok" }
        return router
    }

    @Test func headersOnEveryResponseAnd429WithRetryAfter() async throws {
        let clock = SecurityManualClock()
        let limiter = RateLimiter(policy: RateLimitPolicy(requestsPerWindow: 2, audioSecondsPerWindow: nil, windowSeconds: 60), now: clock.now)
        let registry = PrometheusCollectorRegistry()
        let metrics = WhisperMetrics(factory: PrometheusMetrics.makeFactory(registry: registry))
        let app = Application(router: makeRouter(limiter: limiter, metrics: metrics))
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/audio/transcriptions", method: .post) { response in
                #expect(response.status == .ok)
                #expect(response.headers[WhisperHTTPHeader.rateLimitLimitRequests] == "2")
                #expect(response.headers[WhisperHTTPHeader.rateLimitRemainingRequests] == "1")
                #expect(response.headers[WhisperHTTPHeader.rateLimitResetRequests] == "30s")
                #expect(response.headers[.retryAfter] == nil)
            }
            // an error response from the handler still carries the headers
            try await client.execute(uri: "/v1/models/x", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.headers[WhisperHTTPHeader.rateLimitRemainingRequests] == "0")
                #expect(response.headers[WhisperHTTPHeader.rateLimitLimitRequests] == "2")
            }
            try await client.execute(uri: "/v1/audio/transcriptions", method: .post) { response in
                #expect(response.status == .tooManyRequests)
                #expect(response.headers[.retryAfter] == "30")
                #expect(response.headers[WhisperHTTPHeader.rateLimitRemainingRequests] == "0")
                #expect(response.headers[WhisperHTTPHeader.rateLimitResetRequests] == "1m0s")
                let error = try #require(response.securityErrorBody)
                #expect(error.type == "rate_limit_error")
                #expect(error.code == "rate_limit_exceeded")
            }
            // exempt paths are neither limited nor decorated
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[WhisperHTTPHeader.rateLimitLimitRequests] == nil)
            }
        }
        #expect(registry.emitToString().contains(#"whisper_rate_limit_rejections_total{reason="requests"} 1"#))
    }

    @Test func perKeyIsolationThroughTheMiddleware() async throws {
        let limiter = RateLimiter(policy: RateLimitPolicy(requestsPerWindow: 1, audioSecondsPerWindow: nil, windowSeconds: 3600))
        let keys = APIKeyStore(keys: [("alice", "sk-a"), ("bob", "sk-b")])
        let app = Application(router: makeRouter(limiter: limiter, keys: keys))
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/audio/transcriptions", method: .post, headers: [.authorization: "Bearer sk-a"]) { response in
                #expect(response.status == .ok)
                #expect(response.securityBodyString == "key:alice")
            }
            try await client.execute(uri: "/v1/audio/transcriptions", method: .post, headers: [.authorization: "Bearer sk-a"]) { response in
                #expect(response.status == .tooManyRequests)
            }
            try await client.execute(uri: "/v1/audio/transcriptions", method: .post, headers: [.authorization: "Bearer sk-b"]) { response in
                #expect(response.status == .ok)
                #expect(response.securityBodyString == "key:bob")
            }
        }
    }

    @Test func audioHeadersWhenAudioLimitIsSet() async throws {
        let limiter = RateLimiter(policy: RateLimitPolicy(requestsPerWindow: 10, audioSecondsPerWindow: 600, windowSeconds: 60))
        await limiter.chargeAudio(identity: "ip:unknown", seconds: 100)
        let app = Application(router: makeRouter(limiter: limiter))
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/audio/transcriptions", method: .post) { response in
                #expect(response.status == .ok)
                #expect(response.headers[WhisperHTTPHeader.rateLimitLimitAudioSeconds] == "600")
                let remaining = response.headers[WhisperHTTPHeader.rateLimitRemainingAudioSeconds]
                #expect(remaining.flatMap(Double.init).map { $0 >= 500 && $0 < 600 } == true, "\(remaining ?? "nil")")
            }
        }
    }

    @Test func clientAddressComesFromTheSocketAndTrustedProxiesOnly() {
        let none = ClientAddressResolver()
        #expect(none.clientAddress(peer: "192.0.2.7", forwardedFor: "203.0.113.1") == "192.0.2.7")
        #expect(none.clientAddress(peer: nil, forwardedFor: "203.0.113.1") == "unknown")

        let proxied = ClientAddressResolver(trustedProxies: ["10.0.0.0/8", "::1"])
        #expect(proxied.clientAddress(peer: "10.1.2.3", forwardedFor: "203.0.113.1") == "203.0.113.1")
        #expect(proxied.clientAddress(peer: "::1", forwardedFor: "2001:db8::5") == "2001:db8::5")
        // a spoofed left-most hop is ignored: the right-most untrusted hop is the client
        #expect(proxied.clientAddress(peer: "10.1.2.3", forwardedFor: "1.1.1.1, 198.51.100.4, 10.9.9.9") == "198.51.100.4")
        // an untrusted peer's header is ignored
        #expect(proxied.clientAddress(peer: "192.0.2.7", forwardedFor: "203.0.113.1") == "192.0.2.7")
        // garbage in the chain stops the walk at the last good hop
        #expect(proxied.clientAddress(peer: "10.1.2.3", forwardedFor: "not-an-ip") == "10.1.2.3")
        #expect(proxied.clientAddress(peer: "::ffff:10.0.0.1", forwardedFor: "203.0.113.9") == "203.0.113.9")
    }

    @Test func addressRanges() throws {
        let v4 = try #require(IPAddressRange("192.168.0.0/16"))
        #expect(v4.contains(try #require(IPAddress("192.168.44.1"))))
        #expect(!v4.contains(try #require(IPAddress("192.169.0.1"))))
        #expect(!v4.contains(try #require(IPAddress("::1"))))
        let v6 = try #require(IPAddressRange("fd00::/8"))
        #expect(v6.contains(try #require(IPAddress("fd12:3456::1"))))
        #expect(!v6.contains(try #require(IPAddress("fe80::1"))))
        #expect(IPAddressRange("10.0.0.0/33") == nil)
        #expect(IPAddressRange("nonsense") == nil)
        #expect(IPAddress("[::1]")?.isLoopback == true)
        #expect(IPAddress("127.8.9.10")?.isLoopback == true)
        #expect(IPAddress("::1")?.description == "::1")
    }

    @Test(.timeLimit(.minutes(1))) func liveRequestsAreLimitedPerSocketAddress() async throws {
        let limiter = RateLimiter(policy: RateLimitPolicy(requestsPerWindow: 1, audioSecondsPerWindow: nil, windowSeconds: 3600))
        let app = Application(router: makeRouter(limiter: limiter), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            try await client.execute(uri: "/v1/audio/transcriptions", method: .post) { response in
                #expect(response.status == .ok)
                #expect(response.securityBodyString == "ip:127.0.0.1")
            }
            try await client.execute(uri: "/v1/audio/transcriptions", method: .post, headers: [.init("X-Forwarded-For")!: "203.0.113.1"]) { response in
                #expect(response.status == .tooManyRequests, "an untrusted peer cannot pick a fresh identity with X-Forwarded-For")
                #expect(response.headers[.retryAfter] == "3600")
            }
        }
    }
}
