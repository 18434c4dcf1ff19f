import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@testable import WhisperServer

@Suite("Observability: structured logs")
struct ObservabilityLoggingTests {
    @Test func jsonLineShape() throws {
        let logs = CapturedLogLines()
        var logger = logs.logger(label: "whisper.test", level: .info)
        logger[metadataKey: "request.id"] = "req_1"
        logger.debug("hidden below the level")
        logger.info(
            "request completed",
            metadata: [
                "http": ["method": "POST", "status": .stringConvertible(200)],
                "duration_ms": .stringConvertible(812.4567),
                "audio_seconds": .stringConvertible(12.5),
                "model": "tiny.en",
                "ok": .stringConvertible(true),
                "quote": "a \"b\"\n\\c",
            ]
        )
        #expect(logs.lines.count == 1)
        let line = try #require(logs.lines.first)
        #expect(!line.contains("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["level"] as? String == "info")
        #expect(object["message"] as? String == "request completed")
        #expect(object["logger"] as? String == "whisper.test")
        #expect(object["request.id"] as? String == "req_1")
        #expect(object["http.method"] as? String == "POST")
        #expect(object["http.status"] as? Int == 200)
        #expect(object["duration_ms"] as? Double == 812.457)
        #expect(object["audio_seconds"] as? Double == 12.5)
        #expect(object["model"] as? String == "tiny.en")
        #expect(object["ok"] as? Bool == true)
        #expect(object["quote"] as? String == "a \"b\"\n\\c")
        let timestamp = try #require(object["timestamp"] as? String)
        #expect(timestamp.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/) != nil, "\(timestamp)")
        #expect(line.hasPrefix(#"{"timestamp":""#))
    }

    @Test func timestampFormatting() {
        #expect(JSONLogHandler.timestamp(seconds: 0, milliseconds: 7) == "1970-01-01T00:00:00.007Z")
        #expect(JSONLogHandler.timestamp(seconds: 1_795_000_000, milliseconds: 999) == "2026-11-18T11:06:40.999Z")
    }

    @Test func textStyleAndAutoResolution() {
        let logs = CapturedLogLines()
        let logger = Logger(label: "t") { JSONLogHandler(label: $0, style: .text, sink: logs.sink) }
        logger.warning("queue full", metadata: ["queue.depth": .stringConvertible(8), "note": "two words"])
        let line = logs.lines.first ?? ""
        #expect(line.contains(" WARNING [t] queue full"))
        #expect(line.contains("queue.depth=8"))
        #expect(line.contains(#"note="two words""#))
        #expect(JSONLogHandler.style(for: .auto, isTerminal: true) == .text)
        #expect(JSONLogHandler.style(for: .auto, isTerminal: false) == .json)
        #expect(JSONLogHandler.style(for: .json, isTerminal: true) == .json)
        #expect(JSONLogHandler.style(for: .text, isTerminal: false) == .text)
    }

    @Test func concurrentLinesNeverInterleave() async throws {
        let logs = CapturedLogLines()
        let logger = logs.logger()
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for i in 0..<100 { logger.info("line", metadata: ["task": .stringConvertible(task), "i": .stringConvertible(i)]) }
                }
            }
        }
        #expect(logs.lines.count == 800)
        #expect(logs.objects.count == 800)
    }

    @Test func accessLogHasTheFieldsAndNeverKeysOrBodies() async throws {
        let logs = CapturedLogLines()
        let router = Router(context: SecurityTestContext.self)
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: AccessLogMiddleware(includeHeaders: [.userAgent, .authorization, .init("X-API-Key")!]))
        router.add(middleware: AuthenticationMiddleware(keys: APIKeyStore(keys: [("alice", "sk-alice-secret")])))
        router.post("/v1/audio/transcriptions") { request, context in
            _ = try await request.body.collect(upTo: 1 << 20)
            context.annotations.model = "tiny.en"
            context.annotations.audioSeconds = 3.25
            return "{\"text\":\"hello\"}"
        }
        let app = Application(router: router, logger: logs.logger(label: "whisper"))
        try await app.test(.router) { client in
            try await client.execute(
                uri: "/v1/audio/transcriptions?debug=1",
                method: .post,
                headers: [.authorization: "Bearer sk-alice-secret", .userAgent: "curl/8", .testXRequestID: "req-access"],
                body: ByteBuffer(string: "AUDIOBYTES-BASE64==")
            ) { response in
                #expect(response.status == .ok)
            }
        }
        let all = logs.lines.joined(separator: "\n")
        #expect(!all.contains("sk-alice-secret"))
        #expect(!all.contains("AUDIOBYTES"))
        #expect(!all.contains("debug=1"))
        let line = try #require(logs.objects.first { $0["message"] as? String == "request completed" })
        #expect(line["request.id"] as? String == "req-access")
        #expect(line["http.method"] as? String == "POST")
        #expect(line["http.path"] as? String == "/v1/audio/transcriptions")
        #expect(line["http.route"] as? String == "/v1/audio/transcriptions")
        #expect(line["http.status"] as? Int == 200)
        #expect(line["duration_ms"] is Double || line["duration_ms"] is Int)
        #expect(line["model"] as? String == "tiny.en")
        #expect(line["audio_seconds"] as? Double == 3.25)
        #expect(line["api_key.name"] as? String == "alice")
        #expect(line["http.request.header.authorization"] as? String == "***")
        #expect(line["http.request.header.user-agent"] as? String == "curl/8")
    }
}
