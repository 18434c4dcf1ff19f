import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import Testing
import WhisperEngine

@testable import WhisperServer

/// Shared helpers for the server tests: fake models, temporary model directories, WAV and multipart builders.
enum ServerTest {
    /// The repository's root, found from this file's path.
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The real tiny.en model directory, if present.
    static var realModelsDirectory: URL? {
        let directory = repositoryRoot.appendingPathComponent("models")
        let weights = directory.appendingPathComponent("tiny.en/model.bin")
        return FileManager.default.fileExists(atPath: weights.path) ? directory : nil
    }

    /// A committed speech fixture, if present.
    static func fixture(_ name: String) -> [UInt8]? {
        let url = repositoryRoot.appendingPathComponent("Tests/Fixtures/speech/\(name)")
        return FileManager.default.contents(atPath: url.path).map { Array($0) }
    }

    /// Speech synthesised with espeak-ng (a WAV file), or a committed fixture when espeak-ng is missing.
    static func speech(_ text: String, fallback: String = "hello-world.wav") throws -> [UInt8] {
        let directory = ServerTest.scratch.appendingPathComponent("server-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("speech.wav")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/espeak-ng")
        process.arguments = ["-w", output.path, text]
        if (try? process.run()) != nil {
            process.waitUntilExit()
            if process.terminationStatus == 0, let data = FileManager.default.contents(atPath: output.path) { return Array(data) }
        }
        return try #require(fixture(fallback))
    }

    /// One directory per test process for everything the tests write, removed when the process exits.
    static let scratch: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("whisper-server-tests-\(getpid())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(at: ServerTest.scratch) }
        return url
    }()

    /// A models directory with empty `model.bin` files for the given ids (fake models need no weights).
    static func makeModelsDirectory(_ ids: [String] = ["tiny.en", "base"]) throws -> URL {
        let directory = scratch.appendingPathComponent("models-\(UUID().uuidString)")
        for id in ids {
            let model = directory.appendingPathComponent(id)
            try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: model.appendingPathComponent("model.bin").path, contents: Data([0]))
        }
        return directory
    }

    /// A configuration for tests: loopback, any port, the given models directory.
    static func configuration(
        modelsDirectory: URL, workers: Int = 1, queueSize: Int = 4, timeout: Double = 30
    ) -> ServerConfiguration {
        var configuration = ServerConfiguration()
        configuration.http.port = 0
        configuration.models.directory = modelsDirectory.path
        configuration.inference.workers = workers
        configuration.inference.queueSize = queueSize
        configuration.inference.requestTimeout = timeout
        return configuration
    }

    static var logger: Logger {
        var logger = Logger(label: "whisper-server-tests")
        logger.logLevel = .warning
        return logger
    }

    /// An application with fake models.
    static func app(
        _ configuration: ServerConfiguration, loader: FakeModelLoader = FakeModelLoader()
    ) throws -> some ApplicationProtocol {
        try buildApplication(configuration: configuration, dependencies: ServerDependencies(modelLoader: loader), logger: logger)
    }

    /// 16 kHz mono 16-bit PCM WAV of a quiet tone.
    static func wav(seconds: Double, sampleRate: Int = 16_000) -> [UInt8] {
        let count = Int(seconds * Double(sampleRate))
        var bytes: [UInt8] = []
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
        bytes.append(contentsOf: Array("RIFF".utf8))
        append(UInt32(36 + count * 2))
        bytes.append(contentsOf: Array("WAVEfmt ".utf8))
        append(UInt32(16))
        append(UInt16(1))
        append(UInt16(1))
        append(UInt32(sampleRate))
        append(UInt32(sampleRate * 2))
        append(UInt16(2))
        append(UInt16(16))
        bytes.append(contentsOf: Array("data".utf8))
        append(UInt32(count * 2))
        for index in 0..<count {
            let sample = sin(Double(index) * 2 * .pi * 440 / Double(sampleRate)) * 3000
            append(Int16(sample))
        }
        return bytes
    }

    static let boundary = "whisper-test-boundary-7d3f"

    /// A multipart/form-data body with text fields and an optional file.
    static func form(
        _ fields: [(String, String)], file: [UInt8]? = nil, filename: String = "audio.wav", fileField: String = "file"
    ) -> ByteBuffer {
        var buffer = ByteBuffer()
        for (name, value) in fields {
            buffer.writeString("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n")
        }
        if let file {
            buffer.writeString(
                "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(fileField)\"; filename=\"\(filename)\"\r\n"
                    + "Content-Type: application/octet-stream\r\n\r\n"
            )
            buffer.writeBytes(file)
            buffer.writeString("\r\n")
        }
        buffer.writeString("--\(boundary)--\r\n")
        return buffer
    }

    static var formHeaders: HTTPFields { [.contentType: "multipart/form-data; boundary=\(boundary)"] }
    static var jsonHeaders: HTTPFields { [.contentType: "application/json"] }

    /// Decodes an OpenAI error body.
    static func error(_ response: TestResponse) throws -> OpenAIError.ErrorBody.Detail {
        try JSONDecoder().decode(OpenAIError.ErrorBody.self, from: Data(buffer: response.body)).error
    }

    /// Decodes a JSON object body.
    static func object(_ response: TestResponse) throws -> [String: Any] {
        try object(response.body)
    }

    /// Decodes a JSON object body of a live client's response.
    static func object(_ response: TestClient.Response) throws -> [String: Any] {
        try object(response.body ?? ByteBuffer())
    }

    static func object(_ body: ByteBuffer) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any])
    }

    /// Decodes an OpenAI error body of a live client's response.
    static func error(_ response: TestClient.Response) throws -> OpenAIError.ErrorBody.Detail {
        try JSONDecoder().decode(OpenAIError.ErrorBody.self, from: Data(buffer: response.body ?? ByteBuffer())).error
    }
}

