import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import WhisperServer

/// Regression tests for what the hardening campaign (tools/hardening) found, in-process with fake models.
@Suite struct HardeningRouterTests {
    let modelsDirectory: URL

    init() throws {
        modelsDirectory = try ServerTest.makeModelsDirectory(["tiny.en"])
    }

    /// A multipart Content-Type naming its boundary twice is ambiguous (parsers disagree on which one wins): 400.
    @Test(arguments: ["boundary=x; boundary=\(ServerTest.boundary)", "boundary=\(ServerTest.boundary); boundary=x",
                      "boundary=\(ServerTest.boundary); BOUNDARY=\(ServerTest.boundary)"])
    func duplicatedBoundaryIs400(parameters: String) async throws {
        let configuration = ServerTest.configuration(modelsDirectory: modelsDirectory)
        try await ServerTest.app(configuration).test(.router) { client in
            let body = ServerTest.form([("model", "whisper-1")], file: ServerTest.wav(seconds: 0.5))
            let response = try await client.execute(
                uri: "/v1/audio/transcriptions", method: .post, headers: [.contentType: "multipart/form-data; \(parameters)"], body: body
            )
            #expect(response.status == .badRequest)
            #expect(try ServerTest.error(response).message.contains("boundary"))
            let single = try await client.execute(
                uri: "/v1/audio/transcriptions", method: .post, headers: ServerTest.formHeaders, body: body
            )
            #expect(single.status == .ok)
        }
    }

    /// A path that exists answers another method with 405 and `Allow`; an unknown path stays 404.
    @Test func otherMethodOnAKnownPathIs405WithAllow() async throws {
        let configuration = ServerTest.configuration(modelsDirectory: modelsDirectory)
        try await ServerTest.app(configuration).test(.router) { client in
            let trace = try await client.execute(uri: "/health", method: .init("TRACE")!)
            #expect(trace.status == .methodNotAllowed)
            #expect(trace.headers[.allow] == "GET, HEAD")
            #expect(try ServerTest.error(trace).code == "method_not_allowed")
            let delete = try await client.execute(uri: "/v1/models/tiny.en", method: .delete)
            #expect(delete.status == .methodNotAllowed)
            #expect(delete.headers[.allow] == "GET, HEAD")
            let get = try await client.execute(uri: "/v1/audio/transcriptions", method: .get)
            #expect(get.status == .methodNotAllowed)
            #expect(get.headers[.allow] == "POST")
            let unknown = try await client.execute(uri: "/v1/nothing/here", method: .get)
            #expect(unknown.status == .notFound)
            #expect(unknown.headers[.allow] == nil)
        }
    }

    /// The slow-client settings come from the environment and the config file, and bad values are reported.
    @Test func slowClientSettingsAreReadAndValidated() throws {
        var configuration = ServerConfiguration()
        #expect(configuration.http.headerTimeout == 10)
        #expect(configuration.http.bodyTimeout == 30)
        #expect(configuration.http.maxConnections == 512)
        try configuration.applyEnvironment([
            "WHISPER_HEADER_TIMEOUT": "2.5", "WHISPER_BODY_TIMEOUT": "45", "WHISPER_MAX_CONNECTIONS": "64",
        ])
        #expect(configuration.http.headerTimeout == 2.5)
        #expect(configuration.http.bodyTimeout == 45)
        #expect(configuration.http.maxConnections == 64)
        var problems: [String] = []
        let file = ServerConfiguration.fileEnvironment(
            json: Data(#"{"header_timeout": 3, "max_connections": 10}"#.utf8), source: "test.json", problems: &problems
        )
        #expect(problems.isEmpty)
        configuration.applyEnvironment(file, problems: &problems)
        #expect(configuration.http.headerTimeout == 3)
        #expect(configuration.http.maxConnections == 10)

        configuration.http.headerTimeout = 0
        configuration.http.bodyTimeout = -1
        configuration.http.maxConnections = 0
        let reported = configuration.problems
        #expect(reported.contains { $0.hasPrefix("--header-timeout/WHISPER_HEADER_TIMEOUT") })
        #expect(reported.contains { $0.hasPrefix("--body-timeout/WHISPER_BODY_TIMEOUT") })
        #expect(reported.contains { $0.hasPrefix("--max-connections/WHISPER_MAX_CONNECTIONS") })
    }
}

extension LiveServerTests {
    /// Broken framing, slow clients and connection limits over real HTTP on loopback.
    @Suite struct HardeningLiveTests {
        let modelsDirectory: URL

        init() throws {
            modelsDirectory = try ServerTest.makeModelsDirectory(["tiny.en"])
        }

        /// `GET /health` on a fresh connection answers within `timeout`.
        static func healthAnswers(port: Int, timeout: Duration = .seconds(2)) async throws -> Bool {
            let connection = try RawConnection(port: port)
            connection.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            let (bytes, _) = await connection.readUntilClosed(timeout: timeout)
            return RawResponse(bytes)?.status == 200
        }

