import Foundation
import NIOCore
import WhisperEngine

extension TranscriptionRequest {
    /// Reads the original server's JSON dialect (`audio`, `audio_options.data` or `messages[].content[]` audio parts)
    /// or a chat completion request with an `input_audio` part.
    /// - Parameters:
    ///   - json: the request body.
    ///   - task: transcribe or translate (from the path).
    ///   - dialect: `.legacyJSON` or `.chatCompletion`.
    ///   - limits: size caps.
    /// - Throws: 400 with `param` for bad JSON, bad base64 or wrong values; 413 for audio over the upload limit.
    init(json: ByteBuffer, task: TranscriptionTask, dialect: Dialect, limits: ServerConfiguration.Limits) throws(OpenAIError) {
        let body: JSONTranscriptionBody
        do {
            body = try JSONDecoder().decode(JSONTranscriptionBody.self, from: Data(buffer: json))
        } catch let error as DecodingError {
            throw Self.describe(error)
        } catch {
            throw .malformedBody("the request body is not valid JSON")
        }
        let fields = Fields(limits: limits)
        guard let (encoded, param, format) = body.audioSource else {
            throw OpenAIError(
                status: .badRequest,
                message: dialect == .chatCompletion
                    ? "no audio found: add a content part of type 'input_audio' with 'input_audio.data' (base64)"
                    : "no audio found: send 'audio' (base64), 'audio_options.data', or a 'messages' content part of type 'input_audio'",
                param: dialect == .chatCompletion ? "messages" : "audio", code: "missing_required_parameter"
            )
        }
        let audio = try Self.decodeBase64(encoded, param: param, limits: limits)
        self.init(audio: audio, model: try fields.model(body.model), task: task, dialect: dialect)
        encodedAudioLength = encoded.count
        declaredAudioFormat = try fields.text("format", format)
        language = try fields.language(body.language)
        prompt = try fields.text("prompt", body.prompt, maxBytes: limits.maxPromptBytes)
        responseFormat = dialect == .chatCompletion ? .json : try fields.responseFormat(body.responseFormat)
        if let temperature = body.temperature { self.temperature = try fields.temperature(temperature) }
        granularities = try fields.granularities(body.timestampGranularities ?? [], format: responseFormat)
        stream = body.stream ?? false
        includeLogprobs = try fields.includesLogprobs(body.include ?? [], format: responseFormat)
        voiceActivity = try fields.chunkingStrategy(body.chunkingStrategy)
    }

    /// Decodes standard base64, with or without a `data:…;base64,` prefix, white space ignored.
    static func decodeBase64(_ text: String, param: String, limits: ServerConfiguration.Limits) throws(OpenAIError) -> [UInt8] {
        var payload = Substring(text)
        if payload.hasPrefix("data:"), let comma = payload.firstIndex(of: ",") {
            guard payload[..<comma].hasSuffix(";base64") else {
                throw .invalidParameter(param, "'\(param)' is a data URL without base64 encoding")
            }
            payload = payload[payload.index(after: comma)...]
        }
        let compact = payload.filter { !$0.isWhitespace }
        guard !compact.isEmpty else { throw .invalidParameter(param, "'\(param)' is empty") }
        // Refused by length before decoding: base64 of the largest upload is this many characters.
        guard compact.count <= (limits.maxUploadBytes + 2) / 3 * 4 else { throw .tooLarge(limitBytes: limits.maxUploadBytes, param: param) }
        guard let data = Data(base64Encoded: String(compact)) else {
            throw .invalidParameter(param, "'\(param)' is not valid base64", code: "invalid_base64")
        }
        guard data.count <= limits.maxUploadBytes else { throw .tooLarge(limitBytes: limits.maxUploadBytes, param: param) }
        return Array(data)
    }

    private static func describe(_ error: DecodingError) -> OpenAIError {
        func path(_ context: DecodingError.Context) -> String? {
            let keys = context.codingPath.map { key in key.intValue.map { "[\($0)]" } ?? key.stringValue }
            guard !keys.isEmpty else { return nil }
            return keys.reduce("") { path, key in key.hasPrefix("[") || path.isEmpty ? path + key : path + "." + key }
        }
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            let param = path(context)
            return .invalidParameter(param, "'\(param ?? "body")' has the wrong type", code: "invalid_type")
        case .keyNotFound(let key, let context):
            let param = (path(context).map { $0 + "." } ?? "") + key.stringValue
            return .missingParameter(param)
        case .dataCorrupted(let context):
            if let param = path(context) { return .invalidParameter(param, "'\(param)' has an invalid value") }
            return .malformedBody("the request body is not valid JSON")
        @unknown default:
            return .malformedBody("the request body is not valid JSON")
        }
    }
}

/// The JSON body of the original server's dialect and of chat completions; unknown keys are ignored.
struct JSONTranscriptionBody: Decodable {
    struct AudioData: Decodable {
        var data: String?
        var format: String?
    }

    struct ContentPart: Decodable {
        var type: String?
        var inputAudio: AudioData?
        var audio: AudioData?
        var data: String?
        var format: String?

        enum CodingKeys: String, CodingKey {
            case type, data, format, audio
            case inputAudio = "input_audio"
            case inputAudioCamel = "inputAudio"
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            type = try container.decodeIfPresent(String.self, forKey: .type)
            inputAudio =
                try container.decodeIfPresent(AudioData.self, forKey: .inputAudio)
                ?? container.decodeIfPresent(AudioData.self, forKey: .inputAudioCamel)
            audio = try? container.decodeIfPresent(AudioData.self, forKey: .audio)
            data = try container.decodeIfPresent(String.self, forKey: .data)
            format = try container.decodeIfPresent(String.self, forKey: .format)
        }

        /// Base64 audio of an `input_audio`/`audio` part.
        var audioData: (data: String, format: String?)? {
            guard type == "input_audio" || type == "audio" else { return nil }
            for source in [inputAudio, audio] {
                if let source, let data = source.data { return (data, source.format ?? format) }
            }
            return data.map { ($0, format) }
        }
    }

    struct Message: Decodable {
        var role: String?
        var content: [ContentPart]

        enum CodingKeys: String, CodingKey { case role, content }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            role = try container.decodeIfPresent(String.self, forKey: .role)
            // `content` may be a plain string (text only) or an array of parts.
            if (try? container.decode(String.self, forKey: .content)) != nil || !container.contains(.content) {
                content = []
            } else {
                content = try container.decode([ContentPart].self, forKey: .content)
            }
        }
    }

    var audio: String?
    var audioOptions: AudioData?
    var messages: [Message]?
    var model: String?
    var language: String?
    var prompt: String?
    var responseFormat: String?
    var temperature: Double?
    var timestampGranularities: [String]?
    var stream: Bool?
    var include: [String]?
    var chunkingStrategy: ChunkingStrategy?

    enum CodingKeys: String, CodingKey {
        case audio, messages, model, language, prompt, temperature, stream, include
        case chunkingStrategy = "chunking_strategy"
        case audioOptions = "audio_options"
        case responseFormat = "response_format"
        case timestampGranularities = "timestamp_granularities"
    }

    /// The base64 audio, the parameter it came from, and its declared format.
    var audioSource: (data: String, param: String, format: String?)? {
        if let audio { return (audio, "audio", nil) }
        if let data = audioOptions?.data { return (data, "audio_options.data", audioOptions?.format) }
        for (messageIndex, message) in (messages ?? []).enumerated() {
            for (partIndex, part) in message.content.enumerated() {
                if let (data, format) = part.audioData { return (data, "messages[\(messageIndex)].content[\(partIndex)]", format) }
            }
        }
        return nil
    }
}
