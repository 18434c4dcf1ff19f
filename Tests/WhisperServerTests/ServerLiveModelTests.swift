import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import WhisperServer

extension LiveServerTests {
/// The real tiny.en model and real speech over HTTP on loopback (skipped when `models/tiny.en` is absent).
@Suite(.enabled(if: ServerTest.realModelsDirectory != nil, "needs models/tiny.en"))
struct ServerLiveModelTests {
    let configuration: ServerConfiguration

    init() throws {
        var configuration = ServerTest.configuration(modelsDirectory: try #require(ServerTest.realModelsDirectory), timeout: 300)
        configuration.models.preload = true
        self.configuration = configuration
    }

    private var app: some ApplicationProtocol {
        get throws { try buildApplication(configuration: configuration, logger: ServerTest.logger) }
    }

    /// Lower-cased words without punctuation.
    static func words(_ text: String) -> String {
        text.lowercased().unicodeScalars.filter { CharacterSet.alphanumerics.contains($0) || $0 == " " }.map(String.init).joined()
            .split(separator: " ").joined(separator: " ")
    }

    /// Sends a form on a connection of its own (transcription responses close their connection).
    private func transcribe(
        _ client: some TestClientProtocol, _ fields: [(String, String)], audio: [UInt8], path: String = "/v1/audio/transcriptions"
    ) async throws -> TestClient.Response {
        let request = TestClient.Request(path, method: .post, headers: ServerTest.formHeaders, body: ServerTest.form(fields, file: audio))
        let response = try await LiveServerTests.ServerConcurrencyTests.send(request, port: try #require(client.port), timeout: .seconds(120))
        if response.status == .ok { #expect(response.headers[.connection] == "close") }
        return response
    }

    /// faster-whisper's greedy transcript of a fixture.
    static func golden(_ name: String) throws -> String {
        let url = ServerTest.repositoryRoot.appendingPathComponent("Tests/Fixtures/goldens/tiny.en.json")
        let goldens = try JSONSerialization.jsonObject(with: try Data(contentsOf: url)) as? [String: Any]
        let greedy = try #require(goldens?["greedy"] as? [String: Any])
        return try #require((greedy[name] as? [String: Any])?["text"] as? String)
    }

    @Test func transcribesRealSpeechInEveryFormat() async throws {
        let audio = try #require(ServerTest.fixture("hello-world.wav"))
        try await app.test(.live) { client in
            let json = try await transcribe(client, [("model", "whisper-1")], audio: audio)
            #expect(json.status == .ok)
            let text = try #require(try ServerTest.object(json)["text"] as? String)
            #expect(text == (try Self.golden("hello-world")).trimmingCharacters(in: .whitespaces))

            let verbose = try await transcribe(
                client, [("response_format", "verbose_json"), ("timestamp_granularities[]", "word"), ("timestamp_granularities[]", "segment")],
                audio: audio
            )
            #expect(verbose.status == .ok)
            let object = try ServerTest.object(verbose)
            #expect(object["language"] as? String == "english")
            #expect(abs((object["duration"] as? Double ?? 0) - 3.74) < 0.05)
            let segments = try #require(object["segments"] as? [[String: Any]])
            #expect(!segments.isEmpty)
            let words = try #require(object["words"] as? [[String: Any]])
            #expect(words.count >= 8)
            #expect(words.map { $0["word"] as? String ?? "" }.joined().trimmingCharacters(in: .whitespaces) == text)

            let srt = try await transcribe(client, [("response_format", "srt")], audio: audio)
            #expect(String(buffer: srt.body ?? ByteBuffer()).hasPrefix("1\n00:00:0"))
            let vtt = try await transcribe(client, [("response_format", "vtt")], audio: audio)
            #expect(String(buffer: vtt.body ?? ByteBuffer()).hasPrefix("WEBVTT\n\n00:00:0"))
            let plain = try await transcribe(client, [("response_format", "text")], audio: audio)
            #expect(String(buffer: plain.body ?? ByteBuffer()) == text + "\n")
        }
    }

    /// A server whose encoder runs in bfloat16 (where the CPU has bfloat16 instructions; prepared when the model loads, as `serve`
    /// does) and whose decoder holds int8 weights still transcribes real speech correctly.
    @Test func reducedPrecisionTranscribesRealSpeech() async throws {
        var configuration = self.configuration
        configuration.inference.encoderPrecision = .bfloat16
        configuration.inference.decoderWeights = .int8
        let loader = WhisperModelLoader(encoderPrecision: .bfloat16, decoderWeights: .int8)
        let app = try buildApplication(
            configuration: configuration, dependencies: ServerDependencies(modelLoader: loader), logger: ServerTest.logger)
        let audio = try #require(ServerTest.fixture("hello-world.wav"))
        try await app.test(.live) { client in
            var texts: [String] = []
            for _ in 0..<2 {
                let json = try await transcribe(client, [("model", "whisper-1")], audio: audio)
                #expect(json.status == .ok)
                texts.append(try #require(try ServerTest.object(json)["text"] as? String))
            }
            #expect(Self.words(texts[0]) == Self.words(try Self.golden("hello-world")))
            #expect(texts[1] == texts[0])
        }
    }

    @Test func streamsRealSegments() async throws {
        let audio = try #require(ServerTest.fixture("hello-world.wav"))
        try await app.test(.live) { client in
            let response = try await transcribe(client, [("stream", "true")], audio: audio)
            #expect(response.status == .ok)
            let events = try ServerRouteTests.events(response.body ?? ByteBuffer())
            let deltas = events.filter { $0["type"] as? String == "transcript.text.delta" }.compactMap { $0["delta"] as? String }
            let done = try #require(events.last)
            #expect(done["type"] as? String == "transcript.text.done")
            let text = try #require(done["text"] as? String)
            #expect(!deltas.isEmpty)
            #expect(deltas.joined() == text)
            #expect(text == (try Self.golden("hello-world")).trimmingCharacters(in: .whitespaces))
        }
    }

    @Test func englishOnlyModelRefusesTranslation() async throws {
        let audio = try #require(ServerTest.fixture("hello-world.wav"))
        try await app.test(.live) { client in
            let response = try await transcribe(client, [("model", "whisper-1")], audio: audio, path: "/v1/audio/translations")
            #expect(response.status == .badRequest)
            let error = try ServerTest.error(response)
            #expect(error.param == "model")
            #expect(error.message.contains("English-only"))
        }
    }

    @Test func jsonDialectWithSynthesisedSpeech() async throws {
        let audio = try ServerTest.speech("The quick brown fox jumps over the lazy dog.", fallback: "quick-fox.wav")
        try await app.test(.live) { client in
            let request = TestClient.Request(
                "/v1/audio/transcriptions", method: .post, headers: ServerTest.jsonHeaders,
                body: ByteBuffer(string: #"{"audio":"\#(Data(audio).base64EncodedString())","language":"auto"}"#)
            )
            let response = try await LiveServerTests.ServerConcurrencyTests.send(request, port: try #require(client.port), timeout: .seconds(120))
            #expect(response.status == .ok)
            let object = try ServerTest.object(response)
            let text = try #require(object["text"] as? String)
            #expect(Self.words(text).contains("lazy dog"), "\(text)")
            #expect(object["model"] as? String == "tiny.en")
            #expect(object["format"] as? String == "wav")
            #expect(object["processing_time"] is Double)
            let ready = try await client.execute(uri: "/ready", method: .get)
            #expect(ready.status == .ok)
        }
    }
}
}
