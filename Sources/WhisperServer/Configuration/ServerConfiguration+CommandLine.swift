extension ServerConfiguration {
    /// The options of `whisper-server serve`, read against ``settings``: values by environment-variable name, the
    /// config file, and what could not be read.
    public struct CommandLineOptions: Sendable, Equatable {
        /// `--config`, if given.
        public var configFile: String?
        /// Option values by their setting's environment variable; repeated list options joined with commas.
        public var values: [String: String] = [:]
        /// The flag each value came from, for the problems.
        public var flags: [String: String] = [:]
        /// Unknown options, missing values and stray arguments.
        public var problems: [String] = []

        /// Reads `--name value`, `--name=value` and switches (`--preload`) for every setting with a flag.
        /// - Parameter arguments: the arguments after `serve`.
        public init(_ arguments: [String]) {
            let byFlag = Dictionary(uniqueKeysWithValues: ([ServerConfiguration.configFileSetting] + ServerConfiguration.settings).compactMap { setting in setting.flag.map { ($0, setting) } })
            var index = 0
            while index < arguments.count {
                let argument = arguments[index]
                index += 1
                guard argument.hasPrefix("--") else {
                    problems.append("unexpected argument '\(argument)' (options start with --; see serve --help)")
                    continue
                }
                let parts = argument.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let flag = String(parts[0])
                guard let setting = byFlag[flag] else {
                    problems.append("\(flag): unknown option (see serve --help)")
                    continue
                }
                var value: String
                if parts.count == 2 {
                    value = String(parts[1])
                } else if setting.isSwitch {
                    value = "true"
                } else if index < arguments.count, !arguments[index].hasPrefix("--") {
                    value = arguments[index]
                    index += 1
                } else {
                    problems.append("\(flag): missing value \(setting.valueName)")
                    continue
                }
                if setting.key == ServerConfiguration.configFileSetting.key {
                    configFile = value
                    continue
                }
                if setting.isRepeatable, let earlier = values[setting.environment] { value = earlier + "," + value }
                values[setting.environment] = value
                flags[setting.environment] = flag
            }
        }
    }

    /// Overrides settings with command-line options, appending a problem (named by the flag) for each value that does
    /// not parse.
    public mutating func applyOptions(_ options: CommandLineOptions, problems: inout [String]) {
        for setting in Self.settings {
            guard let text = options.values[setting.environment] else { continue }
            apply(setting, text, label: options.flags[setting.environment] ?? setting.label, problems: &problems)
        }
    }
}
