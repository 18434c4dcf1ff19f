import Foundation
import Logging

/// Collects every configuration problem before the server starts, so the operator sees them all at once.
///
/// Each check takes the value and the setting's name as the operator typed it (`--port`,
/// `WHISPER_PORT`, …) and records a readable message when the value is wrong. ``finish()`` throws a
/// ``ConfigurationValidationError`` listing them all.
///
/// ```swift
/// var validator = ConfigurationValidator()
/// validator.checkPort(config.port, setting: "--port")
/// validator.checkHost(config.host, setting: "--host")
/// validator.validate(config.security, bindHost: config.host)
/// try validator.finish()   // prints all problems, exit 2
/// ```
public struct ConfigurationValidator: Sendable {
    /// Problems found so far, in the order checked.
    public private(set) var problems: [String] = []

    public init() {}

    /// Records a problem when `condition` is false.
    public mutating func require(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { problems.append(message()) }
    }

    /// Records a problem unconditionally.
    public mutating func report(_ message: String) {
        problems.append(message)
    }

    /// Throws ``ConfigurationValidationError`` if any problem was recorded.
    public func finish() throws(ConfigurationValidationError) {
        if !problems.isEmpty { throw ConfigurationValidationError(problems: problems) }
    }

    // MARK: Generic checks

    /// A TCP port: 1…65535 (0 allowed with `allowEphemeral`, for tests).
    public mutating func checkPort(_ port: Int, setting: String, allowEphemeral: Bool = false) {
        let lower = allowEphemeral ? 0 : 1
        require((lower...65535).contains(port), "\(setting): port \(port) is out of range (\(lower)–65535)")
    }

    /// A bind host or host name: IPv4, IPv6 (optionally bracketed) or an RFC 1123 host name.
    public mutating func checkHost(_ host: String, setting: String) {
        require(Self.isValidHost(host), "\(setting): '\(host)' is not a valid IPv4 address, IPv6 address or host name")
    }

    /// A log level name.
    public mutating func checkLogLevel(_ level: String, setting: String) {
        require(
            ObservabilitySettings.parseLogLevel(level) != nil,
            "\(setting): '\(level)' is not a log level (trace, debug, info, notice, warning, error, critical)"
        )
    }

    /// A CORS origin: `*` or `http(s)://host[:port]` with no path.
    public mutating func checkOrigin(_ origin: String, setting: String) {
        require(Self.isValidOrigin(origin), "\(setting): '\(origin)' is not '*' or an http(s)://host[:port] origin")
    }

    /// An integer that must be > 0.
    public mutating func checkPositive(_ value: Int, setting: String) {
        require(value > 0, "\(setting): must be greater than 0 (got \(value))")
    }

    /// A number that must be finite and > 0.
    public mutating func checkPositive(_ value: Double, setting: String) {
        require(value.isFinite && value > 0, "\(setting): must be greater than 0 (got \(value))")
    }

    /// An integer within bounds.
    public mutating func checkRange(_ value: Int, _ range: ClosedRange<Int>, setting: String) {
        require(range.contains(value), "\(setting): \(value) is outside \(range.lowerBound)…\(range.upperBound)")
    }

    /// A number within bounds.
    public mutating func checkRange(_ value: Double, _ range: ClosedRange<Double>, setting: String) {
        require(value.isFinite && range.contains(value), "\(setting): \(value) is outside \(range.lowerBound)…\(range.upperBound)")
    }