/// A model that "transcribes" by sleeping (polling cancellation) and returning fixed segments.
///
/// The prompt steers it: `sleep:2.5` takes 2.5 s, `fail` throws.
struct FakeModel: SpeechModel {
    let capabilities: ModelCapabilities
    let counters: FakeCounters
    var defaultDelay: Double = 0

    func transcribe(
        _ samples: [Float], options: TranscriptionOptions, isCancelled: () -> Bool, onSegment: (Segment) -> Void
    ) throws(TranscriptionError) -> Transcript {
        counters.started.add(1, ordering: .relaxed)
        var delay = defaultDelay
        if let prompt = options.initialPrompt, prompt.hasPrefix("sleep:") { delay = Double(prompt.dropFirst(6)) ?? 0 }
        let end = ContinuousClock.now + .seconds(delay)
        let duration = Double(samples.count) / 16_000
        var segments: [Segment] = []
        let texts = [" Hello from the fake model.", " Second segment."]
        for (index, text) in texts.enumerated() {
            while ContinuousClock.now < end - .seconds(delay / 2 * Double(texts.count - 1 - index)) {
                if isCancelled() {
                    counters.cancelled.add(1, ordering: .relaxed)
                    throw TranscriptionError(.cancelled, "cancelled")
                }
                Thread.sleep(forTimeInterval: 0.01)
            }
            let segment = Segment(
                id: index, seek: 0, start: duration * Double(index) / 2, end: duration * Double(index + 1) / 2, text: text,
                tokens: [1, 2, 3], temperature: options.temperatures.first ?? 0, avgLogprob: -0.2, compressionRatio: 1.1,
                noSpeechProb: 0.01
            )
            onSegment(segment)
            segments.append(segment)
        }
        counters.finished.add(1, ordering: .relaxed)
        return Transcript(task: options.task, language: options.language ?? "en", duration: duration, segments: segments)
    }
}

/// Counts what fake models did, across threads.
final class FakeCounters: Sendable {
    let loads = Atomic<Int>(0)
    let started = Atomic<Int>(0)
    let finished = Atomic<Int>(0)
    let cancelled = Atomic<Int>(0)
}

/// Loads fake models: ids ending in `.en` are English-only, `broken` fails to load.
struct FakeModelLoader: SpeechModelLoading {
    let counters = FakeCounters()
    var loadDelay: Double = 0
    var defaultDelay: Double = 0

    func load(directory: URL, logger: Logger) throws(ModelLoadingError) -> any SpeechModel {
        counters.loads.add(1, ordering: .relaxed)
        if loadDelay > 0 { Thread.sleep(forTimeInterval: loadDelay) }
        let name = directory.lastPathComponent
        if name == "broken" { throw ModelLoadingError(.corrupt, "model.bin: truncated header") }
        let multilingual = !name.hasSuffix(".en")
        return FakeModel(
            capabilities: ModelCapabilities(format: "fake", isMultilingual: multilingual, canTranslate: multilingual),
            counters: counters, defaultDelay: defaultDelay
        )
    }
}
