import Foundation

extension ServerConfiguration {
    /// A variable of the original Python server read in place of ours.
    public struct LegacyVariable: Sendable, Equatable {
        /// The original server's name, e.g. `WHISPER_SERVER_PORT`.
        public let name: String
        /// Ours, e.g. `WHISPER_PORT`.
        public let replacement: String
        /// Whether ours is set too, so the original's value is ignored.
        public let isOverridden: Bool
    }

    /// The original server's variables present in `environment`, for the start-up log.
    public static func legacyVariables(in environment: [String: String]) -> [LegacyVariable] {
        settings.compactMap { setting in
            guard let legacy = setting.legacyEnvironment, environment[legacy] != nil else { return nil }
            return LegacyVariable(name: legacy, replacement: setting.environment, isOverridden: environment[setting.environment] != nil)
        }
    }

    /// Overrides settings with the `WHISPER_*` variables present in `environment` (and the original server's names
    /// where ours are unset).
    /// - Parameter environment: variables, usually `ProcessInfo.processInfo.environment`.
    /// - Throws: ``ValidationError`` listing every variable whose value does not parse.
    public mutating func applyEnvironment(_ environment: [String: String]) throws(ValidationError) {
        var problems: [String] = []
        applyEnvironment(environment, problems: &problems)
        if !problems.isEmpty { throw ValidationError(problems: problems) }
    }

    /// Overrides settings with the variables present in `environment`, appending a problem for each value that does
    /// not parse.
    /// - Parameters:
    ///   - environment: variables, or a config file's keys translated by ``fileEnvironment(json:source:problems:)``.
    ///   - problems: where unparsable values are reported, each starting with the variable's name (or the file and key).
    ///   - source: the config file's path when `environment` came from one; `nil` for the process environment, whose
    ///     original-server names are then read too.
    public mutating func applyEnvironment(_ environment: [String: String], problems: inout [String], source: String? = nil) {
        for setting in Self.settings {
            if let text = environment[setting.environment] {
                let label = source.map { "\($0): \(setting.key)" } ?? setting.environment
                apply(setting, text, label: label, problems: &problems)
            } else if source == nil, let legacy = setting.legacyEnvironment, let text = environment[legacy] {
                apply(setting, text, label: legacy, problems: &problems)
            }
        }
    }

    /// Sets one setting from its text, reporting `label: why` when it does not parse.
    mutating func apply(_ setting: Setting, _ text: String, label: String, problems: inout [String]) {
        if let problem = setting.apply(&self, text) { problems.append("\(label): \(problem)") }
    }
}
