import Foundation

extension ServerConfiguration {
    /// The settings as `serve --help` lists them: each option with its placeholder, help, variable, default and range;
    /// then the settings that have no option.
    public static var settingsHelp: String {
        let all = [configFileSetting] + settings
        var lines = ["SETTINGS (option, then environment variable; config-file keys in docs/configuration.md):"]
        for setting in all {
            guard let flag = setting.flag else { continue }
            lines.append("  \(flag)\(setting.isSwitch ? "" : " " + setting.valueName)")
            lines.append("      \(setting.help) \(details(of: setting))")
        }
        lines.append("")
        lines.append("ENVIRONMENT ONLY (or the config file):")
        for setting in all where setting.flag == nil {
            lines.append("  \(setting.environment): \(setting.help) \(details(of: setting))")
        }
        return lines.joined(separator: "\n")
    }

    /// `(WHISPER_PORT, also WHISPER_SERVER_PORT; default 8084; 0…65535; repeatable)`.
    private static func details(of setting: Setting) -> String {
        var parts = [setting.environment + (setting.legacyEnvironment.map { ", also \($0)" } ?? "")]
        parts.append("default " + setting.defaultText.replacingOccurrences(of: "`", with: ""))
        if let range = setting.rangeText { parts.append(range) }
        if setting.isRepeatable { parts.append("repeatable") }
        return "(" + parts.joined(separator: "; ") + ")"
    }

    /// The settings table of docs/configuration.md, generated from ``settings`` (`whisper-server settings --markdown`).
    public static var settingsMarkdown: String {
        var lines = [
            "| Option | Environment | Original server's variable | Config key | Type | Default | Range | Description |",
            "|---|---|---|---|---|---|---|---|",
        ]
        func code(_ text: String?) -> String { text.map { "`\($0)`" } ?? "–" }
        func cell(_ text: String) -> String { text.replacingOccurrences(of: "|", with: "\\|") }
        for setting in [configFileSetting] + settings {
            var flag = code(setting.flag.map { setting.isSwitch ? $0 : "\($0) \(setting.valueName)" })
            if setting.isRepeatable { flag += " (repeatable)" }
            let key = setting.key == configFileSetting.key ? "–" : code(setting.key)
            let row = [
                flag, code(setting.environment), code(setting.legacyEnvironment), key, setting.type, setting.defaultText,
                setting.rangeText ?? "", setting.help,
            ]
            lines.append("| " + row.map(cell).joined(separator: " | ") + " |")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