        /// A chunked body with a broken chunk size gets one 400 in OpenAI's error shape, the connection closes, and the
        /// server keeps serving (it answered 500 before).
        @Test func brokenChunkedFramingIs400() async throws {
            let configuration = ServerTest.configuration(modelsDirectory: modelsDirectory)
            let loader = FakeModelLoader()
            try await ServerTest.app(configuration, loader: loader).test(.live) { client in
                let port = try #require(client.port)
                for brokenChunk in ["zz\r\nhello\r\n0\r\n\r\n", "fffffffffffffffffffff\r\nx\r\n0\r\n\r\n", "5\r\nhelloXX0\r\n\r\n"] {
                    let connection = try RawConnection(port: port)
                    connection.send(
                        "POST /v1/audio/transcriptions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                            + "Content-Type: multipart/form-data; boundary=\(ServerTest.boundary)\r\n"
                            + "Transfer-Encoding: chunked\r\n\r\n" + brokenChunk
                    )
                    let (bytes, closed) = await connection.readUntilClosed(timeout: .seconds(10))
                    let response = try #require(RawResponse(bytes), "no response to chunk \(brokenChunk.debugDescription)")
                    #expect(response.status == 400, "\(brokenChunk.debugDescription): \(response.body)")
                    #expect(response.body.contains(#""type":"invalid_request_error""#), "\(response.body)")
                    #expect(response.responseCount == 1)
                    #expect(closed)
                    #expect(try await Self.healthAnswers(port: port))
                }
                // Refused before its body is read (unknown Host), then the body breaks: still exactly one answer.
                let refused = try RawConnection(port: port)
                refused.send(
                    "POST /v1/audio/transcriptions HTTP/1.1\r\nHost: evil.example\r\nContent-Type: application/json\r\n"
                        + "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"
                )
                let (bytes, closed) = await refused.readUntilClosed(timeout: .seconds(10))
                let response = try #require(RawResponse(bytes))
                #expect(response.status == 400)
                #expect(response.body.contains(#""code":"invalid_host""#), "\(response.body)")
                #expect(response.responseCount == 1, "\(String(decoding: bytes, as: UTF8.self))")
                #expect(closed)
                #expect(loader.counters.started.load(ordering: .relaxed) == 0)
            }
        }

        /// An invalid request head (a header name with spaces, a request line with a bare LF inside) gets a 400 in
        /// OpenAI's error shape, not Hummingbird's empty one; the connection closes and the server keeps serving.
        @Test(arguments: ["GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header Name: x\r\n\r\n", "GET /he\nalth HTTP/1.1\r\n\r\n"])
        func invalidRequestHeadIs400InOpenAIShape(head: String) async throws {
            let configuration = ServerTest.configuration(modelsDirectory: modelsDirectory)
            try await ServerTest.app(configuration).test(.live) { client in
                let port = try #require(client.port)
                let connection = try RawConnection(port: port)
                connection.send(head)
                let (bytes, closed) = await connection.readUntilClosed(timeout: .seconds(5))
                let response = try #require(RawResponse(bytes))
                #expect(response.status == 400)
                #expect(response.body.contains(#""code":"invalid_http""#), "\(response.body)")
                #expect(response.responseCount == 1)
                #expect(closed)
                #expect(try await Self.healthAnswers(port: port))
            }
        }

        /// Headers trickled a byte at a time are cut off at the header timeout, while `/health` keeps answering.
        @Test func trickledHeadersAreCutOff() async throws {
            var configuration = ServerTest.configuration(modelsDirectory: modelsDirectory)
            configuration.http.headerTimeout = 1
            try await ServerTest.app(configuration).test(.live) { client in
                let port = try #require(client.port)
                let connection = try RawConnection(port: port)
                connection.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                let outcome = await connection.trickle(Array(repeating: UInt8(ascii: "a"), count: 100), interval: .milliseconds(200))
                #expect(outcome.closed)
                #expect(outcome.after < .seconds(3), "cut off after \(outcome.after)")
                #expect(try await Self.healthAnswers(port: port))
            }
        }

