import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import WhisperServer

/// Uploads that cost the server far more than their size (issue 24: long audio, video tracks, long prompts), sent over
/// HTTP on loopback to the built executable with the real tiny.en model, whose peak memory is read from `/proc`.
enum ResourceProbe {
    /// Runs the ffmpeg tool; `false` when it is missing or fails.
    static func ffmpeg(_ arguments: [String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        process.arguments = ["-nostdin", "-hide_banner", "-loglevel", "error", "-y"] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    /// A file written by ffmpeg into the tests' scratch directory, read back.
    static func generated(_ name: String, _ arguments: [String]) throws -> [UInt8] {
        let url = ServerTest.scratch.appendingPathComponent("\(UUID().uuidString)-\(name)")
        defer { try? FileManager.default.removeItem(at: url) }
        try #require(ffmpeg(arguments + [url.path]), "ffmpeg could not write \(name)")
        return Array(try Data(contentsOf: url))
    }

    /// A field of `/proc/PID/status` in bytes (`VmRSS`, `VmHWM`).
    static func memory(_ field: String, of pid: Int32) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix(field + ":") } ?? ""
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
    }

    /// Resets the process's peak resident size to its current one (Linux `clear_refs` 5).
    static func resetPeak(of pid: Int32) {
        try? "5".write(toFile: "/proc/\(pid)/clear_refs", atomically: false, encoding: .utf8)
    }

    /// Posts `audio` as OpenAI's form; returns the response and the seconds it took.
    static func transcribe(
        _ audio: [UInt8], fields: [(String, String)] = [("model", "whisper-1")], filename: String = "audio.bin", port: Int
    ) async throws -> (response: TestClient.Response, seconds: Double) {
        let request = TestClient.Request(
            "/v1/audio/transcriptions", method: .post, headers: ServerTest.formHeaders,
            body: ServerTest.form(fields, file: audio, filename: filename)
        )
        let start = ContinuousClock.now
        let response = try await LiveServerTests.ServerConcurrencyTests.send(request, port: port, timeout: .seconds(600))
        return (response, (ContinuousClock.now - start).seconds)
    }

    /// Starts the executable with tiny.en loaded and one request of `warmUp` served, so that what follows measures only
    /// itself (no rate limits, and a decode timeout that a loaded machine cannot reach).
    static func warmServer(warmUp: [UInt8], _ extra: [String] = []) async throws -> ServerBinary.Running {
        let server = try await ServerBinary.serve(
            ["--models-dir", ServerTest.repositoryRoot.appendingPathComponent("models").path, "--preload", "--workers", "1",
             "--rate-limit-requests", "0", "--rate-limit-audio-seconds", "0", "--decode-timeout", "600"] + extra
        )
        let served = try await transcribe(warmUp, port: server.port)
        #expect(served.response.status == .ok)
        return server
    }

    /// Uploads `file` to a fresh server warmed up with `warmUp`; returns the response, the seconds it took and how far
    /// the server's peak resident memory rose above its resident memory before the upload.
    static func peakGrowth(
        uploading file: [UInt8], filename: String, warmUp: [UInt8]
    ) async throws -> (response: TestClient.Response, seconds: Double, growth: Int) {
        let server = try await warmServer(warmUp: warmUp)
        defer { server.process.terminate() }
        let pid = server.process.processIdentifier
        let idle = memory("VmRSS", of: pid)
        resetPeak(of: pid)
        let (response, seconds) = try await transcribe(file, filename: filename, port: server.port)
        return (response, seconds, memory("VmHWM", of: pid) - idle)
    }
}

