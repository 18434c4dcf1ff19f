import HTTPTypes
import Hummingbird
import Logging

/// Gives every request an id, returns it in `X-Request-ID` on every response (errors included) and puts
/// it on the request's logger as `request.id`.
///
/// A well-formed incoming `X-Request-ID` (1–128 characters of `A–Z a–z 0–9 . _ -`) is kept, so ids
/// follow a request through proxies; anything else is replaced by a fresh `req_` + 32 hex digits.
/// Hummingbird's own `hb.request.id` is overwritten with the same value so `context.id` agrees.
/// Install it first (outermost): it turns every error thrown below into a response carrying the
/// header; errors that are not ``HTTPResponseError``s become a 500 in OpenAI's shape that says nothing internal.
///
/// ```swift
/// router.add(middleware: RequestIDMiddleware<AppRequestContext>())
/// ```
public struct RequestIDMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The header name.
    public static var headerName: HTTPField.Name { WhisperHTTPHeader.requestID }

    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let id = request.headers[WhisperHTTPHeader.requestID].flatMap { Self.isWellFormed($0) ? $0 : nil } ?? Self.generate()
        var context = context
        context.logger[metadataKey: "request.id"] = .string(id)
        context.logger[metadataKey: "hb.request.id"] = .string(id)
        (context as? any AnnotatedRequestContext)?.annotations.requestID = id
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            let httpError = (error as? any HTTPResponseError) ?? RequestRejection.internalError
            if !(error is any HTTPResponseError) {
                context.logger.error("Unhandled error", metadata: ["error.type": .string(String(reflecting: type(of: error)))])
            }
            response = try httpError.response(from: request, context: context)
        }
        response.headers[WhisperHTTPHeader.requestID] = id
        return response
    }

    /// Whether an incoming id may be reused: 1–128 characters of `[A-Za-z0-9._-]`.
    public static func isWellFormed(_ id: String) -> Bool {
        let utf8 = id.utf8
        guard (1...128).contains(utf8.count) else { return false }
        return utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2E || byte == 0x5F || byte == 0x2D
        }
    }

    /// A fresh id: `req_` followed by 32 random hex digits.
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        return "req_" + hex(high) + hex(low)
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
