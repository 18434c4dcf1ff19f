import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import WhisperEngine

@testable import WhisperServer

/// Routes in process with fake models: shapes, content types, and every malformed request.
@Suite struct ServerRouteTests {
    let modelsDirectory: URL
    let configuration: ServerConfiguration

    init() throws {
        modelsDirectory = try ServerTest.makeModelsDirectory(["tiny.en", "base", "broken"])
        configuration = ServerTest.configuration(modelsDirectory: modelsDirectory)
    }

    private func post(
        _ client: some TestClientProtocol, _ path: String = "/v1/audio/transcriptions", fields: [(String, String)] = [],
        file: [UInt8]? = ServerTest.wav(seconds: 1)
    ) async throws -> TestResponse {
        try await client.execute(uri: path, method: .post, headers: ServerTest.formHeaders, body: ServerTest.form(fields, file: file))
    }

    private func expectError(
        _ response: TestResponse, _ status: HTTPResponse.Status, param: String?, contains text: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        #expect(response.status == status, sourceLocation: sourceLocation)
        #expect(response.headers[.contentType] == "application/json", sourceLocation: sourceLocation)
        let error = try ServerTest.error(response)
        #expect(error.param == param, sourceLocation: sourceLocation)
        if let text { #expect(error.message.contains(text), "\(error.message)", sourceLocation: sourceLocation) }
        #expect(!error.message.contains(modelsDirectory.path), sourceLocation: sourceLocation)
    }

    // MARK: Health and models

    @Test func healthAndReadiness() async throws {
        try await ServerTest.app(configuration).test(.router) { client in
            let health = try await client.execute(uri: "/health", method: .get)
            #expect(health.status == .ok)
            #expect(String(buffer: health.body) == #"{"status":"healthy","service":"whisper-api-server"}"#)
            let before = try await client.execute(uri: "/ready", method: .get)
            #expect(before.status == .serviceUnavailable)
            #expect(try ServerTest.object(before)["default_model_loaded"] as? Bool == false)
            #expect(try await post(client).status == .ok)
            let after = try await client.execute(uri: "/ready", method: .get)
            #expect(after.status == .ok)
        }
    }

    @Test func readinessWithPreload() async throws {
        var configuration = configuration
        configuration.models.preload = true
        try await ServerTest.app(configuration).test(.router) { client in
            var status = HTTPResponse.Status.serviceUnavailable
            for _ in 0..<100 where status != .ok {
                status = try await client.execute(uri: "/ready", method: .get).status
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(status == .ok)
        }
    }

    @Test func listsModelsAndAliases() async throws {
        try await ServerTest.app(configuration).test(.router) { client in
            let response = try await client.execute(uri: "/v1/models", method: .get)
            #expect(response.status == .ok)
            let list = try ServerTest.object(response)
            #expect(list["object"] as? String == "list")
            let data = try #require(list["data"] as? [[String: Any]])
            let ids = data.compactMap { $0["id"] as? String }
            #expect(ids == ["base", "broken", "tiny.en", "whisper-1", "whisper-tiny"], "whisper-tiny: the original server's name, a built-in alias of tiny.en")
            let alias = try #require(data.first { $0["id"] as? String == "whisper-1" })
            #expect(alias["object"] as? String == "model")
            #expect(alias["owned_by"] as? String == "whisper-server")
            #expect(alias["created"] is Int)
            let whisper = try #require(alias["whisper"] as? [String: Any])
            #expect(whisper["alias_of"] as? String == "tiny.en")
            #expect(whisper["format"] as? String == "ctranslate2")

            let one = try await client.execute(uri: "/v1/models/tiny.en", method: .get)
            #expect(one.status == .ok)
            #expect(try ServerTest.object(one)["id"] as? String == "tiny.en")
        }
    }

    @Test(arguments: ["nope", "..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "tiny.en%2F..%2F..%2Fbase", ".."])
    func unknownModelIs404(id: String) async throws {
        try await ServerTest.app(configuration).test(.router) { client in
            let response = try await client.execute(uri: "/v1/models/\(id)", method: .get)
            #expect(response.status == .notFound)
            let transcription = try await post(client, fields: [("model", id.removingPercentEncoding ?? id)])
            try expectError(transcription, .notFound, param: "model")
            #expect(try ServerTest.error(transcription).code == "model_not_found")
        }
    }

    @Test func unknownRouteAnswersInOpenAIShape() async throws {
        try await ServerTest.app(configuration).test(.router) { client in
            let response = try await client.execute(uri: "/v1/nothing", method: .get)
            try expectError(response, .notFound, param: nil, contains: "unknown endpoint")
        }
    }

    // MARK: Transcriptions

    @Test func jsonIsTheDefaultFormat() async throws {
        try await ServerTest.app(configuration).test(.router) { client in
            let response = try await post(client, fields: [("model", "whisper-1"), ("unknown_field", "ignored")])
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/json")
            #expect(String(buffer: response.body) == #"{"text":"Hello from the fake model. Second segment."}"#)
        }
    }

    @Test(arguments: [
        ("json", "application/json"), ("text", "text/plain; charset=utf-8"), ("srt", "application/x-subrip"),
        ("verbose_json", "application/json"), ("vtt", "text/vtt"),
    ])
    func everyResponseFormat(format: String, contentType: String) async throws {
        try await ServerTest.app(configuration).test(.router) { client in
            let response = try await post(client, fields: [("response_format", format)])
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == contentType)
            let body = String(buffer: response.body)
            switch format {
            case "text": #expect(body == "Hello from the fake model. Second segment.\n")
            case "srt": #expect(body.hasPrefix("1\n00:00:00,000 --> 00:00:00,500\nHello from the fake model.\n"))
            case "vtt": #expect(body.hasPrefix("WEBVTT\n\n00:00:00.000 --> 00:00:00.500\n"))
            case "verbose_json":
                let object = try ServerTest.object(response)
                #expect(object["task"] as? String == "transcribe")
                #expect(object["language"] as? String == "english")
                #expect((object["segments"] as? [Any])?.count == 2)
                #expect(object["duration"] as? Double == 1)
            default: #expect(body.contains("\"text\""))
            }
        }
    }

    @Test func translationWithMultilingualModel() async throws {
        try await ServerTest.app(configuration).test(.router) { client in
            let response = try await post(client, "/v1/audio/translations", fields: [("model", "base"), ("response_format", "verbose_json")])
            #expect(response.status == .ok)
            #expect(try ServerTest.object(response)["task"] as? String == "translate")
        }
    }

    @Test func englishOnlyModelRefusesTranslationAndOtherLanguages() async throws {
        try await ServerTest.app(configuration).test(.router) { client in
            let translation = try await post(client, "/v1/audio/translations", fields: [("model", "whisper-1")])
            try expectError(translation, .badRequest, param: "model", contains: "English-only and cannot translate")
            let german = try await post(client, fields: [("language", "de")])
            try expectError(german, .badRequest, param: "language", contains: "English-only")
            #expect(try await post(client, fields: [("language", "en")]).status == .ok)
            #expect(try await post(client, fields: [("language", "English")]).status == .ok)
            #expect(try await post(client, fields: [("model", "base"), ("language", "german")]).status == .ok)
        }
    }

    @Test(arguments: [
        ([("response_format", "xml")], "response_format"),
        ([("temperature", "hot")], "temperature"),
        ([("temperature", "1.5")], "temperature"),
        ([("temperature", "-0.1")], "temperature"),
        ([("temperature", "nan")], "temperature"),
        ([("language", "klingon")], "language"),
        ([("timestamp_granularities[]", "sentence")], "timestamp_granularities"),
        ([("timestamp_granularities[]", "word")], "timestamp_granularities"),
        ([("response_format", "json"), ("timestamp_granularities[]", "word")], "timestamp_granularities"),
        ([("stream", "maybe")], "stream"),
        ([("model", String(repeating: "m", count: 5000))], "model"),
        ([("prompt", String(repeating: "p", count: 20000))], "prompt"),
    ])
    func badParameterIs400WithParam(fields: [(String, String)], param: String) async throws {
        try await ServerTest.app(configuration).test(.router) { client in
            try expectError(try await post(client, fields: fields), .badRequest, param: param)
        }
    }

    @Test func temperatureMapsToFallbackSchedule() {
        #expect(TranscriptionOptions.temperatures(openAITemperature: 0) == [0, 0.2, 0.4, 0.6, 0.8, 1.0])
        #expect(TranscriptionOptions.temperatures(openAITemperature: 0.5) == [0.5, 0.7, 0.9])
        #expect(TranscriptionOptions.temperatures(openAITemperature: 1) == [1])
    }

    @Test func missingFileIs400() async throws {
        try await ServerTest.app(configuration).test(.router) { client in
            try expectError(try await post(client, fields: [("model", "whisper-1")], file: nil), .badRequest, param: "file")
            let textFile = try await post(client, fields: [("file", "not a file")], file: nil)
            try expectError(textFile, .badRequest, param: "file", contains: "file upload")
            let wrongName = try await client.execute(
                uri: "/v1/audio/transcriptions", method: .post, headers: ServerTest.formHeaders,
                body: ServerTest.form([], file: ServerTest.wav(seconds: 1), fileField: "audio")
            )
            try expectError(wrongName, .badRequest, param: "file")
        }
    }

    @Test func emptyFileIs400() async throws {
        try await ServerTest.app(configuration).test(.router) { client in
            let response = try await post(client, file: [])
            try expectError(response, .badRequest, param: "file")
        }
    }

    @Test func undecodableAudio() async throws {
        try await ServerTest.app(configuration).test(.router) { client in
            let garbage = try await post(client, file: Array("this is not audio at all, just some text".utf8))
            #expect([.unsupportedMediaType, .unprocessableContent].contains(garbage.status))
            #expect(try ServerTest.error(garbage).param == "file")
            var truncated = ServerTest.wav(seconds: 1)
            truncated.removeLast(truncated.count - 30)
            let broken = try await post(client, file: truncated)
            #expect([.unsupportedMediaType, .unprocessableContent, .badRequest].contains(broken.status))
            #expect(try ServerTest.error(broken).message.hasPrefix("invalid audio file"))
        }
    }

    @Test func wrongContentTypeIs415() async throws {
        try await ServerTest.app(configuration).test(.router) { client in
            for contentType in ["text/plain", "audio/wav", "application/x-www-form-urlencoded"] {
                let response = try await client.execute(
                    uri: "/v1/audio/transcriptions", method: .post, headers: [.contentType: contentType],
                    body: ByteBuffer(bytes: ServerTest.wav(seconds: 1))
                )
                try expectError(response, .unsupportedMediaType, param: nil)
            }
            let none = try await client.execute(uri: "/v1/audio/transcriptions", method: .post, body: ByteBuffer(string: "x"))
            #expect(none.status == .unsupportedMediaType)
        }
    }

    @Test func malformedMultipartIs400() async throws {
        try await ServerTest.app(configuration).test(.router) { client in
            let noBoundary = try await client.execute(
                uri: "/v1/audio/transcriptions", method: .post, headers: [.contentType: "multipart/form-data"],
                body: ServerTest.form([], file: [1, 2])
            )
            try expectError(noBoundary, .badRequest, param: nil, contains: "boundary")
            var truncated = ServerTest.form([("model", "whisper-1")], file: ServerTest.wav(seconds: 1))
            truncated.moveWriterIndex(to: truncated.writerIndex - 10)
            let cut = try await client.execute(
                uri: "/v1/audio/transcriptions", method: .post, headers: ServerTest.formHeaders, body: truncated
            )
            try expectError(cut, .badRequest, param: nil)
            let garbage = try await client.execute(
                uri: "/v1/audio/transcriptions", method: .post, headers: ServerTest.formHeaders, body: ByteBuffer(string: "garbage")
            )
            try expectError(garbage, .badRequest, param: nil)
            let manyParts = (0..<100).map { ("field\($0)", "x") }
            try expectError(try await post(client, fields: manyParts), .badRequest, param: nil, contains: "parts")
        }
    }

    @Test func oversizeBodyIs413() async throws {
        var configuration = configuration
        configuration.limits.maxUploadBytes = 64 * 1024
        try await ServerTest.app(configuration).test(.router) { client in
            let big = try await post(client, file: ServerTest.wav(seconds: 10))
            try expectError(big, .contentTooLarge, param: "file")
            let json = try await client.execute(
                uri: "/v1/audio/transcriptions", method: .post, headers: ServerTest.jsonHeaders,
                body: ByteBuffer(string: #"{"audio":""# + Data(ServerTest.wav(seconds: 5)).base64EncodedString() + #""}"#)
            )
            try expectError(json, .contentTooLarge, param: "file")
            // A file just over the limit inside a body under the wire limit is still refused.
            let justOver = try await post(client, file: [UInt8](repeating: 0, count: 64 * 1024 + 1))
            try expectError(justOver, .contentTooLarge, param: "file")
        }
    }

    // MARK: JSON dialect and chat

    private func postJSON(
        _ client: some TestClientProtocol, _ json: String, path: String = "/v1/audio/transcriptions"
    ) async throws -> TestResponse {
        try await client.execute(uri: path, method: .post, headers: ServerTest.jsonHeaders, body: ByteBuffer(string: json))
    }

    @Test func legacyJSONDialect() async throws {
        let audio = Data(ServerTest.wav(seconds: 1)).base64EncodedString()
        try await ServerTest.app(configuration).test(.router) { client in
            let bodies = [
                #"{"audio":"\#(audio)"}"#,
                #"{"audio":"data:audio/wav;base64,\#(audio)","language":"auto"}"#,
                #"{"audio_options":{"data":"\#(audio)","format":"wav"},"model":"tiny.en"}"#,
                #"{"messages":[{"role":"user","content":[{"type":"text","text":"hi"},{"type":"input_audio","input_audio":{"data":"\#(audio)","format":"wav"}}]}]}"#,
                #"{"messages":[{"role":"system","content":"be nice"},{"role":"user","content":[{"type":"audio","inputAudio":{"data":"\#(audio)"}}]}]}"#,
                #"{"messages":[{"role":"user","content":[{"type":"input_audio","data":"\#(audio)"}]}]}"#,
            ]
            for body in bodies {
                let response = try await postJSON(client, body)
                #expect(response.status == .ok, "\(String(buffer: response.body))")
                let object = try ServerTest.object(response)
                #expect(object["text"] as? String == "Hello from the fake model. Second segment.")
                #expect(object["model"] as? String == "tiny.en")
                #expect(object["format"] as? String == "wav")
                #expect((object["processing_time"] as? Double ?? -1) >= 0)
            }
            let verbose = try await postJSON(client, #"{"audio":"\#(audio)","response_format":"verbose_json"}"#)
            let object = try ServerTest.object(verbose)
            #expect((object["segments"] as? [Any])?.count == 2)
            #expect(object["processing_time"] != nil)
            let text = try await postJSON(client, #"{"audio":"\#(audio)","response_format":"text"}"#)
            #expect(String(buffer: text.body) == "Hello from the fake model. Second segment.\n")
        }
    }

    @Test(arguments: [
        (#"{"audio": "#, nil as String?),
        (#"not json"#, nil),
        (#"[1,2,3]"#, nil),
        (#"{"audio":"@@@not-base64@@@"}"#, "audio"),
        (#"{"audio":""}"#, "audio"),
        (#"{"audio":42}"#, "audio"),
        (#"{"model":"whisper-1"}"#, "audio"),
        (#"{"audio":"AAAA","temperature":"hot"}"#, "temperature"),
        (#"{"audio":"AAAA","temperature":3}"#, "temperature"),
        (#"{"audio":"AAAA","response_format":"xml"}"#, "response_format"),
        (#"{"audio":"AAAA","language":"xx"}"#, "language"),
        (#"{"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"%%%"}}]}]}"#, "messages[0].content[0]"),
        (#"{"messages":"hello"}"#, "messages"),
    ])
    func badJSONIs400(body: String, param: String?) async throws {
        try await ServerTest.app(configuration).test(.router) { client in
            try expectError(try await postJSON(client, body), .badRequest, param: param)
        }
    }

    @Test func deeplyNestedJSONIs400() async throws {
        let nested = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        try await ServerTest.app(configuration).test(.router) { client in
            let response = try await postJSON(client, #"{"audio":"AAAA","extra":\#(nested)}"#)
            #expect(response.status == .badRequest || response.status == .unsupportedMediaType || response.status == .unprocessableContent)
        }
    }

    @Test func chatCompletion() async throws {
        let audio = Data(ServerTest.wav(seconds: 1)).base64EncodedString()
        try await ServerTest.app(configuration).test(.router) { client in
            let response = try await postJSON(
                client,
                #"{"model":"whisper-1","messages":[{"role":"user","content":[{"type":"text","text":"Transcribe"},{"type":"input_audio","input_audio":{"data":"\#(audio)","format":"wav"}}]}]}"#,
                path: "/v1/chat/completions"
            )
            #expect(response.status == .ok)
            let object = try ServerTest.object(response)
            #expect(object["object"] as? String == "chat.completion")
            #expect((object["id"] as? String)?.hasPrefix("chatcmpl-") == true)
            let choice = try #require((object["choices"] as? [[String: Any]])?.first)
            #expect(choice["finish_reason"] as? String == "stop")
            let message = try #require(choice["message"] as? [String: Any])
            #expect(message["role"] as? String == "assistant")
            #expect(message["content"] as? String == "Hello from the fake model. Second segment.")
            #expect(object["usage"] is [String: Any])

            let noAudio = try await postJSON(client, #"{"messages":[{"role":"user","content":"hello"}]}"#, path: "/v1/chat/completions")
            try expectError(noAudio, .badRequest, param: "messages", contains: "input_audio")
            let form = try await post(client, "/v1/chat/completions")
            #expect(form.status == .unsupportedMediaType)
        }
    }

    // MARK: Streaming

    @Test func streamsServerSentEvents() async throws {
        try await ServerTest.app(configuration).test(.router) { client in
            let response = try await post(client, fields: [("stream", "true")])
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/event-stream")
            let events = try Self.events(response)
            #expect(events.count == 3)
            #expect(events[0]["type"] as? String == "transcript.text.delta")
            #expect(events[0]["delta"] as? String == "Hello from the fake model.")
            #expect(events[1]["delta"] as? String == " Second segment.")
            #expect(events[2]["type"] as? String == "transcript.text.done")
            #expect(events[2]["text"] as? String == "Hello from the fake model. Second segment.")
        }
    }

    @Test func streamingErrorsBeforeStartHaveTheirStatus() async throws {
        try await ServerTest.app(configuration).test(.router) { client in
            let unknown = try await post(client, fields: [("stream", "true"), ("model", "nope")])
            try expectError(unknown, .notFound, param: "model")
            let garbage = try await post(client, fields: [("stream", "true")], file: Array("not audio".utf8))
            #expect(garbage.status != .ok)
            #expect(try ServerTest.error(garbage).param == "file")
        }
    }

    @Test func streamsChatCompletionChunks() async throws {
        let audio = Data(ServerTest.wav(seconds: 1)).base64EncodedString()
        try await ServerTest.app(configuration).test(.router) { client in
            let response = try await postJSON(
                client,
                #"{"stream":true,"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"\#(audio)"}}]}]}"#,
                path: "/v1/chat/completions"
            )
            #expect(response.status == .ok)
            let body = String(buffer: response.body)
            #expect(body.hasSuffix("data: [DONE]\n\n"))
            let chunks = try Self.events(response)
            #expect(chunks.allSatisfy { $0["object"] as? String == "chat.completion.chunk" })
            let text = chunks.compactMap { (($0["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])?["content"] as? String }
            #expect(text.joined() == "Hello from the fake model. Second segment.")
        }
    }

    /// The JSON objects of `data:` lines, `[DONE]` excluded.
    static func events(_ response: TestResponse) throws -> [[String: Any]] {
        try events(response.body)
    }

    static func events(_ body: ByteBuffer) throws -> [[String: Any]] {
        try String(buffer: body).components(separatedBy: "\n\n").filter { $0.hasPrefix("data: {") }.map { event in
            try #require(try JSONSerialization.jsonObject(with: Data(event.dropFirst(6).utf8)) as? [String: Any])
        }
    }

    // MARK: Models that fail

    @Test func modelLoadFailureIs500AndServerStaysUp() async throws {
        try await ServerTest.app(configuration).test(.router) { client in
            let broken = try await post(client, fields: [("model", "broken")])
            try expectError(broken, .internalServerError, param: "model", contains: "truncated header")
            #expect(try await post(client, fields: [("model", "tiny.en")]).status == .ok)
            #expect(try await client.execute(uri: "/health", method: .get).status == .ok)
        }
    }
}

extension ServerRouteTests {
    /// An error that writes its own response, like the security middleware's rejections.
    struct OwnResponseError: HTTPResponseError {
        var status: HTTPResponse.Status { .unauthorized }
        func response(from request: Request, context: some RequestContext) throws -> Response {
            Response(status: status, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "own body")))
        }
    }

    @Test func errorsWithTheirOwnResponsePassThrough() async throws {
        let router = Router(context: WhisperRequestContext.self)
        router.add(middleware: OpenAIErrorMiddleware())
        router.get("own") { _, _ -> String in throw OwnResponseError() }
        router.get("unknown") { _, _ -> String in throw CancellationError() }
        router.get("bytes") { _, _ -> String in throw NIOTooManyBytesError(maxBytes: 1) }
        try await Application(router: router).test(.router) { client in
            let own = try await client.execute(uri: "/own", method: .get)
            #expect(own.status == .unauthorized)
            #expect(String(buffer: own.body) == "own body")
            let bytes = try await client.execute(uri: "/bytes", method: .get)
            #expect(bytes.status == .contentTooLarge)
            #expect(try ServerTest.error(bytes).code == "request_too_large")
            let unknown = try await client.execute(uri: "/unknown", method: .get)
            #expect(try ServerTest.error(unknown).code == "cancelled")
        }
    }
}
