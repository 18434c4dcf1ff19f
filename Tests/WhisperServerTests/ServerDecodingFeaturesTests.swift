import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import WhisperServer

extension LiveServerTests {
/// `chunking_strategy` (voice activity), `include[]=logprobs`, `temperature`, `prompt`, the hallucination report and
/// the models' capabilities, with the real tiny.en over HTTP on loopback.
@Suite(.enabled(if: ServerTest.realModelsDirectory != nil, "needs models/tiny.en"))
struct ServerDecodingFeaturesTests {
    /// A server on the repository's models directory.
    private var app: some ApplicationProtocol {
        get throws {
            let models = try #require(ServerTest.realModelsDirectory)
            return try buildApplication(configuration: ServerTest.configuration(modelsDirectory: models, timeout: 300), logger: ServerTest.logger)
        }
    }

    /// Where the speech of hello-world.wav is put in the noisy recording, in seconds.
    static let speechOffset = 20.0

    /// hello-world.wav with 20 s of silence before and after, mixed with the noise fixture at a tenth of its level
    /// (made with sox; about 20 dB below the speech), and when its first 10 ms frame above −40 dBFS comes.
    static func speechInNoise() throws -> (wav: [UInt8], speechStart: Double) {
        let fixtures = ServerTest.repositoryRoot.appendingPathComponent("Tests/Fixtures/speech")
        let output = ServerTest.scratch.appendingPathComponent("speech-in-noise-\(UUID().uuidString).wav")
        defer { try? FileManager.default.removeItem(at: output) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sox")
        process.arguments = [
            "-m", "-v", "1", "|sox \(fixtures.path)/hello-world.wav -p pad \(speechOffset) 20",
            "-v", "0.1", "|sox \(fixtures.path)/noise-30s.wav -p repeat 1 trim 0 43.74", output.path,
        ]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let speech = try #require(ServerTest.fixture("hello-world.wav"))
        // 16-bit PCM after the 44-byte header.
        let samples = stride(from: 44, to: speech.count - 1, by: 2).map { Double(Int16(bitPattern: UInt16(speech[$0]) | UInt16(speech[$0 + 1]) << 8)) / 32768 }
        let firstLoud = stride(from: 0, to: samples.count - 160, by: 160).first { start in
            (samples[start..<(start + 160)].map { $0 * $0 }.reduce(0, +) / 160).squareRoot() > 0.01
        } ?? 0
        return (Array(try Data(contentsOf: output)), speechOffset + Double(firstLoud) / 16_000)
    }

    private func post(_ client: some TestClientProtocol, _ body: ByteBuffer, headers: HTTPFields, path: String = "/v1/audio/transcriptions")
        async throws -> TestClient.Response
    {
        let request = TestClient.Request(path, method: .post, headers: headers, body: body)
        return try await LiveServerTests.ServerConcurrencyTests.send(request, port: try #require(client.port), timeout: .seconds(120))
    }

    private func form(_ client: some TestClientProtocol, _ fields: [(String, String)], audio: [UInt8]) async throws -> TestClient.Response {
        try await post(client, ServerTest.form(fields, file: audio), headers: ServerTest.formHeaders)
    }

    @Test func chunkingStrategyTranscribesOnlyTheSpeechAtItsOriginalTime() async throws {
        let (audio, speechStart) = try Self.speechInNoise()
        // tiny.en hears the clip's start differently in noise ("Hello world" or "The World"); the rest must be right.
        let expected = "this is a test on the speech recognition server"
        try await app.test(.live) { client in
            let strategies: [[(String, String)]] = [
                [("chunking_strategy", #"{"type":"server_vad","threshold":0.5,"prefix_padding_ms":300,"silence_duration_ms":500}"#)],
                [("chunking_strategy", "auto")],
                [("chunking_strategy[type]", "server_vad"), ("chunking_strategy[threshold]", "0.4")],
            ]
            for strategy in strategies {
                let response = try await form(client, strategy + [("response_format", "verbose_json")], audio: audio)
                #expect(response.status == .ok)
                let object = try ServerTest.object(response)
                let segments = try #require(object["segments"] as? [[String: Any]])
                let starts = segments.compactMap { $0["start"] as? Double }
                let ends = segments.compactMap { $0["end"] as? Double }
                print("chunking_strategy \(strategy.map(\.1)): speech at \(speechStart) s, segments \(zip(starts, ends).map { "\($0)–\($1)" }): \(object["text"] ?? "")")
                #expect(ServerLiveModelTests.words(object["text"] as? String ?? "").hasSuffix(expected))
                #expect(abs((starts.first ?? 0) - speechStart) < 0.5)
                #expect(starts.allSatisfy { $0 >= speechStart - 0.5 } && ends.allSatisfy { $0 <= Self.speechOffset + 4.2 })
                #expect(abs((object["duration"] as? Double ?? 0) - 43.74) < 0.05)
            }
            let json = #"{"audio":"\#(Data(audio).base64EncodedString())","response_format":"verbose_json","chunking_strategy":{"type":"server_vad","threshold":0.5}}"#
            let response = try await post(client, ByteBuffer(string: json), headers: ServerTest.jsonHeaders)
            #expect(response.status == .ok)
            let object = try ServerTest.object(response)
            #expect(ServerLiveModelTests.words(object["text"] as? String ?? "").hasSuffix(expected))
            let first = try #require((object["segments"] as? [[String: Any]])?.first?["start"] as? Double)
            #expect(abs(first - speechStart) < 0.5)
        }
    }

    /// `whisper-server transcribe --vad`: the same speech found at its place in the noisy recording, from the executable.
    @Test(.enabled(if: ServerBinary.path != nil, "needs the built whisper-server"))
    func transcribeCommandWithVoiceActivity() throws {
        let (audio, speechStart) = try Self.speechInNoise()
        let directory = ServerTest.scratch.appendingPathComponent("vad-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("noisy.wav")
        let output = directory.appendingPathComponent("out.json")
        try Data(audio).write(to: input)
        let models = try #require(ServerTest.realModelsDirectory).path
        let run = try ServerBinary.run([
            "transcribe", "--models-dir", models, "--model", "tiny.en", "--beam-size", "1", "--best-of", "2", "--vad",
            "--vad-threshold", "0.5", "--vad-padding-ms", "300", "--vad-silence-ms", "500", "--format", "verbose_json",
            "--output", output.path, input.path,
        ])
        #expect(run.status == 0, "\(run.text)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: output)) as? [String: Any])
        let segments = try #require(object["segments"] as? [[String: Any]])
        #expect(ServerLiveModelTests.words(object["text"] as? String ?? "").hasSuffix("this is a test on the speech recognition server"))
        #expect(abs((segments.first?["start"] as? Double ?? 0) - speechStart) < 0.5)
        #expect(object["filtered"] as? [Any] != nil)

        for bad in [["--vad-threshold", "1.5"], ["--best-of", "0"], ["--vad-silence-ms", "-1"]] {
            #expect(try ServerBinary.run(["transcribe"] + bad + [input.path]).status != 0, "\(bad)")
        }
    }

    @Test func badChunkingStrategiesAreRefused() async throws {
        let audio = try #require(ServerTest.fixture("hello-world.wav"))
        try await app.test(.live) { client in
            let bad: [(String, String)] = [
                ("chunking_strategy", "manual"),
                ("chunking_strategy", #"{"type":"server_vad","threshold":1.5}"#),
                ("chunking_strategy", #"{"type":"server_vad","silence_duration_ms":-10}"#),
                ("chunking_strategy", #"{"type":"server_vad","prefix_padding_ms":2.5}"#),
                ("chunking_strategy", #"{"type":"client_vad"}"#),
                ("chunking_strategy", #"{"type":"server_vad","threshold":"high"}"#),
                ("chunking_strategy", "{not json"),
                ("chunking_strategy[threshold]", "loud"),
            ]
            for field in bad {
                let response = try await form(client, [field], audio: audio)
                #expect(response.status == .badRequest, "\(field)")
                let error = try ServerTest.error(response)
                #expect(error.param == "chunking_strategy", "\(field): \(error.message)")
            }
            let json = #"{"audio":"\#(Data(audio).base64EncodedString())","chunking_strategy":{"type":"server_vad","threshold":-1}}"#
            let response = try await post(client, ByteBuffer(string: json), headers: ServerTest.jsonHeaders)
            #expect(response.status == .badRequest)
            #expect(try ServerTest.error(response).param == "chunking_strategy")
        }
    }

    @Test func includeLogprobsReturnsOneLogprobPerTextToken() async throws {
        let audio = try #require(ServerTest.fixture("hello-world.wav"))
        try await app.test(.live) { client in
            let response = try await form(client, [("include[]", "logprobs")], audio: audio)
            #expect(response.status == .ok)
            let object = try ServerTest.object(response)
            let text = try #require(object["text"] as? String)
            let logprobs = try #require(object["logprobs"] as? [[String: Any]])
            let values = logprobs.compactMap { $0["logprob"] as? Double }
            #expect(values.count == logprobs.count && values.allSatisfy { $0 <= 0 })
            #expect(logprobs.compactMap { $0["token"] as? String }.joined().trimmingCharacters(in: .whitespaces) == text)
            for entry in logprobs {
                #expect((entry["bytes"] as? [Int]).map { Array($0.map(UInt8.init)) } == Array((entry["token"] as? String ?? "").utf8))
            }

            let verbose = try ServerTest.object(try await form(client, [("response_format", "verbose_json")], audio: audio))
            let segments = try #require(verbose["segments"] as? [[String: Any]])
            let tokens = segments.flatMap { $0["tokens"] as? [Int] ?? [] }
            // tiny.en: ids below 50256 (end of text) are text; the rest are timestamps.
            #expect(values.count == tokens.filter { $0 < 50256 }.count)
            // avg_logprob averages every token of the window (timestamps and end of text too), each at most 0.
            let averages = Set(segments.compactMap { $0["avg_logprob"] as? Double })
            #expect(averages.count == 1)
            let average = try #require(averages.first)
            let windowSum = average * Double(tokens.count + 1)
            print("logprobs: \(values.count) text tokens, sum \(values.reduce(0, +)), avg_logprob \(average) × \(tokens.count + 1) tokens = \(windowSum)")
            #expect(values.reduce(0, +) >= windowSum - 1e-3)
            // …and the timestamps and end of text are likely enough: on average above −5 each.
            #expect(values.reduce(0, +) - windowSum < 5 * Double(tokens.count + 1 - values.count))

            for fields in [[("include[]", "logprobs"), ("response_format", "verbose_json")], [("include[]", "tokens")]] {
                let refused = try await form(client, fields, audio: audio)
                #expect(refused.status == .badRequest)
                #expect(try ServerTest.error(refused).param == "include")
            }
        }
    }

    @Test func temperatureAndPromptReachTheDecoder() async throws {
        let moon = try #require(ServerTest.fixture("moon-landing.wav"))
        try await app.test(.live) { client in
            let plain = try ServerTest.object(try await form(client, [("response_format", "verbose_json")], audio: moon))
            let prompted = try ServerTest.object(
                try await form(client, [("response_format", "verbose_json"), ("prompt", "Neil Armstrong, Apollo 11.")], audio: moon))
            print("prompt over HTTP: '\(plain["text"] ?? "")' → '\(prompted["text"] ?? "")'")
            #expect(!(plain["text"] as? String ?? "").contains("Armstrong"))
            #expect((prompted["text"] as? String ?? "").contains("Armstrong"))
            #expect((plain["segments"] as? [[String: Any]])?.allSatisfy { $0["temperature"] as? Double == 0 } == true)

            let warm = try ServerTest.object(
                try await form(client, [("response_format", "verbose_json"), ("temperature", "0.6")], audio: moon))
            let temperatures = (warm["segments"] as? [[String: Any]] ?? []).compactMap { $0["temperature"] as? Double }
            #expect(!temperatures.isEmpty && temperatures.allSatisfy { $0 >= 0.59 })
        }
    }

    @Test func verboseJSONReportsWhatTheFilterRemoved() async throws {
        let audio = try #require(ServerTest.fixture("hello-world.wav"))
        try await app.test(.live) { client in
            let object = try ServerTest.object(try await form(client, [("response_format", "verbose_json")], audio: audio))
            let filtered = try #require(object["filtered"] as? [Any])
            #expect(filtered.isEmpty)
            #expect(object["text"] as? String == (try ServerLiveModelTests.golden("hello-world")).trimmingCharacters(in: .whitespaces))
        }
    }

    @Test func modelsSayWhatTheyCanDo() async throws {
        let audio = try #require(ServerTest.fixture("hello-world.wav"))
        try await app.test(.live) { client in
            // A transcription makes sure the model is loaded (parameters are known from then on).
            #expect(try await form(client, [("model", "tiny.en")], audio: audio).status == .ok)
            let response = try await client.execute(uri: "/v1/models/tiny.en", method: .get)
            #expect(response.status == .ok)
            let whisper = try #require(try ServerTest.object(response.body)["whisper"] as? [String: Any])
            #expect(whisper["languages"] as? [String] == ["en"])
            #expect(whisper["translate"] as? Bool == false)
            #expect(whisper["multilingual"] as? Bool == false)
            #expect(whisper["word_timestamps"] as? Bool == true)
            #expect(whisper["format"] as? String == "ctranslate2")
            #expect((whisper["size_bytes"] as? Int ?? 0) > 30_000_000)
            #expect((whisper["parameters"] as? Int).map { (30_000_000...45_000_000).contains($0) } == true)
        }
    }
}
}
