import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@testable import WhisperServer

@Suite("Observability: request ids")
struct ObservabilityRequestIDTests {
    struct Boom: Error {}

    func makeRouter(logs: CapturedLogLines) -> Router<SecurityTestContext> {
        let router = Router(context: SecurityTestContext.self)
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: AccessLogMiddleware())
        router.add(middleware: AuthenticationMiddleware(keys: APIKeyStore(keys: [("alice", "sk-alice")]), exemptPaths: ["/echo", "/fail", "/boom"]))
        router.get("/echo") { _, context in
            context.logger.info("handler ran")
            return (context.logger[metadataKey: "request.id"]?.description ?? "-") + " " + context.id + " " + (context.annotations.requestID ?? "-")
        }
        router.get("/fail") { _, _ -> String in throw HTTPError(.notFound, message: "gone") }
        router.get("/boom") { _, _ -> String in throw Boom() }
        router.get("/private") { _, _ in "secret" }
        return router
    }

    func app(_ logs: CapturedLogLines) -> some ApplicationProtocol {
        Application(router: makeRouter(logs: logs), logger: logs.logger(label: "whisper"))
    }

    @Test func generatedWhenAbsentAndSharedWithLoggerAndContext() async throws {
        let logs = CapturedLogLines()
        try await app(logs).test(.router) { client in
            try await client.execute(uri: "/echo", method: .get) { response in
                let id = try #require(response.headers[.testXRequestID])
                #expect(id.hasPrefix("req_") && id.count == 36)
                #expect(RequestIDMiddleware<SecurityTestContext>.isWellFormed(id))
                #expect(response.securityBodyString == "\(id) \(id) \(id)")
            }
        }
    }

    @Test func wellFormedIncomingIdIsKept() async throws {
        let logs = CapturedLogLines()
        try await app(logs).test(.router) { client in
            let incoming = "abc-DEF_123.xyz"
            try await client.execute(uri: "/echo", method: .get, headers: [.testXRequestID: incoming]) { response in
                #expect(response.headers[.testXRequestID] == incoming)
                #expect(response.securityBodyString.hasPrefix(incoming + " "))
            }
            let longest = String(repeating: "a", count: 128)
            try await client.execute(uri: "/echo", method: .get, headers: [.testXRequestID: longest]) { response in
                #expect(response.headers[.testXRequestID] == longest)
            }
        }
    }

    @Test(arguments: [String(repeating: "a", count: 129), "has space", "semi;colon", "new\tline", "ünïcode", "<script>"])
    func malformedIncomingIdIsReplaced(_ bad: String) async throws {
        let logs = CapturedLogLines()
        try await app(logs).test(.router) { client in
            try await client.execute(uri: "/echo", method: .get, headers: [.testXRequestID: bad]) { response in
                let id = try #require(response.headers[.testXRequestID])
                #expect(id != bad)
                #expect(id.hasPrefix("req_"))
            }
        }
    }

    @Test func presentOnErrorResponses() async throws {
        let logs = CapturedLogLines()
        try await app(logs).test(.router) { client in
            try await client.execute(uri: "/fail", method: .get, headers: [.testXRequestID: "req-404"]) { response in
                #expect(response.status == .notFound)
                #expect(response.headers[.testXRequestID] == "req-404")
            }
            try await client.execute(uri: "/private", method: .get, headers: [.testXRequestID: "req-401"]) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.testXRequestID] == "req-401")
                #expect(response.securityErrorBody?.code == "invalid_api_key")
            }
            try await client.execute(uri: "/no-such-route", method: .get, headers: [.testXRequestID: "req-nf"]) { response in
                #expect(response.headers[.testXRequestID] == "req-nf")
            }
            try await client.execute(uri: "/boom", method: .get, headers: [.testXRequestID: "req-500"]) { response in
                #expect(response.status == .internalServerError)
                #expect(response.headers[.testXRequestID] == "req-500")
                let error = try #require(response.securityErrorBody)
                #expect(error.type == "server_error")
                #expect(!response.securityBodyString.contains("Boom"))
            }
        }
    }

    @Test func everyLogLineOfTheRequestCarriesTheId() async throws {
        let logs = CapturedLogLines()
        try await app(logs).test(.router) { client in
            try await client.execute(uri: "/echo", method: .get, headers: [.testXRequestID: "trace-me-1"]) { _ in }
            try await client.execute(uri: "/private", method: .get, headers: [.testXRequestID: "trace-me-2"]) { _ in }
        }
        let first = logs.objects.filter { $0["request.id"] as? String == "trace-me-1" }
        #expect(first.contains { $0["message"] as? String == "handler ran" })
        let access = try #require(first.first { $0["message"] as? String == "request completed" })
        #expect(access["http.status"] as? Int == 200)
        #expect(access["http.method"] as? String == "GET")
        #expect(access["http.path"] as? String == "/echo")
        let second = try #require(logs.objects.first { $0["request.id"] as? String == "trace-me-2" && $0["message"] as? String == "request completed" })
        #expect(second["http.status"] as? Int == 401)
    }
}
