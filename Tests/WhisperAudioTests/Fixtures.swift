import Foundation
import WhisperAudio

/// Audio fixtures generated at test time with the `espeak-ng` and `ffmpeg` command-line tools into a
/// temporary directory: a synthesized speech clip, low-passed at 3.6 kHz so that every sample rate down to
/// 8 kHz carries the same content, and its 16 kHz mono Float32 reference as the `ffmpeg` tool decodes it.
enum Fixtures {
    struct ToolFailure: Error, CustomStringConvertible {
        let description: String
    }

    /// The directory everything is generated into; created once per test process, removed when it exits.
    static let directory: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("whisper-audio-tests-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(at: Fixtures.directory) }
        return url
    }()

    /// The speech clip all fixtures are made from: 48 kHz mono Float32 WAV.
    static let source: Result<URL, ToolFailure> = Result {
        let speech = directory.appendingPathComponent("espeak.wav")
        try run("espeak-ng", ["-w", speech.path, "The quick brown fox jumps over the lazy dog. Whisper decodes audio from memory."])
        let source = directory.appendingPathComponent("source.wav")
        try ffmpeg(["-i", speech.path, "-af", "lowpass=f=3600,lowpass=f=3600", "-ar", "48000", "-c:a", "pcm_f32le", source.path])
        return source
    }.mapError { $0 as? ToolFailure ?? ToolFailure(description: "\($0)") }

    /// The source decoded by the `ffmpeg` tool to 16 kHz mono Float32.
    static let reference: Result<[Float], ToolFailure> = Result {
        let raw = directory.appendingPathComponent("reference.f32")
        try ffmpeg(["-i", try source.get().path, "-ar", "16000", "-ac", "1", "-f", "f32le", raw.path])
        return try Data(contentsOf: raw).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }.mapError { $0 as? ToolFailure ?? ToolFailure(description: "\($0)") }

    /// Encodes the source with `ffmpeg`: `options` come after the source input, the output gets `fileExtension`.
    /// - Parameter extraInputs: Inputs added after the source (for example a `lavfi` video), so the source stays input 0.
    static func make(_ fileExtension: String, extraInputs: [String] = [], _ options: [String]) throws -> URL {
        let output = directory.appendingPathComponent("\(UUID().uuidString).\(fileExtension)")
        try ffmpeg(["-i", try source.get().path] + extraInputs + options + [output.path])
        return output
    }

    /// Runs `ffmpeg` quietly, overwriting outputs.
    static func ffmpeg(_ arguments: [String]) throws {
        try run("ffmpeg", ["-nostdin", "-hide_banner", "-loglevel", "error", "-y"] + arguments)
    }

    static func bytes(_ url: URL) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: url))
    }

    private static func run(_ tool: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ToolFailure(description: "\(tool) \(arguments.joined(separator: " ")): \(String(decoding: message, as: UTF8.self))")
        }
    }
}
