import Foundation

extension ServerConfiguration {
    /// The environment variable naming the JSON config file (`--config` wins over it).
    public static let configFileVariable = "WHISPER_CONFIG"

    /// Builds the configuration of `whisper-server serve`: defaults, then the config file, then the environment, then
    /// `flags` (flags win), and validates the result, file system included.
    ///
    /// ```swift
    /// let configuration = try ServerConfiguration.load(environment: ProcessInfo.processInfo.environment, configFile: nil) {
    ///     $0.http.port = 9000
    /// }
    /// ```
    /// - Parameters:
    ///   - environment: the process environment.
    ///   - configFile: `--config`, or `nil` to use `WHISPER_CONFIG` if set.
    ///   - checkFileSystem: whether to check the models directory and default model (``startupProblems``).
    ///   - flags: applies the command-line options; it may report problems of its own.
    /// - Returns: a configuration that can be served.
    /// - Throws: ``ValidationError`` listing every problem found in every source.
    public static func load(
        environment: [String: String], configFile: String? = nil, checkFileSystem: Bool = true,
        flags: (inout ServerConfiguration, inout [String]) -> Void = { _, _ in }
    ) throws(ValidationError) -> ServerConfiguration {
        var configuration = ServerConfiguration()
        var problems: [String] = []
        if let path = configFile ?? environment[configFileVariable].flatMap({ $0.isEmpty ? nil : $0 }) {
            if let data = FileManager.default.contents(atPath: path) {
                let fileEnvironment = fileEnvironment(json: data, source: path, problems: &problems)
                configuration.applyEnvironment(fileEnvironment, problems: &problems, source: path)
            } else {
                problems.append("--config/\(configFileVariable): file '\(path)' does not exist or is not readable")
            }
        }
        configuration.applyEnvironment(environment, problems: &problems)
        flags(&configuration, &problems)
        problems += checkFileSystem ? configuration.startupProblems : configuration.problems
        if !problems.isEmpty { throw ValidationError(problems: problems) }
        return configuration
    }
}
