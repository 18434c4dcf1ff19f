import Foundation

/// A client event of a transcription session, decoded by its `type`; each case holds the struct named after
/// OpenAI's event.
enum RealtimeClientEvent: Sendable {
    case sessionUpdate(SessionUpdate)
    case transcriptionSessionUpdate(TranscriptionSessionUpdate)
    case inputAudioBufferAppend(InputAudioBufferAppend)
    case inputAudioBufferCommit(InputAudioBufferCommit)
    case inputAudioBufferClear(InputAudioBufferClear)

    /// The `type` and `event_id` every event carries, read first so that a refusal can name the event.
    struct Header: Decodable {
        var type: String?
        var eventID: String?
        enum CodingKeys: String, CodingKey {
            case type
            case eventID = "event_id"
        }
    }

    /// Decodes one text message.
    /// - Returns: the event, or the error to report with the event's id (when it could be read).
    static func decode(_ text: String) -> Result<RealtimeClientEvent, RealtimeEventFailure> {
        let data = Data(text.utf8)
        let decoder = JSONDecoder()
        guard let header = try? decoder.decode(Header.self, from: data) else {
            return .failure(RealtimeEventFailure(eventID: nil, error: .invalidJSON("The message is not a JSON object with a string 'type'.")))
        }
        guard let type = header.type else {
            return .failure(RealtimeEventFailure(eventID: header.eventID, error: .invalidJSON("The event has no 'type'.")))
        }
        do {
            switch type {
            case "session.update": return .success(.sessionUpdate(try decoder.decode(SessionUpdate.self, from: data)))
            case "transcription_session.update":
                return .success(.transcriptionSessionUpdate(try decoder.decode(TranscriptionSessionUpdate.self, from: data)))
            case "input_audio_buffer.append": return .success(.inputAudioBufferAppend(try decoder.decode(InputAudioBufferAppend.self, from: data)))
            case "input_audio_buffer.commit": return .success(.inputAudioBufferCommit(try decoder.decode(InputAudioBufferCommit.self, from: data)))
            case "input_audio_buffer.clear": return .success(.inputAudioBufferClear(try decoder.decode(InputAudioBufferClear.self, from: data)))
            default: return .failure(RealtimeEventFailure(eventID: header.eventID, error: .unknownEvent(type)))
            }
        } catch let error as RealtimeProtocolError {
            return .failure(RealtimeEventFailure(eventID: header.eventID, error: error))
        } catch {
            return .failure(RealtimeEventFailure(eventID: header.eventID, error: Self.describe(error, type: type)))
        }
    }

    /// A decoding error as OpenAI words it: the missing or mistyped parameter by its dotted path.
    static func describe(_ error: any Error, type: String) -> RealtimeProtocolError {
        func path(_ keys: [any CodingKey]) -> String { keys.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".") }
        switch error as? DecodingError {
        case .keyNotFound(let key, let context)?:
            let name = path(context.codingPath + [key])
            return RealtimeProtocolError(code: "missing_required_parameter", message: "Missing required parameter: '\(name)'.", param: name)
        case .typeMismatch(_, let context)?, .valueNotFound(_, let context)?:
            let name = path(context.codingPath)
            return RealtimeProtocolError(code: "invalid_type", message: "Invalid type for '\(name)' in '\(type)'.", param: name)
        case .dataCorrupted(let context)?:
            let name = path(context.codingPath)
            return RealtimeProtocolError(code: "invalid_value", message: "Invalid value for '\(name)': \(context.debugDescription)", param: name)
        default:
            return .invalidJSON("The '\(type)' event could not be read.")
        }
    }
}

/// A refused client event: the error and the event's `event_id`, if it had one.
struct RealtimeEventFailure: Error, Sendable {
    var eventID: String?
    var error: RealtimeProtocolError
}

/// `input_audio_buffer.append`: base64 audio in the session's input format.
struct InputAudioBufferAppend: Decodable, Sendable {
    var eventID: String?
    var audio: String
    enum CodingKeys: String, CodingKey {
        case eventID = "event_id"
        case audio
    }
}

/// `input_audio_buffer.commit`: the audio buffered so far is a finished turn.
struct InputAudioBufferCommit: Decodable, Sendable {
    var eventID: String?
    enum CodingKeys: String, CodingKey { case eventID = "event_id" }
}

