import Foundation
import WhisperEngine

/// A value that is written as JSON `null` when absent, as OpenAI writes optional fields of its events.
struct Nullable<Value: Encodable & Sendable>: Encodable, Sendable {
    var value: Value?
    init(_ value: Value?) { self.value = value }
    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let value { try container.encode(value) } else { try container.encodeNil() }
    }
}

/// A server event: an `Encodable` struct named after OpenAI's event, with its `type` and a fresh `event_id`.
protocol RealtimeServerEvent: Encodable, Sendable {
    /// OpenAI's event type.
    static var type: String { get }
}

extension RealtimeServerEvent {
    /// The event as one JSON text frame: `type` and `event_id` added to the event's own fields.
    func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let envelope = RealtimeEventEnvelope(type: Self.type, eventID: RealtimeIdentifier.make("event"), event: self)
        return (try? String(decoding: encoder.encode(envelope), as: UTF8.self)) ?? #"{"type":"error"}"#
    }
}

/// Writes `type` and `event_id` next to an event's fields.
private struct RealtimeEventEnvelope<Event: RealtimeServerEvent>: Encodable {
    var type: String
    var eventID: String
    var event: Event
    enum CodingKeys: String, CodingKey {
        case type
        case eventID = "event_id"
    }
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(type, forKey: .type)
        try container.encode(eventID, forKey: .eventID)
        try event.encode(to: encoder)
    }
}

/// Identifiers in OpenAI's style: a prefix and random letters and digits.
enum RealtimeIdentifier {
    static func make(_ prefix: String) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        return prefix + "_" + String((0..<20).map { _ in alphabet.randomElement()! })
    }
}

/// The session object of `session.created` / `session.updated` (the current form).
struct TranscriptionSessionObject: Encodable, Sendable {
    struct Format: Encodable, Sendable {
        var type: String
        var rate: Int?
    }
    struct Transcription: Encodable, Sendable {
        var model: String
        var language: Nullable<String>
        var prompt: Nullable<String>
    }
    struct TurnDetection: Encodable, Sendable {
        var type: String
        var threshold: Double
        var prefixPaddingMs: Int
        var silenceDurationMs: Int
        enum CodingKeys: String, CodingKey {
            case type, threshold
            case prefixPaddingMs = "prefix_padding_ms"
            case silenceDurationMs = "silence_duration_ms"
        }
        init(_ settings: RealtimeSessionSettings.TurnDetection) {
            type = settings.type
            threshold = settings.threshold
            prefixPaddingMs = settings.prefixPaddingMs
            silenceDurationMs = settings.silenceDurationMs
        }
    }
    struct Input: Encodable, Sendable {
        var format: Format
        var transcription: Transcription
        var noiseReduction: Nullable<String>
        var turnDetection: Nullable<TurnDetection>
        enum CodingKeys: String, CodingKey {
            case format, transcription
            case noiseReduction = "noise_reduction"
            case turnDetection = "turn_detection"
        }
    }
    struct Audio: Encodable, Sendable { var input: Input }

    var type = "transcription"
    var id: String
    var object = "realtime.transcription_session"
    var audio: Audio
    var include: [String]

    init(id: String, settings: RealtimeSessionSettings) {
        self.id = id
        let format = Format(type: settings.format.mimeType, rate: settings.format.encoding == .pcm16 ? settings.format.rate : nil)
        audio = Audio(
            input: Input(
                format: format,
                transcription: Transcription(model: settings.model, language: Nullable(settings.language), prompt: Nullable(settings.prompt)),
                noiseReduction: Nullable(nil), turnDetection: Nullable(settings.turnDetection.map(TurnDetection.init))))
        include = settings.include
    }
}

/// The session object of `transcription_session.updated` (the earlier form).
struct BetaTranscriptionSessionObject: Encodable, Sendable {
    var id: String
    var object = "realtime.transcription_session"
    var inputAudioFormat: String
    var inputAudioTranscription: TranscriptionSessionObject.Transcription
    var turnDetection: Nullable<TranscriptionSessionObject.TurnDetection>
    var inputAudioNoiseReduction = Nullable<String>(nil)
    var include: [String]
    enum CodingKeys: String, CodingKey {
        case id, object, include
        case inputAudioFormat = "input_audio_format"
        case inputAudioTranscription = "input_audio_transcription"
        case turnDetection = "turn_detection"
        case inputAudioNoiseReduction = "input_audio_noise_reduction"
    }
    init(id: String, settings: RealtimeSessionSettings) {
        self.id = id
        inputAudioFormat = settings.format.encoding.rawValue
        inputAudioTranscription = .init(model: settings.model, language: Nullable(settings.language), prompt: Nullable(settings.prompt))
        turnDetection = Nullable(settings.turnDetection.map(TranscriptionSessionObject.TurnDetection.init))
        include = settings.include
    }
}

/// `session.created`: the first event of every session.
struct SessionCreated: RealtimeServerEvent {
    static let type = "session.created"
    var session: TranscriptionSessionObject
}

/// `session.updated`: the effective configuration after a `session.update`.
struct SessionUpdated: RealtimeServerEvent {
    static let type = "session.updated"
    var session: TranscriptionSessionObject
}

/// `transcription_session.updated`: the effective configuration after a `transcription_session.update`.
struct TranscriptionSessionUpdated: RealtimeServerEvent {
    static let type = "transcription_session.updated"
    var session: BetaTranscriptionSessionObject
}

