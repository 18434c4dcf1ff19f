import Foundation
import Testing

@testable import WhisperServer

@Suite("Security: configuration validation and secure default")
struct SecurityConfigurationValidatorTests {
    func problems(_ body: (inout ConfigurationValidator) -> Void) -> [String] {
        var validator = ConfigurationValidator()
        body(&validator)
        return validator.problems
    }

    @Test(arguments: [0, -1, 65536, 100_000])
    func invalidPorts(_ port: Int) {
        let found = problems { $0.checkPort(port, setting: "--port") }
        #expect(found.count == 1)
        #expect(found.first?.hasPrefix("--port:") == true)
    }

    @Test func validPorts() {
        #expect(problems { $0.checkPort(1, setting: "--port"); $0.checkPort(8084, setting: "--port"); $0.checkPort(65535, setting: "--port") }.isEmpty)
        #expect(problems { $0.checkPort(0, setting: "--port", allowEphemeral: true) }.isEmpty)
    }

    @Test(arguments: ["127.0.0.1", "0.0.0.0", "::", "::1", "[::1]", "2001:db8::1", "localhost", "api.example.com", "my-host", "example.com."])
    func validHosts(_ host: String) {
        #expect(ConfigurationValidator.isValidHost(host))
    }

    @Test(arguments: ["", "256.1.1.1", "1.2.3", "-bad.example", "bad-.example", "under_score.example", "a..b", "2001:db8::g", "host name", "[::1", "ex%ample.com"])
    func invalidHosts(_ host: String) {
        let found = problems { $0.checkHost(host, setting: "--host") }
        #expect(found.count == 1, "\(host)")
    }

    @Test func logLevels() {
        for level in ["trace", "debug", "info", "notice", "warning", "WARN", "error", "critical"] {
            #expect(problems { $0.checkLogLevel(level, setting: "--log-level") }.isEmpty, "\(level)")
        }
        let found = problems { $0.checkLogLevel("verbose", setting: "--log-level") }
        #expect(found == ["--log-level: 'verbose' is not a log level (trace, debug, info, notice, warning, error, critical)"])
    }

    @Test(arguments: ["*", "https://app.example.com", "http://localhost:3000", "https://[::1]:8443", "http://127.0.0.1"])
    func validOrigins(_ origin: String) {
        #expect(ConfigurationValidator.isValidOrigin(origin))
    }

    @Test(arguments: ["ftp://example.com", "example.com", "https://", "https://example.com/path", "https://user@example.com", "https://example.com:99999", "**"])
    func invalidOrigins(_ origin: String) {
        #expect(problems { $0.checkOrigin(origin, setting: "--cors-origins") }.count == 1, "\(origin)")
    }

    @Test func boundsAndFiles() throws {
        #expect(problems { $0.checkPositive(0, setting: "--queue-size") } == ["--queue-size: must be greater than 0 (got 0)"])
        #expect(problems { $0.checkPositive(-1.5, setting: "--timeout") }.count == 1)
        #expect(problems { $0.checkPositive(Double.nan, setting: "--timeout") }.count == 1)
        #expect(problems { $0.checkRange(9, 1...8, setting: "--workers") } == ["--workers: 9 is outside 1…8"])
        #expect(problems { $0.checkRange(2.0, 0...1, setting: "--temperature") }.count == 1)
        #expect(problems { $0.checkReadableDirectory("/nonexistent-dir", setting: "--models-dir") } == ["--models-dir: directory '/nonexistent-dir' does not exist"])
        #expect(problems { $0.checkReadableDirectory("/etc/hostname", setting: "--models-dir") } == ["--models-dir: '/etc/hostname' is not a directory"])
        #expect(problems { $0.checkReadableDirectory(NSTemporaryDirectory(), setting: "--models-dir") }.isEmpty)
        #expect(problems { $0.checkReadableFile("/nonexistent-file", setting: "--api-keys-file") } == ["--api-keys-file: file '/nonexistent-file' does not exist"])
        #expect(problems { $0.checkReadableFile("/tmp", setting: "--api-keys-file") } == ["--api-keys-file: '/tmp' is a directory, not a file"])
        #expect(problems { $0.checkReadableFile("/etc/hostname", setting: "--api-keys-file") }.isEmpty)
        #expect(problems { $0.checkAddressRange("10.0.0.0/8", setting: "--trusted-proxies") }.isEmpty)
        #expect(problems { $0.checkAddressRange("10.0.0.0/40", setting: "--trusted-proxies") }.count == 1)
    }

