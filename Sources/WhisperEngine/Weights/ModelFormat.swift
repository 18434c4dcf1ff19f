import Foundation

/// What a model directory (or a lone whisper.cpp file) holds, decided by the files on disk and a ggml file's magic
/// number, never by names alone.
///
/// - CTranslate2: `model.bin` (not ggml), with `config.json` and `vocabulary.txt` or `tokenizer.json`.
/// - Hugging Face: `model.safetensors` with `config.json`.
/// - whisper.cpp: any `.bin` whose first bytes are ggml's magic (`model.bin`, `ggml-tiny.en.bin`, …), or such a file itself.
///
/// ```swift
/// if let format = ModelFormat.detect(URL(fileURLWithPath: "models/tiny.en-q5_1")) {
///     print(format.name)   // "ggml-q5_1"
/// }
/// ```
public struct ModelFormat: Sendable, Equatable {
    private enum Kind: Sendable, Equatable {
        case ctranslate2, ggml, safetensors
    }

    private let kind: Kind
    /// The file holding the weights.
    public let weightsFile: URL
    /// The format's name as ``ModelInfo/format`` reports it, e.g. `"ctranslate2"`, `"ggml-q5_1"`, `"safetensors-bf16"`.
    public let name: String
    /// Whether the vocabulary is multilingual, when the headers say so without loading the weights.
    public let isMultilingual: Bool?

    /// The format of the model at `url`: a model directory, or a ggml file.
    /// - Parameter url: a directory or a file.
    /// - Returns: the format, or `nil` when `url` holds no model this engine recognises.
    public static func detect(_ url: URL) -> ModelFormat? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { return nil }
        guard isDirectory.boolValue else { return ggml(url) }
        func file(_ name: String) -> URL? {
            let file = url.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: file.path, isDirectory: &isDirectory) && !isDirectory.boolValue ? file : nil
        }
        if let binary = file("model.bin") {
            return ggml(binary) ?? ModelFormat(kind: .ctranslate2, weightsFile: binary, name: "ctranslate2", isMultilingual: nil)
        }
        if let weights = file("model.safetensors"), let config = file("config.json") {
            let name = SafetensorsFile.formatName(of: weights) ?? "safetensors"
            let object = (try? Data(contentsOf: config)).flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
            let vocabularySize = object?["vocab_size"] as? Int
            return ModelFormat(kind: .safetensors, weightsFile: weights, name: name, isMultilingual: vocabularySize.map(isMultilingual))
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        for name in names.sorted() where name.hasSuffix(".bin") && name != "model.bin" {
            if let candidate = file(name), let format = ggml(candidate) { return format }
        }
        return nil
    }

    /// Loads the model.
    func load() throws(ModelLoadingError) -> WhisperModel {
        switch kind {
        case .ctranslate2: try CTranslate2Loader(directory: weightsFile.deletingLastPathComponent()).load()
        case .ggml: try GGMLLoader(file: weightsFile).load()
        case .safetensors: try SafetensorsLoader(directory: weightsFile.deletingLastPathComponent()).load()
        }
    }

    /// Size of a file in bytes, 0 when it cannot be read.
    static func fileSize(_ url: URL) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? NSNumber)?.intValue ?? 0
    }

    /// A ggml model if `file` starts with ggml's magic (a truncated or unsupported one too, so that loading it
    /// says what is wrong with it).
    private static func ggml(_ file: URL) -> ModelFormat? {
        guard GGMLFile.hasMagic(file) else { return nil }
        let header = GGMLFile.header(of: file)
        return ModelFormat(
            kind: .ggml, weightsFile: file, name: header?.formatName ?? "ggml", isMultilingual: header.map { isMultilingual($0.vocabularySize) })
    }

    /// English-only Whisper vocabularies have 51 864 tokens, multilingual ones more.
    private static func isMultilingual(_ vocabularySize: Int) -> Bool { vocabularySize > 51_864 }
}
