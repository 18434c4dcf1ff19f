import Foundation
import Testing
import WhisperEngine

@Suite(.enabled(if: TestResources.hasTinyEn, "needs models/tiny.en (make model)")) struct ModelLoadingTests {
    @Test func readsHyperParametersFromTheWeights() {
        let info = TestResources.model.info
        #expect(info.format == "ctranslate2")
        #expect(info.melBins == 80)
        #expect(info.width == 384)
        #expect(info.heads == 6)
        #expect(info.encoderLayers == 4)
        #expect(info.decoderLayers == 4)
        #expect(info.vocabularySize == 51864)
        #expect(info.maxTextPositions == 448)
        #expect(!info.isMultilingual)
        #expect(info.parameterCount > 37_000_000 && info.parameterCount < 40_000_000)
    }

    /// tiny.en ships in float16: its matrices are kept in half precision (exact), so the loaded weights take little
    /// more than the file, not the 2× that widening everything to Float would; the 8-bit copy of the embedding for
    /// screened logits adds a byte per embedding weight and a scale per row.
    @Test func halfPrecisionCheckpointStaysHalfInMemory() {
        let info = TestResources.model.info
        let screen = info.vocabularySize * (info.width + MemoryLayout<Float>.size)
        #expect(info.memoryBytes - screen < info.parameterCount * 5 / 2)
        #expect(info.memoryBytes - screen > info.parameterCount * 2)
    }

    /// A copy of the model directory whose `model.bin` is replaced by `bytes`.
    private func brokenModel(_ bytes: (Data) -> Data) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("broken-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for name in ["config.json", "vocabulary.txt", "tokenizer.json"] {
            try FileManager.default.copyItem(
                at: TestResources.modelDirectory.appendingPathComponent(name), to: directory.appendingPathComponent(name))
        }
        let original = try Data(contentsOf: TestResources.modelDirectory.appendingPathComponent("model.bin"), options: .alwaysMapped)
        try bytes(original).write(to: directory.appendingPathComponent("model.bin"))
        return directory
    }

    private func loadingError(_ directory: URL) -> ModelLoadingError? {
        defer { try? FileManager.default.removeItem(at: directory) }
        do {
            _ = try WhisperModel.load(directory: directory)
            return nil
        } catch {
            return error
        }
    }

    @Test(arguments: [0, 3, 100, 1_000_000, 40_000_000, 75_537_000])
    func truncatedFileIsCorrupt(length: Int) throws {
        let error = loadingError(try brokenModel { $0.prefix(length) })
        #expect(error?.kind == .corrupt)
        #expect(error?.message.contains("model.bin") == true)
    }

    @Test func unsupportedVersionIsNamed() throws {
        let error = loadingError(try brokenModel { data in
            var copy = data.prefix(1000)
            copy[copy.startIndex] = 99
            return copy
        })
        #expect(error?.kind == .unsupported)
        #expect(error?.message.contains("version 99") == true)
    }

    @Test func randomBytesAreRejected() throws {
        var generator = SystemRandomNumberGenerator()
        let error = loadingError(try brokenModel { _ in Data((0..<5000).map { _ in UInt8.random(in: 0...255, using: &generator) }) })
        #expect(error != nil)
    }

    @Test func missingDirectoryIsMissingFile() {
        let error = loadingError(URL(fileURLWithPath: "/nonexistent/model-\(UUID().uuidString)"))
        #expect(error?.kind == .missingFile)
        #expect(error?.message.contains("/nonexistent") == false)
    }
}
