import ArgumentParser
import Foundation
import WhisperServer

/// `whisper-server models`: lists the models the server would serve, without loading them.
struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List the models found in the models directory."
    )

    @Option(name: .customLong("models-dir"), help: "Directory of model subdirectories (WHISPER_MODELS_DIR; default ./models).")
    var modelsDirectory: String?
    @Option(name: .customLong("default-model"), help: "Model that whisper-1 names (WHISPER_DEFAULT_MODEL; default tiny.en).")
    var defaultModel: String?
    @Flag(help: "Print JSON instead of a table.") var json = false

    func run() throws {
        var configuration = ServerConfiguration()
        do {
            try configuration.applyEnvironment(ProcessInfo.processInfo.environment)
        } catch {
            throw ValidationError(error.description)
        }
        if let modelsDirectory { configuration.models.directory = modelsDirectory }
        if let defaultModel { configuration.models.defaultModel = defaultModel }
        let directory = URL(fileURLWithPath: configuration.models.directory, isDirectory: true)
        let registry = ModelRegistry.scan(directory: directory, aliases: configuration.models.allAliases)
        let rows = registry.ids.compactMap { registry.entries[$0] }
        if json {
            let objects: [[String: Any]] = rows.map { entry in
                var object: [String: Any] = ["id": entry.id, "format": entry.format, "size_bytes": entry.sizeBytes]
                if let multilingual = entry.isMultilingual { object["multilingual"] = multilingual }
                object["aliases"] = registry.aliases.filter { $0.value == entry.id }.keys.sorted()
                return object
            }
            let data = try JSONSerialization.data(withJSONObject: objects, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        guard !rows.isEmpty else {
            print("no models in \(configuration.models.directory) (a model is a subdirectory holding model.bin)")
            return
        }
        print("ID".padding(toLength: 24, withPad: " ", startingAt: 0) + "FORMAT       SIZE       LANGUAGES     ALIASES")
        for entry in rows {
            let languages = entry.isMultilingual.map { $0 ? "multilingual" : "English" } ?? "unknown"
            let aliases = registry.aliases.filter { $0.value == entry.id }.keys.sorted().joined(separator: ", ")
            let size = String(format: "%.1f MB", Double(entry.sizeBytes) / 1_000_000)
            print(
                entry.id.padding(toLength: 24, withPad: " ", startingAt: 0)
                    + entry.format.padding(toLength: 13, withPad: " ", startingAt: 0)
                    + size.padding(toLength: 11, withPad: " ", startingAt: 0)
                    + languages.padding(toLength: 14, withPad: " ", startingAt: 0) + aliases
            )
        }
    }
}
