import Hummingbird
import NIOCore
import NIOHTTP1
import WhisperAudio
import WhisperEngine

extension OpenAIError {
    /// Maps any error thrown while serving a request to the answer the client gets: the one place statuses are chosen.
    /// - Parameter error: what was thrown.
    /// - Returns: the error to send; unknown errors become an opaque 500.
    public static func from(_ error: any Error) -> OpenAIError {
        switch error {
        case let error as OpenAIError:
            return error
        case let error as AudioDecodingError:
            return from(error)
        case let error as ModelLoadingError:
            return OpenAIError(
                status: .internalServerError, message: "the model could not be loaded: \(error.message)",
                param: "model", code: "model_load_failed"
            )
        case let error as TranscriptionError:
            switch error.kind {
            case .cancelled: return .cancelled
            case .invalidOptions: return .invalidParameter(error.parameter, error.message)
            }
        case let error as HTTPParserError:
            // The request's framing broke after its headers (e.g. a bad chunk size): the body cannot be trusted and the
            // connection cannot carry another request.
            return OpenAIError(
                status: .badRequest, message: "the request is not valid HTTP/1.1: \(error)", code: "invalid_http"
            ).closingConnection()
        case is NIOTooManyBytesError:
            return OpenAIError(status: .contentTooLarge, message: "the request body is larger than the limit", code: "request_too_large")
        case let error as HTTPError:
            return OpenAIError(status: error.status, message: error.body ?? error.status.reasonPhrase.lowercased())
        case is CancellationError:
            return .cancelled
        default:
            return .internalError
        }
    }

    /// Maps an audio decoding failure: unreadable formats are 415, damaged audio 422, limits 413, empty/short 400.
    static func from(_ error: AudioDecodingError) -> OpenAIError {
        let status: HTTPResponse.Status =
            switch error.kind {
            case .empty, .tooShort: .badRequest
            case .unsupportedFormat: .unsupportedMediaType
            case .corrupt, .noAudioStream, .timedOut: .unprocessableContent
            case .tooLarge, .tooLong: .contentTooLarge
            }
        return OpenAIError(status: status, message: "invalid audio file: \(error.message)", param: "file", code: "audio_\(error.kind.rawValue)")
    }
}
