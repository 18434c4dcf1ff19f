import Hummingbird

/// Authentication, rate-limit, proxy, host and CORS settings, to be nested in the server configuration.
///
/// Every property has the default shown; `ConfigurationValidator.validate(_:)` checks them all.
public struct SecuritySettings: Sendable, Equatable {
    /// File of API keys, one per line, optionally `name:key` (`--api-keys-file`, `WHISPER_API_KEYS_FILE`). Default none.
    public var apiKeysFile: String?
    /// Comma-separated API keys, each optionally `name:key` (`WHISPER_API_KEYS`). Default none.
    public var apiKeys: String?
    /// Run without keys even when bound to a non-loopback address (`--allow-unauthenticated`). Default `false`.
    public var allowUnauthenticated: Bool
    /// Whether `/metrics` needs a key when keys are configured (`--protect-metrics`). Default `true`.
    public var protectMetrics: Bool
    /// Paths that never need a key. Default `/health`, `/ready`.
    public var authExemptPaths: [String]
    /// Requests per window per key (or client IP when auth is off); `nil` or 0 disables. Default 60.
    public var rateLimitRequests: Int?
    /// Seconds of audio per window per key/IP; `nil` or 0 disables. Default 3600.
    public var rateLimitAudioSeconds: Double?
    /// Window length in seconds for both limits. Default 60.
    public var rateLimitWindowSeconds: Double
    /// Proxies (addresses or CIDR blocks) whose `X-Forwarded-For` is believed. Default none.
    public var trustedProxies: [String]
    /// Hosts accepted in the `Host` header; empty means the bound host, `localhost`, `127.0.0.1` and `::1`. `*` allows any.
    public var allowedHosts: [String]
    /// CORS (off unless origins are given).
    public var cors: CORSSettings

    public init(
        apiKeysFile: String? = nil,
        apiKeys: String? = nil,
        allowUnauthenticated: Bool = false,
        protectMetrics: Bool = true,
        authExemptPaths: [String] = ["/health", "/ready"],
        rateLimitRequests: Int? = 60,
        rateLimitAudioSeconds: Double? = 3600,
        rateLimitWindowSeconds: Double = 60,
        trustedProxies: [String] = [],
        allowedHosts: [String] = [],
        cors: CORSSettings = CORSSettings()
    ) {
        self.apiKeysFile = apiKeysFile
        self.apiKeys = apiKeys
        self.allowUnauthenticated = allowUnauthenticated
        self.protectMetrics = protectMetrics
        self.authExemptPaths = authExemptPaths
        self.rateLimitRequests = rateLimitRequests
        self.rateLimitAudioSeconds = rateLimitAudioSeconds
        self.rateLimitWindowSeconds = rateLimitWindowSeconds
        self.trustedProxies = trustedProxies
        self.allowedHosts = allowedHosts
        self.cors = cors
    }

    /// The rate-limit policy these settings describe (0 counts as unlimited).
    public var rateLimitPolicy: RateLimitPolicy {
        RateLimitPolicy(
            requestsPerWindow: rateLimitRequests.flatMap { $0 > 0 ? $0 : nil },
            audioSecondsPerWindow: rateLimitAudioSeconds.flatMap { $0 > 0 ? $0 : nil },
            windowSeconds: rateLimitWindowSeconds
        )
    }

    /// The `Host` allow-list for a server bound to `bindHost`.
    public func effectiveAllowedHosts(bindHost: String) -> [String] {
        allowedHosts.isEmpty ? TrustedHostMiddleware<BasicRequestContext>.defaultHosts(bindHost: bindHost) : allowedHosts
    }

    /// Loads the API keys these settings name.
    public func loadAPIKeys() throws(APIKeyStoreError) -> APIKeyStore {
        try APIKeyStore(file: apiKeysFile, environment: apiKeys)
    }
}
