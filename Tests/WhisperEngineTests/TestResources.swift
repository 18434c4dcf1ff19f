import Foundation
import WhisperAudio
import WhisperEngine

/// Paths and shared, lazily loaded resources for the engine tests.
enum TestResources {
    /// The repository root, found from this file's path.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = root.appendingPathComponent("Tests/Fixtures")
    static let modelDirectory = root.appendingPathComponent("models/tiny.en")
    /// Whether tiny.en has been fetched (`make model`); suites that need it are skipped with that reason otherwise.
    static let hasTinyEn = FileManager.default.fileExists(atPath: modelDirectory.appendingPathComponent("model.bin").path)
    /// Whether the multilingual base model has been fetched (`make model-base`).
    static let hasBase = FileManager.default.fileExists(atPath: root.appendingPathComponent("models/base/model.bin").path)

    /// tiny.en, loaded once for the whole test run.
    static let model = loadModel()

    /// A fresh tiny.en (its own compute gate). Only called from suites enabled by ``hasTinyEn``, so a failure here is
    /// a broken model file, not a missing one.
    static func loadModel() -> WhisperModel {
        do {
            return try WhisperModel.load(directory: modelDirectory)
        } catch {
            fatalError("models/tiny.en does not load: \(error)")
        }
    }

    /// 16 kHz mono samples of a fixture file.
    static func samples(_ relativePath: String) throws -> [Float] {
        try AudioDecoder().decode(contentsOf: fixtures.appendingPathComponent(relativePath)).samples
    }
}
