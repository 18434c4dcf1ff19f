import Foundation
import Hummingbird
import NIOCore

/// The one error type the server answers with: OpenAI's `{"error":{"message","type","param","code"}}` and a status.
///
/// Every failure is mapped to it once (see `OpenAIError+Mapping.swift`); messages are fit for clients and never
/// contain file paths or stack traces.
///
/// ```swift
/// throw OpenAIError.invalidParameter("response_format", "unknown response_format 'xml'")
/// ```
public struct OpenAIError: HTTPResponseError, Sendable, CustomStringConvertible {
    /// HTTP status.
    public let status: HTTPResponse.Status
    /// Message shown to the client.
    public let message: String
    /// OpenAI's error `type`, e.g. `invalid_request_error`.
    public let type: String
    /// The request parameter at fault, if any.
    public let param: String?
    /// A machine-readable code, if any.
    public let code: String?
    /// Extra response headers (e.g. `Retry-After`).
    public let headers: HTTPFields

    /// Creates an error.
    public init(
        status: HTTPResponse.Status, message: String, type: String? = nil, param: String? = nil, code: String? = nil,
        headers: HTTPFields = [:]
    ) {
        self.status = status
        self.message = message
        self.type = type ?? Self.defaultType(for: status)
        self.param = param
        self.code = code
        self.headers = headers
    }

    public var description: String { "\(status.code) \(type): \(message)" }

    /// The JSON body.
    public var body: ErrorBody { ErrorBody(error: .init(message: message, type: type, param: param, code: code)) }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: jsonBytes)))
    }

    /// The same error, telling the client that the connection closes after it.
    public func closingConnection() -> OpenAIError {
        var headers = headers
        headers[.connection] = "close"
        return OpenAIError(status: status, message: message, type: type, param: param, code: code, headers: headers)
    }

    /// The JSON body as bytes.
    public var jsonBytes: [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? Array(encoder.encode(body))) ?? Array(#"{"error":{"message":"internal error"}}"#.utf8)
    }

    static func defaultType(for status: HTTPResponse.Status) -> String {
        switch status.code {
        case 401: "authentication_error"
        case 403: "permission_error"
        case 429: "rate_limit_error"
        case 400..<500: "invalid_request_error"
        default: "server_error"
        }
    }

    /// `{"error": {...}}` with explicit `null`s, as OpenAI writes it.
    public struct ErrorBody: Codable, Sendable, Equatable {
        public struct Detail: Codable, Sendable, Equatable {
            public var message: String
            public var type: String
            public var param: String?
            public var code: String?

            public func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(message, forKey: .message)
                try container.encode(type, forKey: .type)
                try container.encode(param, forKey: .param)
                try container.encode(code, forKey: .code)
            }
        }

        public var error: Detail
    }
}

extension OpenAIError {
    /// 400 for a request parameter with a wrong value.
    public static func invalidParameter(_ param: String?, _ message: String, code: String? = "invalid_value") -> OpenAIError {
        OpenAIError(status: .badRequest, message: message, param: param, code: code)
    }

    /// 400 for a required parameter that is missing.
    public static func missingParameter(_ param: String) -> OpenAIError {
        OpenAIError(status: .badRequest, message: "you must provide '\(param)'", param: param, code: "missing_required_parameter")
    }

    /// 400 for a body that cannot be parsed.
    public static func malformedBody(_ message: String) -> OpenAIError {
        OpenAIError(status: .badRequest, message: message, code: "invalid_request_body")
    }

    /// 404 for an unknown model id.
    public static func modelNotFound(_ id: String) -> OpenAIError {
        let shown = id.count > 64 ? String(id.prefix(64)) + "…" : id
        return OpenAIError(
            status: .notFound, message: "the model '\(shown)' does not exist", param: "model", code: "model_not_found"
        )
    }

    /// 400 for an unknown model in the original server's JSON dialects (its clients expect 400, not OpenAI's 404),
    /// listing the models and aliases that exist.
    public static func invalidModel(_ id: String, available: [String]) -> OpenAIError {
        let shown = id.count > 64 ? String(id.prefix(64)) + "…" : id
        return OpenAIError(
            status: .badRequest, message: "Invalid model '\(shown)'. Allowed models: \(available.joined(separator: ", "))",
            param: "model", code: "model_not_found"
        )
    }

    /// 413 for a body or file over the configured limit; the limit is shown in MiB as configured (`0.05 MiB`), and in bytes.
    public static func tooLarge(limitBytes: Int, param: String = "file") -> OpenAIError {
        OpenAIError(
            status: .contentTooLarge,
            message: "the request is too large: the limit is \(mebibytes(limitBytes)) MiB (\(limitBytes) bytes)",
            param: param, code: "file_too_large"
        )
    }

    /// Bytes as MiB with up to two decimals, never rounded down to `0`.
    static func mebibytes(_ bytes: Int) -> String {
        let value = Double(bytes) / 1_048_576
        if value == value.rounded() { return String(Int(value)) }
        let text = String(format: "%.2f", value)
        return text == "0.00" ? String(format: "%.3g", value) : text
    }

    /// 405 for a path that exists with other methods, listing them in `Allow`.
    public static func methodNotAllowed(_ method: HTTPRequest.Method, allowed: [HTTPRequest.Method]) -> OpenAIError {
        let list = allowed.map(\.rawValue).joined(separator: ", ")
        var headers = HTTPFields()
        headers[.allow] = list
        return OpenAIError(
            status: .methodNotAllowed, message: "method \(method.rawValue.prefix(20)) is not allowed here; use \(list)",
            code: "method_not_allowed", headers: headers
        )
    }

    /// 415 for a content type the endpoint does not accept.
    public static func unsupportedMediaType(_ contentType: String?) -> OpenAIError {
        OpenAIError(
            status: .unsupportedMediaType,
            message: "unsupported Content-Type '\(contentType?.prefix(100) ?? "none")': use multipart/form-data or application/json",
            code: "unsupported_media_type"
        )
    }

    /// 429 when the inference queue is full.
    public static func queueFull(retryAfter seconds: Int) -> OpenAIError {
        var headers = HTTPFields()
        headers[.retryAfter] = String(seconds)
        return OpenAIError(
            status: .tooManyRequests, message: "the server is busy: the transcription queue is full, retry in \(seconds) s",
            code: "queue_full", headers: headers
        )
    }

    /// 504 when a request passed its deadline.
    public static func timeout(seconds: Double) -> OpenAIError {
        OpenAIError(
            status: .gatewayTimeout, message: "the request took longer than the limit of \(Self.format(seconds)) s",
            type: "timeout_error", code: "timeout"
        )
    }

    /// 499-like answer for a client that went away (rarely seen by anyone).
    public static let cancelled = OpenAIError(
        status: .init(code: 499, reasonPhrase: "Client Closed Request"), message: "the request was cancelled", code: "cancelled"
    )

    /// 500 for an unexpected failure; the detail goes to the log, not to the client.
    public static let internalError = OpenAIError(
        status: .internalServerError, message: "the server failed to process the request", code: "internal_error"
    )

    static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(format: "%.1f", seconds)
    }
}
