import Foundation
import WhisperAudio
import WhisperEngine

/// Paths and shared, lazily loaded resources for the engine tests.
enum TestResources {
    /// The repository root, found from this file's path.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = root.appendingPathComponent("Tests/Fixtures")
    static let modelDirectory = root.appendingPathComponent("models/tiny.en")

    /// tiny.en, loaded once for the whole test run.
    static let model = loadModel()

    /// A fresh tiny.en (its own compute gate).
    static func loadModel() -> WhisperModel {
        do {
            return try WhisperModel.load(directory: modelDirectory)
        } catch {
            fatalError("tiny.en must be fetched first (make model): \(error)")
        }
    }

    /// 16 kHz mono samples of a fixture file.
    static func samples(_ relativePath: String) throws -> [Float] {
        try AudioDecoder().decode(contentsOf: fixtures.appendingPathComponent(relativePath)).samples
    }
}
