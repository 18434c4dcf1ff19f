import ArgumentParser
import Foundation
import WhisperEngine

/// `--model` and `--models-dir`, shared by the offline commands.
struct ModelOptions: ParsableArguments {
    @Option(help: "Model directory, or a model id under --models-dir.")
    var model: String = "tiny.en"

    @Option(help: "Directory holding one sub-directory per model.")
    var modelsDir: String = "models"

    @Option(help: "Decoder weights as the checkpoint has them (reference transcripts) or int8 (half the bytes per token).")
    var decoderWeights: DecoderWeights = .checkpoint

    /// The model's directory: `--model` itself when it is a directory, otherwise `--models-dir/<id>`.
    var directory: URL {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: model, isDirectory: &isDirectory), isDirectory.boolValue {
            return URL(fileURLWithPath: model)
        }
        return URL(fileURLWithPath: modelsDir).appendingPathComponent(model)
    }

    func load() throws -> WhisperModel {
        try CommandFailure.wrap { try WhisperModel.load(directory: directory) }.withDecoderWeights(decoderWeights)
    }
}

/// A failure reported as one line on standard error with exit code 1.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String

    /// Runs `body`, turning any error into a one-line failure.
    static func wrap<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw CommandFailure(description: "\(error)")
        }
    }
}
