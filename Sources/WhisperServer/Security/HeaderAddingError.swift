import HTTPTypes
import Hummingbird

/// Wraps an error thrown further down the chain so that its response carries extra headers
/// (request id, rate-limit headers, CORS). Errors that are not ``HTTPResponseError``s become
/// ``RequestRejection/internalError`` rather than Hummingbird's bare 500.
struct HeaderAddingError: HTTPResponseError {
    let originalError: any Error
    let additionalHeaders: HTTPFields

    var status: HTTPResponse.Status {
        (originalError as? any HTTPResponseError)?.status ?? .internalServerError
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var response: Response
        if let original = originalError as? any HTTPResponseError {
            response = try original.response(from: request, context: context)
        } else {
            response = try RequestRejection.internalError.response(from: request, context: context)
        }
        for field in additionalHeaders {
            response.headers[field.name] = field.value
        }
        return response
    }

    /// Wraps `error`, merging into an existing wrapper instead of nesting.
    static func wrap(_ error: any Error, adding headers: HTTPFields) -> HeaderAddingError {
        if let existing = error as? HeaderAddingError {
            var merged = existing.additionalHeaders
            for field in headers { merged[field.name] = field.value }
            return HeaderAddingError(originalError: existing.originalError, additionalHeaders: merged)
        }
        return HeaderAddingError(originalError: error, additionalHeaders: headers)
    }
}

/// Header names used by the security and observability middleware.
public enum WhisperHTTPHeader {
    /// `X-Request-ID`
    public static let requestID = HTTPField.Name("X-Request-ID")!
    /// `X-API-Key`
    public static let apiKey = HTTPField.Name("X-API-Key")!
    /// `X-Forwarded-For`
    public static let forwardedFor = HTTPField.Name("X-Forwarded-For")!
    /// `x-ratelimit-limit-requests`
    public static let rateLimitLimitRequests = HTTPField.Name("x-ratelimit-limit-requests")!
    /// `x-ratelimit-remaining-requests`
    public static let rateLimitRemainingRequests = HTTPField.Name("x-ratelimit-remaining-requests")!
    /// `x-ratelimit-reset-requests`
    public static let rateLimitResetRequests = HTTPField.Name("x-ratelimit-reset-requests")!
    /// `x-ratelimit-limit-audio-seconds`
    public static let rateLimitLimitAudioSeconds = HTTPField.Name("x-ratelimit-limit-audio-seconds")!
    /// `x-ratelimit-remaining-audio-seconds`
    public static let rateLimitRemainingAudioSeconds = HTTPField.Name("x-ratelimit-remaining-audio-seconds")!
    /// `x-ratelimit-reset-audio-seconds`
    public static let rateLimitResetAudioSeconds = HTTPField.Name("x-ratelimit-reset-audio-seconds")!
}