/// `input_audio_buffer.speech_started`.
struct InputAudioBufferSpeechStarted: RealtimeServerEvent {
    static let type = "input_audio_buffer.speech_started"
    var audioStartMs: Int
    var itemID: String
    enum CodingKeys: String, CodingKey {
        case audioStartMs = "audio_start_ms"
        case itemID = "item_id"
    }
}

/// `input_audio_buffer.speech_stopped`.
struct InputAudioBufferSpeechStopped: RealtimeServerEvent {
    static let type = "input_audio_buffer.speech_stopped"
    var audioEndMs: Int
    var itemID: String
    enum CodingKeys: String, CodingKey {
        case audioEndMs = "audio_end_ms"
        case itemID = "item_id"
    }
}

/// `input_audio_buffer.committed`.
struct InputAudioBufferCommitted: RealtimeServerEvent {
    static let type = "input_audio_buffer.committed"
    var previousItemID: Nullable<String>
    var itemID: String
    enum CodingKeys: String, CodingKey {
        case previousItemID = "previous_item_id"
        case itemID = "item_id"
    }
}

/// `input_audio_buffer.cleared`.
struct InputAudioBufferCleared: RealtimeServerEvent {
    static let type = "input_audio_buffer.cleared"
}

/// The user message item a committed turn becomes.
struct RealtimeItem: Encodable, Sendable {
    struct Content: Encodable, Sendable {
        var type = "input_audio"
        var transcript: Nullable<String>
    }
    var id: String
    var object = "realtime.item"
    var type = "message"
    var status = "completed"
    var role = "user"
    var content: [Content]

    init(id: String, transcript: String?) {
        self.id = id
        content = [Content(transcript: Nullable(transcript))]
    }
}

/// The fields of the `conversation.item.*` events: the item and the one before it.
struct ConversationItemFields: Encodable, Sendable {
    var previousItemID: Nullable<String>
    var item: RealtimeItem
    enum CodingKeys: String, CodingKey {
        case previousItemID = "previous_item_id"
        case item
    }
}

/// `conversation.item.added` (current form): a committed turn's item.
struct ConversationItemAdded: RealtimeServerEvent {
    static let type = "conversation.item.added"
    var fields: ConversationItemFields
    func encode(to encoder: any Encoder) throws { try fields.encode(to: encoder) }
}

/// `conversation.item.created` (earlier form): a committed turn's item.
struct ConversationItemCreated: RealtimeServerEvent {
    static let type = "conversation.item.created"
    var fields: ConversationItemFields
    func encode(to encoder: any Encoder) throws { try fields.encode(to: encoder) }
}

/// `conversation.item.done` (current form): the item with its final transcript.
struct ConversationItemDone: RealtimeServerEvent {
    static let type = "conversation.item.done"
    var fields: ConversationItemFields
    func encode(to encoder: any Encoder) throws { try fields.encode(to: encoder) }
}

/// One token's log-probability, as in deltas and `completed` with `include` logprobs.
struct RealtimeLogprob: Encodable, Sendable, Equatable {
    var token: String
    var logprob: Double
    var bytes: [UInt8]

    init(_ token: TokenLogprob) {
        self.token = token.token
        self.logprob = token.logprob
        self.bytes = token.bytes
    }
}

/// `conversation.item.input_audio_transcription.delta`: text that became stable.
struct ConversationItemInputAudioTranscriptionDelta: RealtimeServerEvent {
    static let type = "conversation.item.input_audio_transcription.delta"
    var itemID: String
    var contentIndex = 0
    var delta: String
    var logprobs: [RealtimeLogprob]?
    enum CodingKeys: String, CodingKey {
        case itemID = "item_id"
        case contentIndex = "content_index"
        case delta, logprobs
    }
}

/// `conversation.item.input_audio_transcription.completed`: the turn's transcript.
struct ConversationItemInputAudioTranscriptionCompleted: RealtimeServerEvent {
    static let type = "conversation.item.input_audio_transcription.completed"
    /// Usage of a duration-billed model, as OpenAI reports it for `whisper-1`.
    struct Usage: Encodable, Sendable {
        var type = "duration"
        var seconds: Double
    }
    var itemID: String
    var contentIndex = 0
    var transcript: String
    var usage: Usage
    var logprobs: [RealtimeLogprob]?
    enum CodingKeys: String, CodingKey {
        case itemID = "item_id"
        case contentIndex = "content_index"
        case transcript, usage, logprobs
    }
}

/// `conversation.item.input_audio_transcription.failed`.
struct ConversationItemInputAudioTranscriptionFailed: RealtimeServerEvent {
    static let type = "conversation.item.input_audio_transcription.failed"
    struct Detail: Encodable, Sendable {
        var type: String
        var code: Nullable<String>
        var message: String
        var param: Nullable<String>
    }
    var itemID: String
    var contentIndex = 0
    var error: Detail
    enum CodingKeys: String, CodingKey {
        case itemID = "item_id"
        case contentIndex = "content_index"
        case error
    }
}

/// `error`: a client event was refused (or the session hit a limit); the session goes on unless it says otherwise.
struct RealtimeErrorEvent: RealtimeServerEvent {
    static let type = "error"
    struct Detail: Encodable, Sendable {
        var type: String
        var code: Nullable<String>
        var message: String
        var param: Nullable<String>
        var eventID: Nullable<String>
        enum CodingKeys: String, CodingKey {
            case type, code, message, param
            case eventID = "event_id"
        }
    }
    var error: Detail

    init(_ error: RealtimeProtocolError, eventID: String?) {
        self.error = Detail(
            type: error.type, code: Nullable(error.code), message: error.message, param: Nullable(error.param), eventID: Nullable(eventID))
    }
}
