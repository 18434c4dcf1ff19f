import Foundation
import Testing

@testable import WhisperServer

extension LiveServerTests {
/// The original server's environment variables driving the built `whisper-server serve` on loopback, with no option
/// and none of our variables: host, port, upload limit, CORS origins, trusted hosts, log level and rate limit.
@Suite(.enabled(
    if: ServerBinary.path != nil && ServerTest.realModelsDirectory != nil && FileManager.default.isExecutableFile(atPath: "/usr/bin/curl"),
    "needs the built whisper-server executable, models/tiny.en and curl"))
struct IntegrationOriginalEnvironmentTests {
    /// One curl exchange: status, lower-cased response headers, body.
    struct Exchange {
        let status: Int
        let headers: [String: String]
        let body: String
    }

    /// Runs curl against `url` with extra arguments; a refused connection gives status 0.
    static func curl(_ url: String, _ arguments: [String] = []) throws -> Exchange {
        let directory = ServerTest.scratch.appendingPathComponent("curl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let headers = directory.appendingPathComponent("headers").path
        let body = directory.appendingPathComponent("body").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-s", "-o", body, "-D", headers, "-w", "%{http_code}", "--max-time", "30"] + arguments + [url]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let status = Int(String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)) ?? 0
        process.waitUntilExit()
        var fields: [String: String] = [:]
        for line in ((try? String(contentsOfFile: headers, encoding: .utf8)) ?? "").split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Exchange(status: status, headers: fields, body: (try? String(contentsOfFile: body, encoding: .utf8)) ?? "")
    }

    /// Seconds in OpenAI's reset format: `250ms`, `1.5s`, `6m0s`, `1h2m3s`.
    static func seconds(_ text: String) -> Double {
        var total = 0.0
        var number = ""
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if character.isNumber || character == "." {
                number.append(character)
            } else if text[index...].hasPrefix("ms") {
                total += (Double(number) ?? 0) / 1000
                number = ""
                index = text.index(after: index)
            } else {
                total += (Double(number) ?? 0) * (character == "h" ? 3600 : character == "m" ? 60 : 1)
                number = ""
            }
            index = text.index(after: index)
        }
        return total
    }

