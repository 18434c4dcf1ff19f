import Foundation
import HTTPTypes
import Hummingbird

/// An error answered by the security and observability middleware, written in OpenAI's error shape:
/// `{"error":{"message","type","param","code"}}`.
///
/// The application's own error type may replace it later; it exists so that these middleware
/// never depend on route code and never answer with Hummingbird's message-only body.
///
/// ```swift
/// throw RequestRejection(status: .unauthorized, message: "Incorrect API key provided.", code: "invalid_api_key")
/// ```
public struct RequestRejection: HTTPResponseError, Sendable {
    /// HTTP status of the response.
    public let status: HTTPResponse.Status
    /// Human-readable message; never contains secrets or filesystem paths.
    public let message: String
    /// OpenAI error type, e.g. `invalid_request_error`, `rate_limit_error`, `server_error`.
    public let type: String
    /// The offending parameter, if any.
    public let param: String?
    /// Machine-readable code, e.g. `invalid_api_key`, `rate_limit_exceeded`.
    public let code: String?
    /// Extra response headers (`Retry-After`, `WWW-Authenticate`, …).
    public var headers: HTTPFields

    /// Creates a rejection.
    /// - Parameters:
    ///   - status: HTTP status.
    ///   - message: message shown to the client.
    ///   - type: OpenAI error type (default `invalid_request_error`).
    ///   - param: offending parameter.
    ///   - code: machine-readable code.
    ///   - headers: extra response headers.
    public init(
        status: HTTPResponse.Status,
        message: String,
        type: String = "invalid_request_error",
        param: String? = nil,
        code: String? = nil,
        headers: HTTPFields = [:]
    ) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers
    }

    /// A generic 500 for errors that reached the edge without an HTTP mapping (a bug); says nothing internal.
    public static var internalError: RequestRejection {
        RequestRejection(status: .internalServerError, message: "The server had an error while processing your request.", type: "server_error")
    }

    /// The JSON body in OpenAI's error shape.
    public var body: ByteBuffer {
        ByteBuffer(bytes: Self.encode(message: message, type: type, param: param, code: code))
    }

    /// Encodes OpenAI's error object; `param` and `code` are written as `null` when absent.
    static func encode(message: String, type: String, param: String?, code: String?) -> [UInt8] {
        var out = #"{"error":{"message":"#
        out += LogJSONEscaping.quote(message)
        out += #","type":"#
        out += LogJSONEscaping.quote(type)
        out += #","param":"#
        out += param.map(LogJSONEscaping.quote) ?? "null"
        out += #","code":"#
        out += code.map(LogJSONEscaping.quote) ?? "null"
        out += "}}"
        return Array(out.utf8)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: body))
    }
}

/// Minimal JSON string quoting shared by the log handler and the error body.
enum LogJSONEscaping {
    /// Returns `value` as a quoted JSON string literal.
    static func quote(_ value: String) -> String {
        var out = "\""
        out.reserveCapacity(value.utf8.count + 2)
        append(value, to: &out)
        out += "\""
        return out
    }

    /// Appends the escaped contents of `value` (without quotes) to `out`.
    static func append(_ value: String, to out: inout String) {
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 || scalar.value == 0x2028 || scalar.value == 0x2029 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
    }
}