extension LiveServerTests {
@Suite(
    .enabled(if: ServerBinary.path != nil, "needs the built whisper-server executable"),
    .enabled(if: ServerTest.realModelsDirectory != nil, "needs models/tiny.en"),
    .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/ffmpeg"), "needs ffmpeg")
)
struct HardeningResourceTests {
    /// A container whose video track is costly to decode (frames of tens of megapixels) and whose audio is the warm-up's
    /// speech: the audio is transcribed and no video frame is decoded, so the server's peak memory barely moves.
    @Test(.timeLimit(.minutes(10)), arguments: ["mp4", "mkv"])
    func videoTracksAreNeverDecoded(container: String) async throws {
        let inputs = [
            "-f", "lavfi", "-i", "color=c=gray:size=\(container == "mp4" ? "8192x4320:rate=5" : "8192x8192:rate=1"):duration=2",
            "-i", ServerTest.repositoryRoot.appendingPathComponent("Tests/Fixtures/speech/hello-world.wav").path,
        ]
        let codecs = container == "mp4" ? ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"] : ["-c:v", "png", "-c:a", "flac"]
        let file = try ResourceProbe.generated("video.\(container)", inputs + codecs)
        // The same audio without the video track warms the server up: the difference is the video track's cost.
        let audioOnly = try ResourceProbe.generated("audio.\(container)", Array(inputs[4...]) + Array(codecs[(codecs.count - 2)...]))
        let (response, seconds, growth) = try await ResourceProbe.peakGrowth(
            uploading: file, filename: "video.\(container)", warmUp: audioOnly
        )
        #expect(response.status == .ok, "\(String(buffer: response.body ?? ByteBuffer()))")
        #expect(growth < 48 << 20, "the peak grew by \(growth >> 20) MiB for a \(file.count >> 10) KiB \(container) in \(seconds) s")
    }

    /// Two hours of Opus: the spectrogram is computed window by window, so beyond the decoded samples themselves the
    /// server's peak grows by no more than a bounded amount.
    @Test(.timeLimit(.minutes(20)))
    func twoHoursOfOpusCostTheirSamplesAndABoundedRest() async throws {
        let seconds = 7_190.0
        let file = try ResourceProbe.generated(
            "long.opus",
            ["-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", String(seconds), "-c:a", "libopus", "-b:a", "6k",
             "-compression_level", "0", "-frame_duration", "60", "-f", "ogg"]
        )
        let (response, elapsed, growth) = try await ResourceProbe.peakGrowth(
            uploading: file, filename: "long.opus", warmUp: try #require(ServerTest.fixture("hello-world.wav"))
        )
        #expect(response.status == .ok, "\(String(buffer: response.body ?? ByteBuffer()))")
        let samples = Int(seconds) * 16_000 * MemoryLayout<Float>.size
        #expect(growth - samples < 150 << 20, "the peak grew by \(growth >> 20) MiB (samples \(samples >> 20) MiB) in \(elapsed) s")
    }

    /// A 16 KiB prompt of one word costs no more than a 16 KiB prompt of ordinary words: the decoder keeps only the
    /// prompt's last tokens, and only those are tokenized.
    @Test(.timeLimit(.minutes(10)))
    func aLongOneWordPromptCostsNoMoreThanANormalOne() async throws {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let letters = Array("abcdefghijklmnopqrstuvwxyz")
        let word = String((0..<16 * 1024).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return letters[Int(state >> 33) % letters.count]
        })
        let sentence = "The lighthouse keeper wrote the weather in his log every evening. "
        let normal = String(String(repeating: sentence, count: 16 * 1024 / sentence.utf8.count + 1).utf8.prefix(16 * 1024))!
        let audio = try #require(ServerTest.fixture("hello-world.wav"))
        let server = try await ResourceProbe.warmServer(warmUp: audio)
        defer { server.process.terminate() }
        let usual = try await ResourceProbe.transcribe(audio, fields: [("model", "whisper-1"), ("prompt", normal)], port: server.port)
        let oneWord = try await ResourceProbe.transcribe(audio, fields: [("model", "whisper-1"), ("prompt", word)], port: server.port)
        #expect(usual.response.status == .ok)
        #expect(oneWord.response.status == .ok, "\(String(buffer: oneWord.response.body ?? ByteBuffer()))")
        #expect(oneWord.seconds < 2 * usual.seconds + 2, "one word: \(oneWord.seconds) s, ordinary words: \(usual.seconds) s")
    }
}
}
