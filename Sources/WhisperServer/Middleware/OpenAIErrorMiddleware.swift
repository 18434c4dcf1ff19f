import Hummingbird
import Logging
import NIOCore

/// Answers every error, including unknown routes and unexpected failures, in OpenAI's error shape.
///
/// A path that exists with other methods answers 405 with `Allow`. Unexpected errors are logged with their detail and
/// answered with an opaque 500.
struct OpenAIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The routes' methods, for 405.
    var allowedMethods = AllowedMethods()

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let methods = allowedMethods.methods(for: request.uri.path)
            if !methods.isEmpty {
                throw OpenAIError.methodNotAllowed(request.method, allowed: methods)
            }
            throw OpenAIError(
                status: .notFound, message: "unknown endpoint: \(request.method) \(request.uri.path.prefix(200))", code: "unknown_url"
            )
        } catch let error as any HTTPResponseError where !(error is OpenAIError || error is HTTPError || error is NIOTooManyBytesError) {
            // Errors that write their own response (e.g. the security middleware's rejections) pass through unchanged.
            throw error
        } catch {
            let mapped = OpenAIError.from(error)
            if mapped.status == .internalServerError && mapped.code == OpenAIError.internalError.code {
                context.logger.error("request failed", metadata: ["error": "\(String(reflecting: error))"])
            }
            throw mapped
        }
    }
}
