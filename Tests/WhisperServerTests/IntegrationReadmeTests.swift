import Foundation
import HummingbirdTesting
import Testing

@testable import WhisperServer

extension LiveServerTests {
/// Runs every ```sh block of README.md whose first line is `# readme-example` against a live server with tiny.en.
@Suite(.enabled(if: ServerTest.realModelsDirectory != nil && FileManager.default.isExecutableFile(atPath: "/usr/bin/curl"), "needs models/tiny.en and curl"))
struct IntegrationReadmeTests {
    /// The marked blocks of a Markdown text.
    static func examples(in markdown: String) -> [String] {
        var blocks: [String] = []
        var current: [Substring]?
        for line in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
            if current == nil, line.trimmingCharacters(in: .whitespaces) == "```sh" {
                current = []
            } else if current != nil, line.trimmingCharacters(in: .whitespaces) == "```" {
                if let block = current, block.first?.trimmingCharacters(in: .whitespaces) == "# readme-example" {
                    blocks.append(block.joined(separator: "\n"))
                }
                current = nil
            } else {
                current?.append(line)
            }
        }
        return blocks
    }

    /// Runs a shell script in the repository's root; returns its exit status and output.
    static func run(_ script: String) async throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-euo", "pipefail", "-c", script]
        process.currentDirectoryURL = ServerTest.repositoryRoot
        let output = ServerTest.scratch.appendingPathComponent("readme-\(UUID().uuidString).out")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
        try handle.close()
        return (status, (try? String(contentsOf: output, encoding: .utf8)) ?? "")
    }

    @Test func examplesAreFound() throws {
        let readme = try String(contentsOf: ServerTest.repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let examples = Self.examples(in: readme)
        #expect(examples.count >= 6)
        for path in ["/v1/audio/transcriptions", "/v1/audio/translations", "/v1/chat/completions", "/v1/models", "/health", "/ready", "/metrics"] {
            #expect(examples.contains { $0.contains(path) }, "\(path)")
        }
    }

    @Test(.timeLimit(.minutes(5))) func readmeCurlExamplesRunAgainstALiveServer() async throws {
        let readme = try String(contentsOf: ServerTest.repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let models = try #require(ServerTest.realModelsDirectory)
        let hasBase = FileManager.default.fileExists(atPath: models.appendingPathComponent("base/model.bin").path)
        var configuration = ServerTest.configuration(modelsDirectory: models, timeout: 120)
        configuration.models.preload = true
        let app = try buildApplication(configuration: configuration, logger: ServerTest.logger)
        try await app.test(.live) { client in
            let port = try #require(client.port)
            for _ in 0..<300 {
                if try await ServerBinary.get("/ready", port: port).status == .ok { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            for example in Self.examples(in: readme) {
                if example.contains("model=base"), !hasBase { continue }
                let script = example.replacingOccurrences(of: "localhost:8084", with: "127.0.0.1:\(port)")
                let (status, output) = try await Self.run(script)
                #expect(status == 0, "\(example)\n→ \(output)")
            }
        }
    }
}
}
