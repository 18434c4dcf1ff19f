import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Prometheus
import Testing

@testable import WhisperServer

@Suite("Security: authentication")
struct SecurityAuthenticationTests {
    static let keys = APIKeyStore(keys: [("alice", "sk-alice-123456"), ("bob", "sk-bob-123456")])

    func makeRouter(keys: APIKeyStore = Self.keys, protectMetrics: Bool = true, metrics: WhisperMetrics? = nil) -> Router<SecurityTestContext> {
        let router = Router(context: SecurityTestContext.self)
        router.add(middleware: AuthenticationMiddleware(keys: keys, protectMetrics: protectMetrics, metrics: metrics))
        router.get("/v1/models") { _, context in context.apiKeyName ?? "anonymous" }
        router.get("/health") { _, _ in "ok" }
        router.get("/ready") { _, _ in "ok" }
        router.get("/metrics") { _, _ in "metrics" }
        return router
    }

    @Test func missingKeyIs401InOpenAIShape() async throws {
        let app = Application(router: makeRouter())
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/models", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.contentType] == "application/json")
                #expect(response.headers[.wwwAuthenticate] == "Bearer")
                let error = try #require(response.securityErrorBody)
                #expect(error.type == "invalid_request_error")
                #expect(error.code == "invalid_api_key")
                #expect(error.param == nil)
                #expect(error.message.contains("didn't provide an API key"))
            }
        }
    }

    @Test func wrongKeyIs401AndNeverEchoed() async throws {
        let app = Application(router: makeRouter())
        try await app.test(.router) { client in
            for headers: HTTPFields in [[.authorization: "Bearer sk-wrong-999"], [.testXAPIKey: "sk-wrong-999"], [.authorization: "Basic c2stYWxpY2U="]] {
                try await client.execute(uri: "/v1/models", method: .get, headers: headers) { response in
                    #expect(response.status == .unauthorized)
                    #expect(response.securityErrorBody?.code == "invalid_api_key")
                    #expect(response.securityErrorBody?.message == "Incorrect API key provided.")
                    #expect(!response.securityBodyString.contains("sk-wrong-999"))
                }
            }
        }
    }

    @Test func rightKeyViaBearerOrXAPIKeySetsTheKeyName() async throws {
        let app = Application(router: makeRouter())
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "Bearer sk-alice-123456"]) { response in
                #expect(response.status == .ok)
                #expect(response.securityBodyString == "alice")
            }
            try await client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "bearer   sk-bob-123456 "]) { response in
                #expect(response.status == .ok)
                #expect(response.securityBodyString == "bob")
            }
            try await client.execute(uri: "/v1/models", method: .get, headers: [.testXAPIKey: "sk-bob-123456"]) { response in
                #expect(response.status == .ok)
                #expect(response.securityBodyString == "bob")
            }
        }
    }

    @Test func keyNameReachesHandlerInAPlainValueContext() async throws {
        let router = Router(context: SecurityPlainContext.self)
        router.add(middleware: AuthenticationMiddleware(keys: Self.keys))
        router.get("/who") { _, context in context.apiKeyName ?? "anonymous" }
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/who", method: .get, headers: [.authorization: "Bearer sk-alice-123456"]) { response in
                #expect(response.securityBodyString == "alice")
            }
        }
    }

    @Test func healthAndReadyAreOpenMetricsProtectedByDefault() async throws {
        let app = Application(router: makeRouter())
        try await app.test(.router) { client in
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/ready", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/health/", method: .get) { #expect($0.status != .unauthorized) }
            try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .unauthorized) }
            try await client.execute(uri: "/nonexistent", method: .get) { #expect($0.status == .unauthorized) }
        }
        let open = Application(router: makeRouter(protectMetrics: false))
        try await open.test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/v1/models", method: .get) { #expect($0.status == .unauthorized) }
        }
    }

    @Test func emptyStoreTurnsAuthenticationOff() async throws {
        let app = Application(router: makeRouter(keys: APIKeyStore()))
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/models", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.securityBodyString == "anonymous")
            }
        }
    }

    @Test func rejectionsAreCounted() async throws {
        let registry = PrometheusCollectorRegistry()
        let metrics = WhisperMetrics(factory: PrometheusMetrics.makeFactory(registry: registry))
        let app = Application(router: makeRouter(metrics: metrics))
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/models", method: .get) { _ in }
            try await client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "Bearer nope"]) { _ in }
            try await client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "Bearer nope"]) { _ in }
            try await client.execute(uri: "/v1/models", method: .get, headers: [.authorization: "Bearer sk-alice-123456"]) { _ in }
        }
        let text = registry.emitToString()
        #expect(text.contains(#"whisper_auth_rejections_total{reason="missing_key"} 1"#))
        #expect(text.contains(#"whisper_auth_rejections_total{reason="invalid_key"} 2"#))
    }
}
