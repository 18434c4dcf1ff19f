import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import WhisperServer

@Suite("Security: trusted hosts and CORS")
struct SecurityHostAndCORSTests {
    typealias Hosts = TrustedHostMiddleware<SecurityTestContext>

    @Test func defaultHostsIncludeBoundHostAndLoopbackNames() {
        #expect(Hosts.defaultHosts(bindHost: "127.0.0.1") == ["localhost", "127.0.0.1", "::1"])
        #expect(Hosts.defaultHosts(bindHost: "0.0.0.0") == ["localhost", "127.0.0.1", "::1"])
        #expect(Hosts.defaultHosts(bindHost: "api.internal") == ["api.internal", "localhost", "127.0.0.1", "::1"])
        #expect(Hosts.defaultHosts(bindHost: "[::1]") == ["localhost", "127.0.0.1", "::1"])
    }

    @Test func hostMatching() {
        let hosts = Hosts(allowedHosts: ["localhost", "127.0.0.1", "::1", "API.example.com", "*.corp.example"])
        #expect(hosts.isAllowed(host: "localhost"))
        #expect(hosts.isAllowed(host: "localhost:8084"))
        #expect(hosts.isAllowed(host: "LOCALHOST."))
        #expect(hosts.isAllowed(host: "127.0.0.1:8084"))
        #expect(hosts.isAllowed(host: "[::1]:8084"))
        #expect(hosts.isAllowed(host: "[0:0::1]"))
        #expect(hosts.isAllowed(host: "api.example.com"))
        #expect(hosts.isAllowed(host: "a.corp.example"))
        #expect(!hosts.isAllowed(host: "corp.example"))
        #expect(!hosts.isAllowed(host: "evil.com"))
        #expect(!hosts.isAllowed(host: "localhost.evil.com"))
        #expect(!hosts.isAllowed(host: "evil.com:80@localhost"))
        #expect(!hosts.isAllowed(host: "localhost:80:80"))
        #expect(!hosts.isAllowed(host: "[::1"))
        #expect(!hosts.isAllowed(host: ""))
        #expect(Hosts(allowedHosts: ["*"]).isAllowed(host: "anything.example"))
    }

    @Test func untrustedHostGets400InOpenAIShape() async throws {
        // the router test framework always sends authority "localhost"
        let router = Router(context: SecurityTestContext.self)
        router.add(middleware: Hosts(allowedHosts: ["api.example.com"]))
        router.get("/v1/models") { _, _ in "models" }
        router.get("/health") { _, _ in "ok" }
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/v1/models", method: .get) { response in
                #expect(response.status == .badRequest)
                #expect(response.securityErrorBody?.code == "invalid_host")
                #expect(response.securityErrorBody?.type == "invalid_request_error")
            }
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
        }
        let allowed = Router(context: SecurityTestContext.self)
        allowed.add(middleware: Hosts(allowedHosts: Hosts.defaultHosts(bindHost: "127.0.0.1")))
        allowed.get("/v1/models") { _, _ in "models" }
        try await Application(router: allowed).test(.router) { client in
            try await client.execute(uri: "/v1/models", method: .get) { #expect($0.status == .ok) }
        }
    }

    @Test(.timeLimit(.minutes(1))) func liveHostHeaderIsChecked() async throws {
        let router = Router(context: SecurityTestContext.self)
        router.add(middleware: Hosts(allowedHosts: ["localhost", "127.0.0.1"]))
        router.get("/v1/models") { _, _ in "models" }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            try await client.execute(uri: "/v1/models", method: .get) { #expect($0.status == .ok) }
        }
        let strict = Router(context: SecurityTestContext.self)
        strict.add(middleware: Hosts(allowedHosts: ["api.example.com"]))
        strict.get("/v1/models") { _, _ in "models" }
        try await Application(router: strict, configuration: .init(address: .hostname("127.0.0.1", port: 0))).test(.live) { client in
            try await client.execute(uri: "/v1/models", method: .get) { #expect($0.status == .badRequest) }
        }
    }

    func corsRouter(_ settings: CORSSettings) throws -> Router<SecurityTestContext> {
        let router = Router(context: SecurityTestContext.self)
        router.add(middleware: try #require(CORSAllowListMiddleware<SecurityTestContext>(settings: settings)))
        router.add(middleware: AuthenticationMiddleware(keys: APIKeyStore(keys: [("k", "sk-k")])))
        router.get("/v1/models") { _, _ in "models" }
        return router
    }

    @Test func preflightFromAllowedOriginIsAnswered() async throws {
        let router = try corsRouter(CORSSettings(origins: ["https://app.example.com", "http://localhost:3000"]))
        try await Application(router: router).test(.router) { client in
            try await client.execute(
                uri: "/v1/models",
                method: .options,
                headers: [.origin: "https://app.example.com", .accessControlRequestMethod: "GET"]
            ) { response in
                #expect(response.status == .noContent)
                #expect(response.headers[.accessControlAllowOrigin] == "https://app.example.com")
                #expect(response.headers[.accessControlAllowMethods] == "GET, POST, OPTIONS")
                #expect(response.headers[.accessControlAllowHeaders]?.lowercased().contains("authorization") == true)
                #expect(response.headers[.accessControlAllowHeaders]?.lowercased().contains("x-api-key") == true)
                #expect(response.headers[.accessControlMaxAge] == "600")
                #expect(response.headers[.vary] == "Origin")
            }
            try await client.execute(
                uri: "/v1/models",
                method: .get,
                headers: [.origin: "http://localhost:3000", .authorization: "Bearer sk-k"]
            ) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.accessControlAllowOrigin] == "http://localhost:3000")
                #expect(response.headers[.accessControlAllowCredentials] == nil)
            }
            // an error below CORS (401 here) still carries the CORS header so the browser can read it
            try await client.execute(uri: "/v1/models", method: .get, headers: [.origin: "http://localhost:3000"]) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.accessControlAllowOrigin] == "http://localhost:3000")
            }
        }
    }

    @Test func otherOriginsAreRejected() async throws {
        let router = try corsRouter(CORSSettings(origins: ["https://app.example.com"]))
        try await Application(router: router).test(.router) { client in
            try await client.execute(
                uri: "/v1/models",
                method: .options,
                headers: [.origin: "https://evil.example", .accessControlRequestMethod: "POST"]
            ) { response in
                #expect(response.status == .forbidden)
                #expect(response.headers[.accessControlAllowOrigin] == nil)
                #expect(response.securityErrorBody?.code == "cors_origin_not_allowed")
            }
            try await client.execute(
                uri: "/v1/models",
                method: .get,
                headers: [.origin: "https://evil.example", .authorization: "Bearer sk-k"]
            ) { response in
                #expect(response.headers[.accessControlAllowOrigin] == nil)
            }
        }
    }

    @Test func wildcardOriginAndDisabledCORS() async throws {
        #expect(CORSAllowListMiddleware<SecurityTestContext>(settings: CORSSettings()) == nil)
        let router = try corsRouter(CORSSettings(origins: ["*"]))
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/v1/models", method: .options, headers: [.origin: "https://any.example", .accessControlRequestMethod: "POST"]) {
                response in
                #expect(response.status == .noContent)
                #expect(response.headers[.accessControlAllowOrigin] == "*")
            }
        }
    }
}