        /// A body trickled a byte at a time is cut off at the body timeout without reaching an inference worker; a
        /// steady upload slower than the timeout alone allows is not (each 64 KiB extends it by a second).
        @Test func trickledBodyIsCutOffAndSteadyUploadIsNot() async throws {
            var configuration = ServerTest.configuration(modelsDirectory: modelsDirectory)
            configuration.http.headerTimeout = 5
            configuration.http.bodyTimeout = 1
            let loader = FakeModelLoader()
            try await ServerTest.app(configuration, loader: loader).test(.live) { client in
                let port = try #require(client.port)
                let slow = try RawConnection(port: port)
                slow.send(
                    "POST /v1/audio/transcriptions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                        + "Content-Length: 100000\r\n\r\n{\"audio\":\""
                )
                let outcome = await slow.trickle(Array(repeating: UInt8(ascii: "A"), count: 100), interval: .milliseconds(200))
                #expect(outcome.closed)
                #expect(outcome.after < .seconds(3), "cut off after \(outcome.after)")
                #expect(loader.counters.started.load(ordering: .relaxed) == 0)

                // 2.5 s for 256 KiB of audio: over the 1 s timeout, within its extension (1 s + 4 s).
                let body = ServerTest.form([("model", "whisper-1")], file: ServerTest.wav(seconds: 8))
                let bytes = Array(body.readableBytesView)
                let steady = try RawConnection(port: port)
                steady.send(
                    "POST /v1/audio/transcriptions HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                        + "Content-Type: multipart/form-data; boundary=\(ServerTest.boundary)\r\nContent-Length: \(bytes.count)\r\n\r\n"
                )
                let pieces = 25
                let size = (bytes.count + pieces - 1) / pieces
                for start in stride(from: 0, to: bytes.count, by: size) {
                    try await Task.sleep(for: .milliseconds(100))
                    #expect(steady.send(Array(bytes[start..<min(bytes.count, start + size)])))
                }
                let (answer, _) = await steady.readUntilClosed(timeout: .seconds(10))
                #expect(RawResponse(answer)?.status == 200, "\(String(decoding: answer.prefix(300), as: UTF8.self))")
            }
        }

        /// At the connection limit new connections wait (they are not accepted) while open ones are served; once the
        /// idle ones close, new connections are served again.
        @Test func connectionLimitHoldsNewConnectionsUntilOneCloses() async throws {
            var configuration = ServerTest.configuration(modelsDirectory: modelsDirectory)
            configuration.http.maxConnections = 3
            try await Self.withServer(configuration) { port in
                var idle = [try RawConnection(port: port), try RawConnection(port: port), try RawConnection(port: port)]
                try await Task.sleep(for: .milliseconds(200))
                #expect(try await Self.healthAnswers(port: port, timeout: .seconds(1)) == false)
                // Accepted before the limit was reached: still served.
                idle[0].send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                let (served, _) = await idle[0].readUntilClosed(timeout: .seconds(2))
                #expect(RawResponse(served)?.status == 200)
                idle.removeAll()
                #expect(try await Self.healthAnswers(port: port, timeout: .seconds(3)))
            }
        }

        /// The server stops while connections queued behind the limit are being accepted: it exits cleanly (the test
        /// process crashed in swift-nio's unfinished-writer check before ``DroppedConnectionCloser``), and every queued
        /// client gets an answer or a closed connection, none is left hanging.
        @Test func stoppingWhileQueuedConnectionsAreAcceptedExitsCleanly() async throws {
            var configuration = ServerTest.configuration(modelsDirectory: modelsDirectory)
            configuration.http.maxConnections = 2
            for round in 0..<8 {
                let queued = try await Self.withServer(configuration) { port in
                    var idle = [try RawConnection(port: port), try RawConnection(port: port)]
                    try await Task.sleep(for: .milliseconds(100))
                    let queued = try (0..<24).map { _ in
                        let connection = try RawConnection(port: port)
                        connection.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                        return connection
                    }
                    // Free the slots: the queued connections are accepted in a burst while the server stops.
                    idle.removeAll()
                    try await Task.sleep(for: .milliseconds(round % 4))
                    return queued
                }
                for connection in queued {
                    let (bytes, closed) = await connection.readUntilClosed(timeout: .seconds(5))
                    #expect(closed, "round \(round): a queued connection was left open")
                    if !bytes.isEmpty { #expect(RawResponse(bytes)?.status == 200) }
                }
            }
        }

        /// 200 idle connections (half with half a request) leave the default limit room: new requests are served at once.
        @Test func twoHundredIdleConnectionsDoNotBlockNewRequests() async throws {
            let configuration = ServerTest.configuration(modelsDirectory: modelsDirectory)
            try await Self.withServer(configuration) { port in
                var idle: [RawConnection] = []
                for index in 0..<200 {
                    let connection = try RawConnection(port: port)
                    if index.isMultiple(of: 2) { connection.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n") }
                    idle.append(connection)
                }
                let start = ContinuousClock.now
                for _ in 0..<5 { #expect(try await Self.healthAnswers(port: port, timeout: .seconds(1))) }
                #expect(ContinuousClock.now - start < .seconds(2))
                let transcription = try await ServerConcurrencyTests.send(ServerConcurrencyTests.request(sleep: 0), port: port)
                #expect(transcription.status == .ok)
                #expect(idle.count == 200)
            }
        }

        /// Runs the application on a free loopback port, as `whisper-server serve` does (HummingbirdTesting's live
        /// mode rebuilds the server configuration and drops the connection limit).
        @discardableResult
        static func withServer<Result: Sendable>(
            _ configuration: ServerConfiguration, _ body: @Sendable (Int) async throws -> Result
        ) async throws -> Result {
            var configuration = configuration
            configuration.http.port = try RawConnection.freePort()
            let app = try ServerTest.app(configuration)
            let port = configuration.http.port
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await app.runService(gracefulShutdownSignals: []) }
                var started = false
                for _ in 0..<100 where !started {
                    started = (try? await Self.healthAnswers(port: port, timeout: .milliseconds(200))) ?? false
                    if !started { try await Task.sleep(for: .milliseconds(50)) }
                }
                try #require(started, "the server did not start on port \(port)")
                do {
                    let result = try await body(port)
                    group.cancelAll()
                    return result
                } catch {
                    group.cancelAll()
                    throw error
                }
            }
        }

    }
}