/// `input_audio_buffer.clear`: forget the audio buffered since the last commit.
struct InputAudioBufferClear: Decodable, Sendable {
    var eventID: String?
    enum CodingKeys: String, CodingKey { case eventID = "event_id" }
}

/// `session.update` with `session.type` `transcription` (the current form).
struct SessionUpdate: Decodable, Sendable {
    var eventID: String?
    var session: RealtimeSessionPatch

    enum CodingKeys: String, CodingKey {
        case eventID = "event_id"
        case session
    }

    /// The `session` object: `type`, `audio.input.{format, transcription, turn_detection, noise_reduction}`, `include`.
    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        eventID = try container.decodeIfPresent(String.self, forKey: .eventID)
        let session = try container.nestedContainer(keyedBy: AnyKey.self, forKey: .session)
        if let type = try session.decodeIfPresent(String.self, forKey: AnyKey("type")), type != "transcription" {
            throw RealtimeProtocolError.invalidValue(
                "session.type", "This endpoint serves transcription sessions: session.type must be 'transcription', not '\(type)'.")
        }
        var patch = RealtimeSessionPatch()
        patch.include = try session.decodeIfPresent([String].self, forKey: AnyKey("include"))
        if session.contains(AnyKey("audio")) {
            let audio = try session.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey("audio"))
            if audio.contains(AnyKey("input")) {
                let input = try audio.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey("input"))
                if input.contains(AnyKey("format")) {
                    let format = try input.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey("format"))
                    let type = try format.decode(String.self, forKey: AnyKey("type"))
                    patch.format = try RealtimeAudioFormat.fromGA(type: type, rate: try format.decodeIfPresent(Int.self, forKey: AnyKey("rate")))
                }
                patch.transcription = try input.decodeIfPresent(RealtimeSessionPatch.Transcription.self, forKey: AnyKey("transcription"))
                if input.contains(AnyKey("turn_detection")) {
                    patch.turnDetection = .some(try input.decodeIfPresent(RealtimeSessionPatch.TurnDetection.self, forKey: AnyKey("turn_detection")))
                }
            }
        }
        self.session = patch
    }
}

/// `transcription_session.update` (the earlier form that existing clients still send).
struct TranscriptionSessionUpdate: Decodable, Sendable {
    var eventID: String?
    var session: RealtimeSessionPatch

    enum CodingKeys: String, CodingKey {
        case eventID = "event_id"
        case session
    }

    /// The `session` object: `input_audio_format`, `input_audio_transcription`, `turn_detection`, `include`.
    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        eventID = try container.decodeIfPresent(String.self, forKey: .eventID)
        let session = try container.nestedContainer(keyedBy: AnyKey.self, forKey: .session)
        var patch = RealtimeSessionPatch()
        patch.include = try session.decodeIfPresent([String].self, forKey: AnyKey("include"))
        if let format = try session.decodeIfPresent(String.self, forKey: AnyKey("input_audio_format")) {
            patch.format = try RealtimeAudioFormat.fromBeta(format)
        }
        patch.transcription = try session.decodeIfPresent(RealtimeSessionPatch.Transcription.self, forKey: AnyKey("input_audio_transcription"))
        if session.contains(AnyKey("turn_detection")) {
            patch.turnDetection = .some(try session.decodeIfPresent(RealtimeSessionPatch.TurnDetection.self, forKey: AnyKey("turn_detection")))
        }
        self.session = patch
    }
}

/// The fields a session update sets; absent fields keep their value. `turnDetection` is `.some(nil)` for an
/// explicit `null` (the client commits turns itself).
struct RealtimeSessionPatch: Sendable {
    /// `transcription` / `input_audio_transcription`.
    struct Transcription: Decodable, Sendable {
        var model: String?
        var language: String?
        var prompt: String?
    }

    /// `turn_detection` (`server_vad`; `semantic_vad` is served by the same detector).
    struct TurnDetection: Decodable, Sendable {
        var type: String
        var threshold: Double?
        var prefixPaddingMs: Int?
        var silenceDurationMs: Int?

        enum CodingKeys: String, CodingKey {
            case type, threshold
            case prefixPaddingMs = "prefix_padding_ms"
            case silenceDurationMs = "silence_duration_ms"
        }
    }

    var format: RealtimeAudioFormat?
    var transcription: Transcription?
    var turnDetection: TurnDetection??
    var include: [String]?
}

/// A coding key for any name.
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ name: String) { stringValue = name }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
