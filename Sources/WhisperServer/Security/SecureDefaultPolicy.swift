/// The secure-default rule: a server reachable from other machines must not run without API keys
/// unless the operator says so explicitly.
public enum SecureDefaultPolicy {
    /// Checks the rule.
    /// - Parameters:
    ///   - bindHost: the address the server binds (`127.0.0.1`, `::1`, `localhost`, `0.0.0.0`, a host name …).
    ///   - hasAPIKeys: whether at least one API key is configured.
    ///   - allowUnauthenticated: whether `--allow-unauthenticated` was given.
    /// - Returns: `nil` when the server may start, otherwise the message to print before exiting.
    ///
    /// ```swift
    /// if let refusal = SecureDefaultPolicy.refusal(bindHost: "0.0.0.0", hasAPIKeys: false, allowUnauthenticated: false) { print(refusal) }
    /// ```
    public static func refusal(bindHost: String, hasAPIKeys: Bool, allowUnauthenticated: Bool) -> String? {
        if hasAPIKeys || allowUnauthenticated || isLoopback(bindHost) { return nil }
        return """
            Refusing to start: binding to '\(bindHost)' makes the server reachable from other machines, and no API keys are configured. \
            Configure keys with --api-keys-file FILE (WHISPER_API_KEYS_FILE) or WHISPER_API_KEYS, bind to 127.0.0.1, \
            or pass --allow-unauthenticated (WHISPER_ALLOW_UNAUTHENTICATED=true) to run without authentication on purpose.
            """
    }

    /// Whether a bind host only accepts connections from this machine.
    public static func isLoopback(_ host: String) -> Bool {
        let value = host.lowercased()
        if value == "localhost" || value.hasSuffix(".localhost") { return true }
        return IPAddress(value)?.isLoopback ?? false
    }
}
