import Foundation
import WhisperEngine

/// The models present in the models directory, found by listing it: ids are directory (or ggml file) names, never paths from clients.
///
/// A client's model id is only ever compared with the names listed here, so `../../etc/passwd` is simply not found.
public struct ModelRegistry: Sendable {
    /// A model found on disk, described without loading it.
    public struct Entry: Sendable, Equatable {
        /// The id clients use: the directory's name.
        public let id: String
        /// The model's directory, or its single weight file (a ggml `.bin` lying in the models directory).
        public let directory: URL
        /// Weight format, e.g. `"ctranslate2"`, `"ggml-q5_1"`, `"safetensors-f16"`.
        public let format: String
        /// Size of the weight file in bytes.
        public let sizeBytes: Int
        /// Modification time of the weight file (OpenAI's `created`).
        public let created: Date
        /// Whether the model knows several languages (read from `config.json`/`tokenizer.json` where possible).
        public let isMultilingual: Bool?
    }

    /// Models by id.
    public let entries: [String: Entry]
    /// Aliases: alias → model id.
    public let aliases: [String: String]

    /// Creates a registry from known entries.
    public init(entries: [Entry], aliases: [String: String]) {
        self.entries = Dictionary(entries.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        self.aliases = aliases
    }

    /// Lists `directory`: every subdirectory holding a model in a format ``ModelFormat`` recognises (CTranslate2,
    /// Hugging Face safetensors, whisper.cpp ggml) is a model named after it, and so is every ggml `.bin` file
    /// lying directly in `directory` (named without `.bin`, e.g. `ggml-base.en`).
    /// - Parameters:
    ///   - directory: the models directory.
    ///   - aliases: alias → model id.
    /// - Returns: the registry; empty when the directory cannot be read.
    public static func scan(directory: URL, aliases: [String: String]) -> ModelRegistry {
        let fileManager = FileManager.default
        let names = (try? fileManager.contentsOfDirectory(atPath: directory.path)) ?? []
        var entries: [Entry] = []
        for name in names.sorted() where !name.hasPrefix(".") {
            let location = directory.appendingPathComponent(name)
            guard let format = ModelFormat.detect(location), let status = fileStatus(format.weightsFile) else { continue }
            let isFile = format.weightsFile.standardizedFileURL == location.standardizedFileURL
            let id = isFile && name.hasSuffix(".bin") ? String(name.dropLast(".bin".count)) : name
            entries.append(
                Entry(
                    id: id,
                    directory: location,
                    format: format.name,
                    sizeBytes: status.size,
                    created: status.modified,
                    isMultilingual: format.isMultilingual ?? (isFile ? nil : isMultilingual(directory: location, name: name))
                )
            )
        }
        var all = aliases
        let ids = Set(entries.map(\.id))
        for (name, candidates) in originalServerNames where all[name] == nil && !ids.contains(name) {
            if let model = candidates.first(where: ids.contains) { all[name] = model }
        }
        return ModelRegistry(entries: entries, aliases: all)
    }

    /// The original Python server's model names and the models under the models directory they stand for, best first:
    /// built-in aliases, so its clients' requests keep working. A configured alias or a model of the same name wins.
    public static let originalServerNames: [(name: String, candidates: [String])] = [
        ("whisper-tiny", ["tiny", "tiny.en", "ggml-tiny", "ggml-tiny.en"]),
        ("whisper-small", ["small", "small.en", "ggml-small", "ggml-small.en"]),
        ("whisper-medium", ["medium", "medium.en", "ggml-medium", "ggml-medium.en"]),
        ("whisper-large", ["large-v3", "large-v2", "large", "large-v1", "large-v3-turbo", "ggml-large-v3", "ggml-large-v2"]),
    ]

    /// Size and modification time of a file, following a symbolic link: one `stat` of the file itself (resolving the
    /// path component by component would touch every directory above the models directory).
    static func fileStatus(_ url: URL) -> (size: Int, modified: Date)? {
        var status = stat()
        guard stat(url.path, &status) == 0 else { return nil }
        let modified = Double(status.st_mtim.tv_sec) + Double(status.st_mtim.tv_nsec) / 1e9
        return (Int(status.st_size), Date(timeIntervalSince1970: modified))
    }

    /// Whether a model is multilingual, without loading it: English-only vocabularies have 51 864 tokens,
    /// multilingual ones more. Falls back on Whisper's naming convention (`*.en` is English-only).
    static func isMultilingual(directory: URL, name: String) -> Bool? {
        let vocabulary = directory.appendingPathComponent("vocabulary.txt")
        if let data = FileManager.default.contents(atPath: vocabulary.path), data.count < 16 * 1024 * 1024 {
            let lines = data.reduce(into: 0) { count, byte in if byte == UInt8(ascii: "\n") { count += 1 } }
            if lines > 50_000 { return lines > englishVocabularySize }
        }
        let lowered = name.lowercased()
        return lowered.hasSuffix(".en") || lowered.contains(".en-") || lowered.contains(".en.") ? false : nil
    }

    /// Tokens in the vocabulary of English-only Whisper models.
    static let englishVocabularySize = 51_864

    /// The model id an id or alias names, if it exists.
    public func resolve(_ idOrAlias: String) -> String? {
        if entries[idOrAlias] != nil { return idOrAlias }
        if let target = aliases[idOrAlias], entries[target] != nil { return target }
        return nil
    }

    /// Ids of the models, sorted.
    public var ids: [String] { entries.keys.sorted() }

    /// Every name a request may use: the models' ids, then the aliases whose model exists, each sorted.
    public var names: [String] { ids + aliases.keys.filter { entries[$0] == nil && resolve($0) != nil }.sorted() }
}
