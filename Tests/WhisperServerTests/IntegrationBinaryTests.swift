import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import WhisperServer

/// The built `whisper-server` executable: start-up validation exit codes and graceful shutdown on SIGTERM.
enum ServerBinary {
    /// The executable next to the test runner (same build), or `WHISPER_SERVER_BIN`.
    static var path: String? {
        if let path = ProcessInfo.processInfo.environment["WHISPER_SERVER_BIN"] { return path }
        let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        var candidates = [runner.appendingPathComponent("whisper-server").path]
        for scratch in [".build-int", ".build"] {
            candidates.append(ServerTest.repositoryRoot.appendingPathComponent("\(scratch)/release/whisper-server").path)
        }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// A running server process and where its output goes.
    struct Running {
        let process: Process
        let output: URL
        let port: Int
        var log: String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }
    }

    /// A process of the executable with a minimal environment.
    static func process(_ arguments: [String], environment: [String: String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(path))
        process.arguments = arguments
        process.environment = environment.merging(["PATH": "/usr/bin:/bin"]) { a, _ in a }
        return process
    }

    /// Runs the executable to completion and returns its exit status and standard error, or with `capturesOutput` its
    /// standard output.
    static func run(_ arguments: [String], environment: [String: String] = [:], capturesOutput: Bool = false) throws
        -> (status: Int32, text: String)
    {
        let process = try process(arguments, environment: environment)
        let captured = Pipe()
        process.standardError = capturesOutput ? FileHandle.nullDevice : captured
        process.standardOutput = capturesOutput ? captured : FileHandle.nullDevice
        try process.run()
        let data = captured.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// A free TCP port on loopback.
    static func freePort() throws -> Int {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
        }
        try #require(bound)
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Starts `serve` on a free port and waits until `/ready` answers 200.
    static func serve(_ arguments: [String], environment: [String: String] = [:]) async throws -> Running {
        let port = try freePort()
        let output = ServerTest.scratch.appendingPathComponent("server-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        let process = try process(["serve", "--host", "127.0.0.1", "--port", String(port)] + arguments, environment: environment)
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let running = Running(process: process, output: output, port: port)
        for _ in 0..<600 {
            if !process.isRunning { Issue.record("server exited: \(running.log)"); break }
            if let response = try? await get("/ready", port: port), response.status == .ok { return running }
            try await Task.sleep(for: .milliseconds(100))
        }
        process.terminate()
        throw CancellationError()
    }

    static func get(_ path: String, port: Int) async throws -> TestClient.Response {
        try await LiveServerTests.ServerConcurrencyTests.send(TestClient.Request(path, method: .get), port: port, timeout: .seconds(10))
    }
}

extension LiveServerTests {
@Suite(.enabled(if: ServerBinary.path != nil, "needs the built whisper-server executable"))
struct IntegrationBinaryTests {
    @Test func invalidConfigurationExitsTwoListingEveryProblem() throws {
        let file = try IntegrationConfigurationTests.temporaryFile(
            #"{"port": 70000, "log_level": "chatty", "cors_origins": ["not-an-origin"]}"#
        )
        let (status, stderr) = try ServerBinary.run(["serve", "--config", file, "--models-dir", "/nonexistent/models"])
        #expect(status == 2, "\(stderr)")
        #expect(stderr.contains("Invalid configuration (4 problems)"), "\(stderr)")
        for word in ["70000", "chatty", "not-an-origin", "/nonexistent/models"] { #expect(stderr.contains(word), "\(word): \(stderr)") }
    }

    /// `serve --help` lists every option of the settings table; `settings --markdown` prints the docs' table; an
    /// unknown option is a configuration problem like any other (exit 2).
    @Test func helpAndSettingsComeFromTheTable() throws {
        let (helpStatus, help) = try ServerBinary.run(["serve", "--help"], capturesOutput: true)
        #expect(helpStatus == 0)
        for setting in [ServerConfiguration.configFileSetting] + ServerConfiguration.settings {
            if let flag = setting.flag { #expect(help.contains(flag), "\(flag)") }
            #expect(help.contains(setting.environment), "\(setting.environment)")
        }
        let (status, markdown) = try ServerBinary.run(["settings", "--markdown"], capturesOutput: true)
        #expect(status == 0)
        #expect(markdown == ServerConfiguration.settingsMarkdown)
        let (unknownStatus, stderr) = try ServerBinary.run(["serve", "--colour", "blue", "--port", "70000"])
        #expect(unknownStatus == 2)
        #expect(stderr.contains("--colour: unknown option"), "\(stderr)")
        #expect(stderr.contains("port 70000 is out of range"), "\(stderr)")
    }

    @Test func secureDefaultRefusalExitsTwo() throws {
        let models = ServerTest.repositoryRoot.appendingPathComponent("models").path
        let (status, stderr) = try ServerBinary.run(["serve", "--host", "0.0.0.0", "--models-dir", models, "--default-model", "tiny.en"])
        #expect(status == 2)
        #expect(stderr.contains("Refusing to start"), "\(stderr)")
        #expect(stderr.contains("--allow-unauthenticated"))
    }

    /// The executable re-executes itself with OpenBLAS's kernel type, a short OpenBLAS thread spin, sleeping OpenMP
    /// threads and two malloc arenas when they are unset (all are read when the libraries load), and keeps an
    /// operator's own values.
    @Test(.enabled(if: ServerTest.realModelsDirectory != nil, "needs models/tiny.en"), .timeLimit(.minutes(3)))
    func matrixLibraryDefaultsAreSetUnlessGiven() async throws {
        func environment(of server: ServerBinary.Running) throws -> [String] {
            let data = try Data(contentsOf: URL(fileURLWithPath: "/proc/\(server.process.processIdentifier)/environ"))
            return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        }
        let models = ServerTest.repositoryRoot.appendingPathComponent("models").path
        let defaults = try await ServerBinary.serve(["--models-dir", models, "--preload"])
        defer { defaults.process.terminate() }
        let chosen = try environment(of: defaults)
        #expect(chosen.contains("OPENBLAS_THREAD_TIMEOUT=4"))
        #expect(chosen.contains("OPENBLAS_CORETYPE=Haswell"))
        #expect(chosen.contains("OMP_WAIT_POLICY=PASSIVE"))
        #expect(chosen.contains("MALLOC_ARENA_MAX=2"))

        let own = try await ServerBinary.serve(
            ["--models-dir", models, "--preload"], environment: ["OPENBLAS_THREAD_TIMEOUT": "20", "OPENBLAS_CORETYPE": "Sandybridge", "OMP_WAIT_POLICY": "ACTIVE"])
        defer { own.process.terminate() }
        let kept = try environment(of: own)
        #expect(kept.contains("OPENBLAS_THREAD_TIMEOUT=20"))
        #expect(kept.contains("OPENBLAS_CORETYPE=Sandybridge"))
        #expect(kept.contains("OMP_WAIT_POLICY=ACTIVE"))
    }

    /// `whisper-server bench --json` on a real clip: the transcript, per-run figures, and the encoder timed against
    /// `sgemm` in alternating rounds (best no slower than median, throughput consistent with the window's operations).
    @Test(.enabled(if: ServerTest.realModelsDirectory != nil, "needs models/tiny.en"), .timeLimit(.minutes(3)))
    func benchReportsTheEncoderAgainstSgemmAndEachRun() throws {
        let clip = ServerTest.repositoryRoot.appendingPathComponent("Tests/Fixtures/speech/lighthouse.wav")
        try #require(FileManager.default.fileExists(atPath: clip.path))
        let (status, output) = try ServerBinary.run(
            ["bench", clip.path, "--models-dir", ServerTest.repositoryRoot.appendingPathComponent("models").path, "--runs", "2",
             "--encoder-rounds", "3", "--json"],
            capturesOutput: true)
        #expect(status == 0)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        let runs = try #require(report["files"] as? [[String: Any]])
        #expect(runs.count == 2)
        for run in runs {
            #expect((run["text"] as? String ?? "").lowercased().contains("lighthouse"))
            #expect((run["encoded_windows"] as? Int ?? 0) >= 1)
        }
        let gflop = try #require(report["encoder_gflop_per_window"] as? Double)
        #expect(gflop > 30 && gflop < 45, "tiny.en's encoder is about 37 GFLOP per window")
        let comparison = try #require(report["encoder_vs_sgemm"] as? [String: Any])
        #expect(comparison["rounds"] as? Int == 3)
        let (best, median) = (try #require(comparison["encoder_ms_best"] as? Double), try #require(comparison["encoder_ms_median"] as? Double))
        #expect(best > 0 && best <= median)
        let bestThroughput = try #require(comparison["encoder_gflops_best"] as? Double)
        #expect(abs(bestThroughput - gflop / (best / 1000)) < 0.01 * bestThroughput)
        let share = try #require(comparison["share_of_best"] as? Double)
        #expect(share > 0.05 && share < 2, "the encoder's share of sgemm's throughput: \(share)")
        #expect((comparison["sgemm_gflops_median"] as? Double ?? 0) <= (comparison["sgemm_gflops_best"] as? Double ?? 0))
    }

    @Test(.enabled(if: ServerTest.realModelsDirectory != nil, "needs models/tiny.en"), .timeLimit(.minutes(5)))
    func sigtermLetsTheRequestInFlightFinishThenExitsZero() async throws {
        let audio = try #require(ServerTest.fixture("lighthouse.wav"))
        let server = try await ServerBinary.serve([
            "--models-dir", ServerTest.repositoryRoot.appendingPathComponent("models").path, "--preload", "--log-format", "json",
            "--shutdown-grace-seconds", "120",
        ])
        defer { if server.process.isRunning { server.process.terminate() } }
        let port = server.port
        let request = TestClient.Request(
            "/v1/audio/transcriptions", method: .post,
            headers: [.contentType: "multipart/form-data; boundary=\(ServerTest.boundary)", HTTPField.Name("X-Request-ID")!: "in-flight-1"],
            body: ServerTest.form([("model", "whisper-1")], file: audio)
        )
        let inFlight = Task { try await LiveServerTests.ServerConcurrencyTests.send(request, port: port, timeout: .seconds(240)) }
        // Wait until the job is on a worker.
        var running = false
        for _ in 0..<200 where !running {
            let ready = try await ServerBinary.get("/ready", port: port)
            running = (try? ServerTest.object(ready)["running"] as? Int) == 1
            if !running { try await Task.sleep(for: .milliseconds(20)) }
        }
        try #require(running, "the transcription never started")
        kill(server.process.processIdentifier, SIGTERM)
        try await Task.sleep(for: .milliseconds(500))
        await #expect(throws: (any Error).self, "new connections are refused during shutdown") {
            _ = try await ServerBinary.get("/health", port: port)
        }
        let response = try await inFlight.value
        #expect(response.status == .ok)
        let text = try #require(try ServerTest.object(response)["text"] as? String)
        #expect(text.lowercased().contains("lighthouse"), "\(text)")
        for _ in 0..<300 where server.process.isRunning { try await Task.sleep(for: .milliseconds(100)) }
        #expect(!server.process.isRunning)
        #expect(server.process.terminationStatus == 0, "\(server.log)")
        let lines = server.log.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let completed = try #require(lines.first { $0["request.id"] as? String == "in-flight-1" && $0["message"] as? String == "request completed" })
        #expect(completed["http.status"] as? Int == 200)
        #expect(completed["model"] as? String == "tiny.en")
        #expect((completed["audio_seconds"] as? Double ?? 0) > 10)
    }
}
}