    @Test func defaultsAreValidOnLoopback() throws {
        var validator = ConfigurationValidator()
        validator.validate(SecuritySettings(), bindHost: "127.0.0.1")
        validator.validate(ObservabilitySettings())
        #expect(validator.problems.isEmpty)
        try validator.finish()
    }

    @Test func everyProblemIsListedAtOnce() {
        var validator = ConfigurationValidator()
        validator.checkPort(70000, setting: "--port")
        validator.checkHost("not a host", setting: "--host")
        validator.checkLogLevel("loud", setting: "--log-level")
        let security = SecuritySettings(
            apiKeysFile: "/nonexistent/keys",
            rateLimitRequests: -5,
            rateLimitWindowSeconds: 0,
            trustedProxies: ["10.0.0.0/99"],
            allowedHosts: ["bad host"],
            cors: CORSSettings(origins: ["*", "ftp://x"], methods: ["FETCH"], headers: ["Bad Header"])
        )
        validator.validate(security, bindHost: "0.0.0.0")
        validator.validate(ObservabilitySettings(metricsPath: "metrics"))
        #expect(validator.problems.count == 13, "\(validator.problems.joined(separator: "\n"))")
        do {
            try validator.finish()
            Issue.record("expected an error")
        } catch {
            #expect(error.problems.count == 13)
            #expect(error.description.hasPrefix("Invalid configuration (13 problems):\n  - --port: port 70000 is out of range"))
        }
    }

    @Test func secureDefaultRefusesNonLoopbackWithoutKeys() {
        let message = SecureDefaultPolicy.refusal(bindHost: "0.0.0.0", hasAPIKeys: false, allowUnauthenticated: false)
        #expect(message?.contains("Refusing to start") == true)
        #expect(message?.contains("--allow-unauthenticated") == true)
        #expect(message?.contains("--api-keys-file") == true)
        #expect(SecureDefaultPolicy.refusal(bindHost: "192.0.2.10", hasAPIKeys: false, allowUnauthenticated: false) != nil)
        #expect(SecureDefaultPolicy.refusal(bindHost: "::", hasAPIKeys: false, allowUnauthenticated: false) != nil)
        #expect(SecureDefaultPolicy.refusal(bindHost: "myhost.example", hasAPIKeys: false, allowUnauthenticated: false) != nil)
        #expect(SecureDefaultPolicy.refusal(bindHost: "0.0.0.0", hasAPIKeys: true, allowUnauthenticated: false) == nil)
        #expect(SecureDefaultPolicy.refusal(bindHost: "0.0.0.0", hasAPIKeys: false, allowUnauthenticated: true) == nil)
        for loopback in ["127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]"] {
            #expect(SecureDefaultPolicy.refusal(bindHost: loopback, hasAPIKeys: false, allowUnauthenticated: false) == nil, "\(loopback)")
        }
    }

    @Test func validatorAppliesTheSecureDefaultWithConfiguredKeys() throws {
        var refused = ConfigurationValidator()
        refused.validate(SecuritySettings(), bindHost: "0.0.0.0")
        #expect(refused.problems.count == 1)
        #expect(refused.problems.first?.hasPrefix("Refusing to start") == true)

        var withKeys = ConfigurationValidator()
        withKeys.validate(SecuritySettings(apiKeys: "ops:sk-ops-123"), bindHost: "0.0.0.0")
        #expect(withKeys.problems.isEmpty)

        var optedOut = ConfigurationValidator()
        optedOut.validate(SecuritySettings(allowUnauthenticated: true), bindHost: "0.0.0.0")
        #expect(optedOut.problems.isEmpty)

        var badKeys = ConfigurationValidator()
        badKeys.validate(SecuritySettings(apiKeys: "a:k1,a:k2"), bindHost: "127.0.0.1")
        #expect(badKeys.problems == ["API keys: API key name 'a' is used more than once"])
    }

    @Test func settingsDerivePolicyAndHosts() {
        let settings = SecuritySettings(rateLimitRequests: 0, rateLimitAudioSeconds: 120, rateLimitWindowSeconds: 30)
        #expect(settings.rateLimitPolicy == RateLimitPolicy(requestsPerWindow: nil, audioSecondsPerWindow: 120, windowSeconds: 30))
        #expect(SecuritySettings().effectiveAllowedHosts(bindHost: "10.0.0.5") == ["10.0.0.5", "localhost", "127.0.0.1", "::1"])
        #expect(SecuritySettings(allowedHosts: ["*"]).effectiveAllowedHosts(bindHost: "10.0.0.5") == ["*"])
    }
}
