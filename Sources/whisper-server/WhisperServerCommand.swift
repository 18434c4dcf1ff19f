import ArgumentParser

/// `whisper-server`: an OpenAI-compatible speech-to-text server with a native Whisper engine.
@main
struct WhisperServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "whisper-server",
        abstract: "OpenAI-compatible speech-to-text server with a native Swift Whisper engine.",
        subcommands: [ServeCommand.self, TranscribeCommand.self, ModelsCommand.self, BenchCommand.self, SettingsCommand.self]
    )

    static func main() async {
        BLASEnvironment.prepare()
        await main(nil)
    }
}
