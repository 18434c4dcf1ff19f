import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import WhisperServer

extension LiveServerTests {
    /// Converted models (`make model-formats`) in a models directory of their own: listed with their format by
    /// `/v1/models` and serving real transcripts over HTTP on loopback.
    @Suite(.enabled(if: ServerTest.convertedModels != nil, "needs the converted models (make model-formats)"))
    struct ModelFormatServerTests {
        /// A models directory linking to a ggml directory, a Hugging Face directory and a lone ggml file.
        private static func modelsDirectory() throws -> URL {
            let models = try #require(ServerTest.convertedModels)
            let directory = ServerTest.scratch.appendingPathComponent("formats-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let links = [
                "tiny.en-ggml-q5_1": "tiny.en-ggml-q5_1", "tiny.en-hf-f16": "tiny.en-hf-f16",
                "ggml-tiny.en.bin": "tiny.en-ggml-f16/ggml-model.bin",
            ]
            for (name, target) in links {
                try FileManager.default.createSymbolicLink(
                    at: directory.appendingPathComponent(name), withDestinationURL: models.appendingPathComponent(target))
            }
            return directory
        }

        private func transcribe(_ client: some TestClientProtocol, model: String, audio: [UInt8]) async throws -> TestClient.Response {
            let request = TestClient.Request(
                "/v1/audio/transcriptions", method: .post, headers: ServerTest.formHeaders,
                body: ServerTest.form([("model", model)], file: audio))
            return try await LiveServerTests.ServerConcurrencyTests.send(request, port: try #require(client.port), timeout: .seconds(120))
        }

        @Test func listsAndServesConvertedModels() async throws {
            let directory = try Self.modelsDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            var configuration = ServerTest.configuration(modelsDirectory: directory, timeout: 300)
            configuration.models.defaultModel = "ggml-tiny.en"
            let app = try buildApplication(configuration: configuration, logger: ServerTest.logger)
            let audio = try #require(ServerTest.fixture("hello-world.wav"))
            let golden = try ServerLiveModelTests.golden("hello-world").trimmingCharacters(in: .whitespaces)
            try await app.test(.live) { client in
                let listing = try await client.execute(uri: "/v1/models", method: .get)
                let data = try #require(try ServerTest.object(listing)["data"] as? [[String: Any]])
                var formats: [String: String] = [:]
                for object in data {
                    let whisper = object["whisper"] as? [String: Any]
                    formats[object["id"] as? String ?? ""] = whisper?["format"] as? String
                    if object["id"] as? String == "ggml-tiny.en" { #expect(whisper?["size_bytes"] as? Int ?? 0 > 70_000_000) }
                }
                #expect(formats["ggml-tiny.en"] == "ggml-f16")
                #expect(formats["tiny.en-ggml-q5_1"] == "ggml-q5_1")
                #expect(formats["tiny.en-hf-f16"] == "safetensors-f16")
                #expect(formats["whisper-1"] == "ggml-f16")

                // The f16 formats hold the CTranslate2 model's weights exactly: the oracle's transcript.
                for model in ["whisper-1", "tiny.en-hf-f16"] {
                    let response = try await transcribe(client, model: model, audio: audio)
                    #expect(response.status == .ok)
                    #expect(try ServerTest.object(response)["text"] as? String == golden, "\(model)")
                }
                let quantised = try await transcribe(client, model: "tiny.en-ggml-q5_1", audio: audio)
                #expect(quantised.status == .ok)
                let text = try #require(try ServerTest.object(quantised)["text"] as? String)
                let expected = Set(ServerLiveModelTests.words(golden).split(separator: " "))
                let shared = expected.intersection(ServerLiveModelTests.words(text).split(separator: " "))
                #expect(shared.count * 10 >= expected.count * 7, "\(text)")

                // Transcription responses close their connection: ask on a new one.
                let loaded = try await LiveServerTests.ServerConcurrencyTests.send(
                    TestClient.Request("/v1/models/tiny.en-ggml-q5_1", method: .get), port: try #require(client.port))
                let whisper = try #require(try ServerTest.object(loaded)["whisper"] as? [String: Any])
                #expect(whisper["loaded"] as? Bool == true)
                #expect(whisper["parameters"] as? Int ?? 0 > 37_000_000)
            }
        }
    }
}

extension ServerTest {
    /// The models directory when it holds the converted tiny.en models the format tests use.
    static var convertedModels: URL? {
        let models = repositoryRoot.appendingPathComponent("models")
        let needed = ["tiny.en-ggml-q5_1/ggml-model.bin", "tiny.en-ggml-f16/ggml-model.bin", "tiny.en-hf-f16/model.safetensors"]
        return needed.allSatisfy { FileManager.default.fileExists(atPath: models.appendingPathComponent($0).path) } ? models : nil
    }
}
