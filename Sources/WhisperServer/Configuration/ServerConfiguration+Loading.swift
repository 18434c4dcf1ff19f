import Foundation

extension ServerConfiguration {
    /// The environment variable naming the JSON config file (`--config` wins over it).
    public static let configFileVariable = configFileSetting.environment

    /// Builds the configuration of `whisper-server serve`: defaults, then the config file, then the environment (the
    /// original server's names where ours are unset), then the command-line options, then `flags` (later sources win),
    /// and validates the result, file system included.
    ///
    /// ```swift
    /// let configuration = try ServerConfiguration.load(
    ///     environment: ProcessInfo.processInfo.environment, options: .init(["--port", "9000"]))
    /// ```
    /// - Parameters:
    ///   - environment: the process environment.
    ///   - configFile: the config file, or `nil` to use `--config` from `options`, then `WHISPER_CONFIG` if set.
    ///   - options: `serve`'s command-line options.
    ///   - checkFileSystem: whether to check the models directory, default model and aliases (``startupProblems``).
    ///   - flags: changes applied last; it may report problems of its own.
    /// - Returns: a configuration that can be served.
    /// - Throws: ``ValidationError`` listing every problem found in every source.
    public static func load(
        environment: [String: String], configFile: String? = nil, options: CommandLineOptions = CommandLineOptions([]),
        checkFileSystem: Bool = true, flags: (inout ServerConfiguration, inout [String]) -> Void = { _, _ in }
    ) throws(ValidationError) -> ServerConfiguration {
        var configuration = ServerConfiguration()
        var problems = options.problems
        let file = configFile ?? options.configFile ?? environment[configFileVariable].flatMap { $0.isEmpty ? nil : $0 }
        if let path = file {
            if let data = FileManager.default.contents(atPath: path) {
                let fileEnvironment = fileEnvironment(json: data, source: path, problems: &problems)
                configuration.applyEnvironment(fileEnvironment, problems: &problems, source: path)
            } else {
                problems.append("\(configFileSetting.label): file '\(path)' does not exist or is not readable")
            }
        }
        configuration.applyEnvironment(environment, problems: &problems)
        configuration.applyOptions(options, problems: &problems)
        flags(&configuration, &problems)
        problems += checkFileSystem ? configuration.startupProblems : configuration.problems
        if !problems.isEmpty { throw ValidationError(problems: problems) }
        return configuration
    }
}
