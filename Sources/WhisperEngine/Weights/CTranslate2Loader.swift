import Foundation

/// Loads a CTranslate2 Whisper model directory: `model.bin`, `config.json`, `tokenizer.json` and/or `vocabulary.txt`.
struct CTranslate2Loader {
    let directory: URL

    func load() throws(ModelLoadingError) -> WhisperModel {
        let binary = directory.appendingPathComponent("model.bin")
        guard FileManager.default.isReadableFile(atPath: binary.path) else {
            throw ModelLoadingError(.missingFile, "model.bin is missing from model directory \(directory.lastPathComponent)")
        }
        let file = try CTranslate2File(url: binary)
        let vocabularySize = try file.shape("decoder/embeddings/weight").first ?? 0
        let directory = directory
        let (weights, tokenizer) = try concurrently { () throws(ModelLoadingError) in try ModelWeights(source: file) } alongside: { () throws(ModelLoadingError) in
            try Tokenizer(directory: directory, vocabularySize: vocabularySize)
        }
        let configuration = try ModelConfiguration(url: directory.appendingPathComponent("config.json"))
        let info = ModelInfo(format: "ctranslate2", weights: weights, tokenizer: tokenizer, fileBytes: ModelFormat.fileSize(binary))
        return WhisperModel(info: info, weights: weights, tokenizer: tokenizer, configuration: configuration)
    }
}