    /// A directory that exists and can be read and listed.
    public mutating func checkReadableDirectory(_ path: String, setting: String) {
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            report("\(setting): directory '\(path)' does not exist")
        } else if !isDirectory.boolValue {
            report("\(setting): '\(path)' is not a directory")
        } else if !FileManager.default.isReadableFile(atPath: path) || !FileManager.default.isExecutableFile(atPath: path) {
            report("\(setting): directory '\(path)' is not readable")
        }
    }

    /// A regular file that exists and can be read.
    public mutating func checkReadableFile(_ path: String, setting: String) {
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            report("\(setting): file '\(path)' does not exist")
        } else if isDirectory.boolValue {
            report("\(setting): '\(path)' is a directory, not a file")
        } else if !FileManager.default.isReadableFile(atPath: path) {
            report("\(setting): file '\(path)' is not readable")
        }
    }

    /// A `Host` allow-list entry: a host name or address, `*.domain`, or `*`.
    public mutating func checkAllowedHost(_ host: String, setting: String) {
        let bare = host.hasPrefix("*.") ? String(host.dropFirst(2)) : host
        require(host == "*" || Self.isValidHost(bare), "\(setting): '\(host)' is not a host name, IP address, '*.domain' or '*'")
    }

    /// An IP address or CIDR block.
    public mutating func checkAddressRange(_ value: String, setting: String) {
        require(IPAddressRange(value) != nil, "\(setting): '\(value)' is not an IP address or CIDR block")
    }

    // MARK: Settings groups

    /// Validates security settings: each value against its row of ``ServerConfiguration/settings``, then
    /// ``validateRelations(_:bindHost:)``.
    /// - Parameters:
    ///   - settings: the settings.
    ///   - bindHost: the host the server will bind, for the secure-default rule.
    public mutating func validate(_ settings: SecuritySettings, bindHost: String) {
        var configuration = ServerConfiguration()
        configuration.security = settings
        let securityKeys: Set<String> = [
            "api_keys_file", "api_keys", "allow_unauthenticated", "protect_metrics", "rate_limit_requests", "rate_limit_audio_seconds",
            "rate_limit_window", "allowed_hosts", "trusted_proxies", "cors_origins",
        ]
        for setting in ServerConfiguration.settings where securityKeys.contains(setting.key) {
            setting.check(configuration, setting.flag ?? setting.environment, &self)
        }
        validateRelations(settings, bindHost: bindHost)
    }

    /// Checks what no single setting's row can: that the API keys load and the secure default holds, that `*` stands
    /// alone among CORS origins, and the fixed CORS lists and exempt paths.
    /// - Parameters:
    ///   - settings: the settings.
    ///   - bindHost: the host the server will bind, for the secure-default rule.
    public mutating func validateRelations(_ settings: SecuritySettings, bindHost: String) {
        var keysUsable = true
        if let file = settings.apiKeysFile {
            let before = problems.count
            checkReadableFile(file, setting: "--api-keys-file")
            keysUsable = problems.count == before
        }
        if keysUsable {
            do {
                let store = try APIKeyStore(file: settings.apiKeysFile, environment: settings.apiKeys)
                if let refusal = SecureDefaultPolicy.refusal(
                    bindHost: bindHost,
                    hasAPIKeys: !store.isEmpty,
                    allowUnauthenticated: settings.allowUnauthenticated
                ) {
                    report(refusal)
                }
            } catch {
                report("API keys: \(error)")
            }
        }
        for path in settings.authExemptPaths {
            require(path.hasPrefix("/"), "auth exempt path '\(path)' must start with '/'")
        }
        if settings.cors.origins.contains("*"), settings.cors.origins.count > 1 {
            report("--cors-origin: '*' cannot be combined with other origins")
        }
        let knownMethods: Set<String> = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
        for method in settings.cors.methods {
            require(knownMethods.contains(method.uppercased()), "--cors-methods: '\(method)' is not an HTTP method")
        }
        for header in settings.cors.headers {
            require(Self.isToken(header), "--cors-headers: '\(header)' is not a valid header name")
        }
        checkRange(settings.cors.maxAgeSeconds, 0...86_400, setting: "--cors-max-age")
    }

    /// Validates observability settings.
    public mutating func validate(_ settings: ObservabilitySettings) {
        require(
            settings.metricsPath.hasPrefix("/") && !settings.metricsPath.contains(where: \.isWhitespace),
            "--metrics-path: '\(settings.metricsPath)' must be an absolute path such as /metrics"
        )
    }

    // MARK: Syntax helpers

    /// Whether `host` is an IPv4/IPv6 address or an RFC 1123 host name.
    public static func isValidHost(_ host: String) -> Bool {
        if host.isEmpty { return false }
        if host.hasPrefix("[") || host.contains(":") { return IPAddress(host) != nil }
        if IPAddress(host) != nil { return true }
        // Dotted digits that failed IPv4 parsing (e.g. 256.1.1.1) are not host names either.
        if host.split(separator: ".").allSatisfy({ $0.allSatisfy(\.isNumber) }) { return false }
        var name = Substring(host)
        if name.hasSuffix(".") { name = name.dropLast() }
        guard name.utf8.count <= 253 else { return false }
        return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            guard (1...63).contains(label.utf8.count), label.first != "-", label.last != "-" else { return false }
            return label.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "-") }
        }
    }

    /// Whether `origin` is `*` or `http(s)://host[:port]` without path, query or credentials.
    public static func isValidOrigin(_ origin: String) -> Bool {
        if origin == "*" { return true }
        let lower = origin.lowercased()
        let rest: Substring
        if lower.hasPrefix("https://") {
            rest = lower.dropFirst(8)
        } else if lower.hasPrefix("http://") {
            rest = lower.dropFirst(7)
        } else {
            return false
        }
        var authority = rest
        if authority.hasSuffix("/") { authority = authority.dropLast() }
        guard !authority.isEmpty, !authority.contains("/"), !authority.contains("@"), !authority.contains("?"), !authority.contains("#") else {
            return false
        }
        var host = authority
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return false }
            host = authority[...close]
            let tail = authority[authority.index(after: close)...]
            guard tail.isEmpty || (tail.hasPrefix(":") && isPort(tail.dropFirst())) else { return false }
            return IPAddress(String(host)).map { !$0.isIPv4 } ?? false
        }
        if let colon = authority.lastIndex(of: ":") {
            guard isPort(authority[authority.index(after: colon)...]) else { return false }
            host = authority[..<colon]
        }
        return isValidHost(String(host)) && !host.contains(":")
    }

    private static func isPort(_ text: Substring) -> Bool {
        guard let port = Int(text), text.allSatisfy(\.isNumber) else { return false }
        return (1...65535).contains(port)
    }

    private static func isToken(_ text: String) -> Bool {
        !text.isEmpty && text.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "!#$%&'*+-.^_`|~".unicodeScalars.contains($0)) }
    }
}

/// Every configuration problem found at start; print ``description`` and exit with status 2.
public struct ConfigurationValidationError: Error, Equatable, CustomStringConvertible {
    /// One message per problem.
    public let problems: [String]

    public init(problems: [String]) {
        self.problems = problems
    }

    public var description: String {
        "Invalid configuration (\(problems.count) problem\(problems.count == 1 ? "" : "s")):\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
    }
}
