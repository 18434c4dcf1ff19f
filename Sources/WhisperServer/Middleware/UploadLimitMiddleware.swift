import Hummingbird

/// Sets the request's body limit from the configuration and refuses bodies announced larger with 413 before reading them.
struct UploadLimitMiddleware<Context: UploadLimitedRequestContext>: RouterMiddleware {
    let limits: ServerConfiguration.Limits

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let isJSON = MediaKind(request.headers[.contentType]) == .json
        context.maxUploadSize = limits.maxBodyBytes(isJSON: isJSON)
        if let length = request.headers[.contentLength].flatMap(Int.init), length > context.maxUploadSize {
            throw OpenAIError.tooLarge(limitBytes: limits.maxUploadBytes)
        }
        return try await next(request, context)
    }
}

/// The kind of body a `Content-Type` announces.
enum MediaKind: Equatable {
    /// `multipart/form-data`; the boundary is `nil` when missing or given more than once.
    case multipart(boundary: String?)
    case json
    case other(String?)

    init(_ contentType: String?) {
        let parameters = HeaderParameters(contentType ?? "")
        switch parameters.value.lowercased() {
        case "multipart/form-data": self = .multipart(boundary: parameters.isRepeated("boundary") ? nil : parameters["boundary"])
        case "application/json": self = .json
        default: self = .other(contentType)
        }
    }
}
