import Hummingbird
import NIOCore

/// `POST /debug/audio-info`: the original Python server's diagnostic route, answering what it did about a JSON
/// dialect body (`audio_size_bytes`, `audio_size_mb`, `base64_length`, `model`, `language`) plus the decoded audio's
/// `duration` and `format`, without transcribing.
///
/// It sits behind the same API keys, Host allow-list and rate limits as the API, refuses unknown models with 400 as
/// the JSON dialect does, and decodes on an inference worker with the usual limits, so it can neither bypass
/// authentication nor tie up the server.
struct AudioInfoController<Context: RequestContext> {
    let service: TranscriptionService
    let limits: ServerConfiguration.Limits

    func addRoutes(to router: Router<Context>) {
        router.post("debug/audio-info") { request, context in
            var request = request
            let arrival = ContinuousClock.now
            guard MediaKind(request.headers[.contentType]) == .json else {
                throw OpenAIError.unsupportedMediaType(request.headers[.contentType])
            }
            let body: ByteBuffer
            do {
                body = try await request.collectBody(upTo: context.maxUploadSize)
            } catch is NIOTooManyBytesError {
                throw OpenAIError.tooLarge(limitBytes: limits.maxUploadBytes, param: "audio")
            }
            let parsed = try TranscriptionRequest(json: body, task: .transcribe, dialect: .legacyJSON, limits: limits)
            try await service.checkModel(parsed)
            let info: TranscriptionService.AudioInfo
            do {
                info = try await service.audioInfo(parsed, arrival: arrival)
            } catch {
                throw OpenAIError.from(error)
            }
            let answer = AudioInfoAnswer(
                audioSizeBytes: parsed.audio.count, audioSizeMB: Double(parsed.audio.count) / 1_048_576,
                base64Length: parsed.encodedAudioLength ?? 0, model: parsed.model, language: parsed.language, duration: info.duration,
                format: info.format, codec: info.codec, sampleRate: info.sampleRate, channels: info.channels
            )
            return TranscriptionResponse.json(TranscriptionResponse.encode(answer))
        }
    }

    /// The answer: the original's fields, then ours.
    struct AudioInfoAnswer: Encodable {
        let audioSizeBytes: Int
        let audioSizeMB: Double
        let base64Length: Int
        let model: String
        let language: String?
        let duration: Double
        let format: String
        let codec: String
        let sampleRate: Int
        let channels: Int

        enum CodingKeys: String, CodingKey {
            case model, language, duration, format, codec, channels
            case audioSizeBytes = "audio_size_bytes"
            case audioSizeMB = "audio_size_mb"
            case base64Length = "base64_length"
            case sampleRate = "sample_rate"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(audioSizeBytes, forKey: .audioSizeBytes)
            try container.encode(audioSizeMB, forKey: .audioSizeMB)
            try container.encode(base64Length, forKey: .base64Length)
            try container.encode(model, forKey: .model)
            try container.encode(language, forKey: .language)
            try container.encode(duration, forKey: .duration)
            try container.encode(format, forKey: .format)
            try container.encode(codec, forKey: .codec)
            try container.encode(sampleRate, forKey: .sampleRate)
            try container.encode(channels, forKey: .channels)
        }
    }
}
