import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

@testable import WhisperServer

/// A request context with everything the security and observability middleware can use.
struct SecurityTestContext: AuthenticatedRequestContext, AnnotatedRequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    let annotations = RequestAnnotations()
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }
}

/// A context that only stores the key name by value (no annotations box).
struct SecurityPlainContext: AuthenticatedRequestContext {
    var coreContext: CoreRequestContextStorage
    var apiKeyName: String?

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
    }
}

/// A log handler that keeps every line (JSON style) in memory for assertions.
final class CapturedLogLines: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [String] = []

    var lines: [String] { lock.withLock { storage } }

    var sink: LogLineSink { LogLineSink { [self] line in lock.withLock { storage.append(line) } } }

    func logger(label: String = "test", level: Logger.Level = .trace) -> Logger {
        Logger(label: label) { label in JSONLogHandler(label: label, style: .json, level: level, sink: self.sink) }
    }

    /// Each captured line parsed as a JSON object.
    var objects: [[String: Any]] {
        lines.compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
        }
    }
}

/// A manual monotonic clock for the rate limiter.
final class SecurityManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Double = 1000

    var now: @Sendable () -> Double { { [self] in lock.withLock { value } } }

    func advance(_ seconds: Double) { lock.withLock { value += seconds } }
}

/// Decodes OpenAI's error body.
struct SecurityErrorBody: Decodable {
    struct Inner: Decodable {
        let message: String
        let type: String
        let param: String?
        let code: String?
    }
    let error: Inner
}

extension TestResponse {
    /// The body as OpenAI's error object, or `nil`.
    var securityErrorBody: SecurityErrorBody.Inner? {
        try? JSONDecoder().decode(SecurityErrorBody.self, from: Data(body.readableBytesView)).error
    }

    var securityBodyString: String { String(buffer: body) }
}

extension HTTPField.Name {
    static var testXRequestID: Self { .init("X-Request-ID")! }
    static var testXAPIKey: Self { .init("X-API-Key")! }
}