    /// Starts `serve` with only `environment` (plus the models directory) and waits until `/health` answers at `host`.
    static func serve(_ environment: [String: String], host: String, port: Int) async throws -> ServerBinary.Running {
        let output = ServerTest.scratch.appendingPathComponent("server-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        let models = try #require(ServerTest.realModelsDirectory).path
        let process = try ServerBinary.process(["serve"], environment: environment.merging(["WHISPER_MODELS_DIR": models]) { a, _ in a })
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let running = ServerBinary.Running(process: process, output: output, port: port)
        for _ in 0..<300 {
            if !process.isRunning { break }
            if try curl("http://\(host):\(port)/health").status == 200 { return running }
            try await Task.sleep(for: .milliseconds(100))
        }
        process.terminate()
        Issue.record("the server did not answer: \(running.log)")
        throw CancellationError()
    }

    @Test(.timeLimit(.minutes(3))) func originalVariablesDriveAServer() async throws {
        let port = try ServerBinary.freePort()
        let server = try await Self.serve(
            [
                "WHISPER_SERVER_HOST": "127.0.0.2", "WHISPER_SERVER_PORT": String(port), "MAX_AUDIO_FILE_SIZE_MB": "0.05",
                "ALLOWED_ORIGINS": "http://journal.example.com", "ALLOWED_HOSTS": "stt.example.com,127.0.0.2",
                "LOG_LEVEL": "DEBUG", "RATE_LIMIT_REQUESTS": "3", "RATE_LIMIT_WINDOW": "1 minute", "WHISPER_LOG_FORMAT": "json",
            ], host: "127.0.0.2", port: port)
        defer { server.process.terminate() }
        let base = "http://127.0.0.2:\(port)"

        // Host and port: listening on 127.0.0.2 only.
        #expect(try Self.curl("http://127.0.0.1:\(port)/health").status == 0)

        // Trusted hosts: the list replaces the default one, so `localhost` is refused; host checks come before the rate limit.
        #expect(try Self.curl("\(base)/v1/models", ["-H", "Host: localhost"]).status == 400)
        let allowed = try Self.curl("\(base)/v1/models", ["-H", "Host: stt.example.com"])
        #expect(allowed.status == 200)

        // Rate limit: three requests per minute.
        #expect(allowed.headers["x-ratelimit-limit-requests"] == "3")
        let reset = try #require(allowed.headers["x-ratelimit-reset-requests"])
        #expect(Self.seconds(reset) > 5, "a one-minute window shared by three requests: \(reset)")

        // CORS origins: the allowed origin's preflight passes, another is refused (preflights are not counted).
        let preflight = ["-X", "OPTIONS", "-H", "Access-Control-Request-Method: POST"]
        let journal = try Self.curl("\(base)/v1/audio/transcriptions", preflight + ["-H", "Origin: http://journal.example.com"])
        #expect(journal.status == 204)
        #expect(journal.headers["access-control-allow-origin"] == "http://journal.example.com")
        #expect(try Self.curl("\(base)/v1/audio/transcriptions", preflight + ["-H", "Origin: http://evil.example.com"]).status == 403)

        // Upload limit: 0.05 MiB, shown as such.
        let body = ServerTest.scratch.appendingPathComponent("big-\(UUID().uuidString).json")
        try Data((#"{"audio":""# + Data(ServerTest.wav(seconds: 3)).base64EncodedString() + #""}"#).utf8).write(to: body)
        let big = try Self.curl("\(base)/v1/audio/transcriptions", ["-H", "Content-Type: application/json", "--data-binary", "@\(body.path)"])
        #expect(big.status == 413)
        #expect(big.body.contains("too large") && big.body.contains("0.05 MiB"), "\(big.body)")

        #expect(try Self.curl("\(base)/v1/models").status == 200)
        let limited = try Self.curl("\(base)/v1/models")
        #expect(limited.status == 429, "the fourth request in the window")

        // Log level and the start-up lines naming each original variable read.
        let lines = server.log.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let read = Set(lines.compactMap { $0["config.legacy_variable"] as? String })
        #expect(read == [
            "WHISPER_SERVER_HOST", "WHISPER_SERVER_PORT", "MAX_AUDIO_FILE_SIZE_MB", "ALLOWED_ORIGINS", "ALLOWED_HOSTS", "LOG_LEVEL",
            "RATE_LIMIT_REQUESTS", "RATE_LIMIT_WINDOW",
        ], "\(server.log)")
        #expect(lines.contains { $0["message"] as? String == "starting" })

        // LOG_LEVEL=ERROR: the same start-up says nothing; ours wins over the original's port.
        let quietPort = try ServerBinary.freePort()
        let quiet = try await Self.serve(
            ["LOG_LEVEL": "ERROR", "WHISPER_SERVER_PORT": "1", "WHISPER_PORT": String(quietPort), "WHISPER_LOG_FORMAT": "json"],
            host: "127.0.0.1", port: quietPort)
        defer { quiet.process.terminate() }
        #expect(try Self.curl("http://127.0.0.1:\(quietPort)/v1/models").status == 200)
        #expect(!quiet.log.contains("\"starting\""), "\(quiet.log)")
    }

    /// test_invalid_port: 70000 is refused at start, naming the port, whichever name set it.
    @Test func portOutOfRangeIsRefusedAtStart() throws {
        let models = try #require(ServerTest.realModelsDirectory).path
        for environment in [["WHISPER_SERVER_PORT": "70000"], ["WHISPER_PORT": "70000"]] {
            let (status, stderr) = try ServerBinary.run(["serve", "--models-dir", models], environment: environment)
            #expect(status == 2)
            #expect(stderr.contains("port 70000 is out of range"), "\(stderr)")
        }
        let (status, stderr) = try ServerBinary.run(
            ["serve", "--models-dir", models], environment: ["RATE_LIMIT_WINDOW": "a while", "LOG_LEVEL": "chatty"])
        #expect(status == 2)
        #expect(stderr.contains("RATE_LIMIT_WINDOW: 'a while'") && stderr.contains("LOG_LEVEL: 'chatty'"), "\(stderr)")
    }
}
}
