import ArgumentParser
import WhisperServer

/// `whisper-server settings`: the settings table of `serve`, as `--help` text or as the Markdown of docs/configuration.md.
struct SettingsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "settings",
        abstract: "List serve's settings: options, environment variables, config-file keys, defaults and ranges."
    )

    @Flag(help: "Print the Markdown table of docs/configuration.md.") var markdown = false

    func run() {
        print(markdown ? ServerConfiguration.settingsMarkdown : ServerConfiguration.settingsHelp, terminator: markdown ? "" : "\n")
    }
}
