import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import WhisperServer

/// The original Python server's test suite, translated: its clients' requests get the answers they expect.
@Suite struct OriginalServerCompatibilityTests {
    let modelsDirectory: URL
    let configuration: ServerConfiguration

    init() throws {
        modelsDirectory = try ServerTest.makeModelsDirectory(["tiny.en", "base"])
        configuration = ServerTest.configuration(modelsDirectory: modelsDirectory)
    }

    private func postJSON(_ client: some TestClientProtocol, _ json: String, path: String = "/v1/audio/transcriptions") async throws
        -> TestResponse
    {
        try await client.execute(uri: path, method: .post, headers: ServerTest.jsonHeaders, body: ByteBuffer(string: json))
    }

    /// test_health_check: `status == "healthy"`.
    @Test func healthIsHealthy() async throws {
        try await ServerTest.app(configuration).test(.router) { client in
            let response = try await client.execute(uri: "/health", method: .get)
            #expect(response.status == .ok)
            let object = try ServerTest.object(response)
            #expect(object["status"] as? String == "healthy")
            #expect(object["service"] as? String == "whisper-api-server")
        }
    }

    /// test_invalid_model: 400 in the JSON dialects, with the models that exist; OpenAI's form keeps 404.
    @Test func unknownModelIs400InTheJSONDialects() async throws {
        let audio = Data(ServerTest.wav(seconds: 1)).base64EncodedString()
        try await ServerTest.app(configuration).test(.router) { client in
            let bodies = [
                (#"{"audio":"\#(audio)","model":"invalid-model"}"#, "/v1/audio/transcriptions"),
                (#"{"audio":"\#(audio)","model":"invalid-model","stream":true}"#, "/v1/audio/transcriptions"),
                (#"{"model":"invalid-model","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"\#(audio)"}}]}]}"#,
                 "/v1/chat/completions"),
            ]
            for (body, path) in bodies {
                let response = try await postJSON(client, body, path: path)
                #expect(response.status == .badRequest, "\(path): \(String(buffer: response.body))")
                let error = try ServerTest.error(response)
                #expect(error.param == "model")
                #expect(error.code == "model_not_found")
                #expect(error.message == "Invalid model 'invalid-model'. Allowed models: base, tiny.en, whisper-1, whisper-tiny")
            }
            let multipart = try await client.execute(
                uri: "/v1/audio/transcriptions", method: .post, headers: ServerTest.formHeaders,
                body: ServerTest.form([("model", "invalid-model")], file: ServerTest.wav(seconds: 1))
            )
            #expect(multipart.status == .notFound)
        }
    }

    /// test_large_file: base64 longer than the upload limit's encoded size is 413 "too large", refused by its length
    /// before decoding (so even characters that are not base64 get 413, not 400).
    @Test func base64OverTheLimitIs413BeforeDecoding() async throws {
        var configuration = configuration
        configuration.limits.maxUploadBytes = 4096
        try await ServerTest.app(configuration).test(.router) { client in
            let encodedLimit = (4096 + 2) / 3 * 4
            for payload in [String(repeating: "A", count: encodedLimit + 4), String(repeating: "@", count: encodedLimit + 4)] {
                let response = try await postJSON(client, #"{"audio":"\#(payload)"}"#)
                #expect(response.status == .contentTooLarge)
                let error = try ServerTest.error(response)
                #expect(error.message.contains("too large"), "\(error.message)")
                #expect(error.param == "audio")
            }
            let atTheLimit = try await postJSON(client, #"{"audio":"\#(String(repeating: "@", count: encodedLimit))"}"#)
            #expect(atTheLimit.status == .badRequest, "a string of the limit's length is decoded (and is not base64)")
        }
    }

    /// test_invalid_base64: 400.
    @Test func invalidBase64Is400() async throws {
        try await ServerTest.app(configuration).test(.router) { client in
            let response = try await postJSON(client, #"{"audio":"invalid-base64-data!!!","model":"whisper-1"}"#)
            #expect(response.status == .badRequest)
            #expect(try ServerTest.error(response).code == "invalid_base64")
        }
    }

    /// whisper-tiny, -small, -medium and -large name the models present, are listed, and yield to configured names.
    @Test func originalModelNamesAreBuiltInAliases() async throws {
        var configuration = ServerTest.configuration(modelsDirectory: try ServerTest.makeModelsDirectory(["tiny.en", "large-v2", "large-v3"]))
        try await ServerTest.app(configuration).test(.router) { client in
            let list = try ServerTest.object(try await client.execute(uri: "/v1/models", method: .get))
            let models = try #require(list["data"] as? [[String: Any]])
            let aliases = Dictionary(
                uniqueKeysWithValues: models.compactMap { model -> (String, String)? in
                    guard let id = model["id"] as? String, let target = (model["whisper"] as? [String: Any])?["alias_of"] as? String else { return nil }
                    return (id, target)
                })
            #expect(aliases == ["whisper-1": "tiny.en", "whisper-tiny": "tiny.en", "whisper-large": "large-v3"])
            let audio = Data(ServerTest.wav(seconds: 1)).base64EncodedString()
            let response = try await postJSON(client, #"{"audio":"\#(audio)","model":"whisper-large"}"#)
            #expect(response.status == .ok)
            #expect(try ServerTest.object(response)["model"] as? String == "large-v3")
            let small = try await postJSON(client, #"{"audio":"\#(audio)","model":"whisper-small"}"#)
            #expect(small.status == .badRequest)
        }
        configuration.models.aliases = ["whisper-large": "large-v2"]
        try await ServerTest.app(configuration).test(.router) { client in
            let one = try ServerTest.object(try await client.execute(uri: "/v1/models/whisper-large", method: .get))
            #expect((one["whisper"] as? [String: Any])?["alias_of"] as? String == "large-v2")
        }
    }

    /// The original's `POST /debug/audio-info`, plus the decoded duration and format, behind the API keys.
    @Test func debugAudioInfo() async throws {
        var configuration = configuration
        configuration.security.apiKeys = "ops:sk-audio-info-1"
        let wav = ServerTest.wav(seconds: 1.5)
        let audio = Data(wav).base64EncodedString()
        try await ServerTest.app(configuration).test(.router) { client in
            let body = ByteBuffer(string: #"{"audio":"\#(audio)","model":"whisper-1","language":"en"}"#)
            let anonymous = try await client.execute(uri: "/debug/audio-info", method: .post, headers: ServerTest.jsonHeaders, body: body)
            #expect(anonymous.status == .unauthorized)
            var headers = ServerTest.jsonHeaders
            headers[.authorization] = "Bearer sk-audio-info-1"
            let response = try await client.execute(uri: "/debug/audio-info", method: .post, headers: headers, body: body)
            #expect(response.status == .ok, "\(String(buffer: response.body))")
            let object = try ServerTest.object(response)
            #expect(object["audio_size_bytes"] as? Int == wav.count)
            #expect(abs((object["audio_size_mb"] as? Double ?? 0) - Double(wav.count) / 1_048_576) < 1e-9)
            #expect(object["base64_length"] as? Int == audio.count)
            #expect(object["model"] as? String == "whisper-1")
            #expect(object["language"] as? String == "en")
            #expect(abs((object["duration"] as? Double ?? 0) - 1.5) < 0.01)
            #expect(object["format"] as? String == "wav")
            #expect(object["sample_rate"] as? Int == 16_000)
            #expect(object["channels"] as? Int == 1)

            let unknown = try await client.execute(
                uri: "/debug/audio-info", method: .post, headers: headers, body: ByteBuffer(string: #"{"audio":"\#(audio)","model":"nope"}"#))
            #expect(unknown.status == .badRequest)
            #expect(try ServerTest.error(unknown).param == "model")
            let garbage = try await client.execute(
                uri: "/debug/audio-info", method: .post, headers: headers,
                body: ByteBuffer(string: #"{"audio":"\#(Data("not audio at all".utf8).base64EncodedString())"}"#))
            #expect(garbage.status != .ok)
            #expect(try ServerTest.error(garbage).param == "file")
        }
    }
}
