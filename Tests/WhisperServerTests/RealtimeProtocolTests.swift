import Foundation
import Synchronization
import Testing

@testable import WhisperServer

/// The Realtime protocol without a socket: audio formats, resampling, event decoding, and a session's answers to
/// client events that need no inference.
@Suite struct RealtimeProtocolTests {
    @Test func g711ExpandsAsTheStandardSays() {
        #expect(RealtimeAudioFormat.muLawTable[0xFF] == 0)
        #expect(RealtimeAudioFormat.muLawTable[0x80] == 32124)
        #expect(RealtimeAudioFormat.muLawTable[0x00] == -32124)
        #expect(RealtimeAudioFormat.aLawTable[0xD5] == 8)
        #expect(RealtimeAudioFormat.aLawTable[0x55] == -8)
        #expect(RealtimeAudioFormat.aLawTable[0xAA] == 32256)
        #expect(RealtimeAudioFormat.aLawTable[0x2A] == -32256)
    }

    @Test func pcm16IsLittleEndianAndWholeSamplesOnly() throws {
        let format = RealtimeAudioFormat.pcm24k
        #expect(try format.samples(from: [0x00, 0x80, 0xFF, 0x7F]) == [-1, Float(32767) / 32768])
        #expect(throws: RealtimeProtocolError.self) { try format.samples(from: [0x00]) }
    }

    @Test func resamplingInChunksEqualsResamplingAtOnceAndKeepsTheLevel() {
        let input = (0..<24_000).map { Float(sin(2 * Double.pi * 440 * Double($0) / 24_000)) * 0.5 }
        var whole = StreamingResampler(inputRate: 24_000)
        let once = whole.process(input)
        var chunked = StreamingResampler(inputRate: 24_000)
        var pieces: [Float] = []
        var offset = 0
        var size = 7
        while offset < input.count {
            let end = min(input.count, offset + size)
            pieces += chunked.process(Array(input[offset..<end]))
            offset = end
            size = size * 3 % 997 + 1
        }
        #expect(pieces == once)
        #expect(once.count > 15_950 && once.count <= 16_000)
        let peak = once[1000..<15_000].map(abs).max() ?? 0
        #expect(abs(peak - 0.5) < 0.01)
    }

    @Test func eventsAreDecodedByType() throws {
        let update = RealtimeClientEvent.decode(
            #"{"type":"session.update","event_id":"e1","session":{"type":"transcription","audio":{"input":{"format":{"type":"audio/pcm","rate":16000},"turn_detection":null,"transcription":{"model":"whisper-1","language":"en"}}},"include":["item.input_audio_transcription.logprobs"]}}"#
        )
        guard case .success(.sessionUpdate(let event)) = update else {
            Issue.record("not decoded: \(update)")
            return
        }
        #expect(event.eventID == "e1")
        #expect(event.session.format == RealtimeAudioFormat(encoding: .pcm16, rate: 16_000))
        #expect(event.session.turnDetection.map { $0 == nil } == true)
        #expect(event.session.transcription?.language == "en")

        guard case .success(.transcriptionSessionUpdate(let beta)) = RealtimeClientEvent.decode(
            #"{"type":"transcription_session.update","session":{"input_audio_format":"g711_alaw","turn_detection":{"type":"server_vad","silence_duration_ms":800}}}"#
        ) else {
            Issue.record("earlier form not decoded")
            return
        }
        #expect(beta.session.format?.encoding == .aLaw)
        #expect(beta.session.turnDetection??.silenceDurationMs == 800)
    }

    @Test(arguments: [
        (#"{"type":"response.create","event_id":"x"}"#, "invalid_event_type", "x"),
        (#"{"type":"input_audio_buffer.append","event_id":"y"}"#, "missing_required_parameter", "y"),
        (#"{"type":"input_audio_buffer.append","audio":5}"#, "invalid_type", nil),
        (#"[1,2]"#, "invalid_json", nil),
        (#"{"type":"session.update","event_id":"z","session":{"type":"realtime"}}"#, "invalid_value", "z"),
    ])
    func badEventsNameTheirProblem(message: String, code: String, eventID: String?) {
        guard case .failure(let failure) = RealtimeClientEvent.decode(message) else {
            Issue.record("accepted: \(message)")
            return
        }
        #expect(failure.error.code == code)
        #expect(failure.eventID == eventID)
    }

    /// Collects what a session sends.
    final class Outbox: Sendable {
        let events = Mutex<[[String: String]]>([])
        func append(_ text: String) {
            let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
            events.withLock { $0.append(object.mapValues { "\($0)" }) }
        }
        var types: [String] { events.withLock { $0.compactMap { $0["type"] } } }
    }

    @Test func sessionAnswersUpdatesClearsAndEmptyCommits() async throws {
        let outbox = Outbox()
        let session = RealtimeSession(
            defaultModel: "tiny.en", limits: ServerConfiguration.Realtime(), metrics: nil, knowsModel: { $0 == "whisper-1" || $0 == "tiny.en" },
            send: { outbox.append($0) })
        await session.start()
        await session.receive(#"{"type":"session.update","session":{"type":"transcription","audio":{"input":{"turn_detection":null}}}}"#)
        await session.receive(#"{"type":"session.update","event_id":"m","session":{"audio":{"input":{"transcription":{"model":"gpt-9"}}}}}"#)
        await session.receive(#"{"type":"input_audio_buffer.commit","event_id":"c"}"#)
        let silence = Data(count: 24_000 * 2 / 5).base64EncodedString()
        await session.receive(#"{"type":"input_audio_buffer.append","audio":"\#(silence)"}"#)
        await session.receive(#"{"type":"input_audio_buffer.clear"}"#)
        await session.receive(#"{"type":"input_audio_buffer.append","audio":"\#(silence)"}"#)
        await session.receive(#"{"type":"input_audio_buffer.commit"}"#)
        #expect(
            outbox.types == [
                "session.created", "session.updated", "error", "error", "input_audio_buffer.cleared", "input_audio_buffer.committed",
                "conversation.item.added", "conversation.item.created",
            ])
        let errors = outbox.events.withLock { $0.filter { $0["type"] == "error" } }
        #expect(errors.first?["error"]?.contains("model_not_found") == true)
        #expect(errors.last?["error"]?.contains("input_audio_buffer_commit_empty") == true)
        let pass = try #require(await session.nextPass(decodingOptions: .init()))
        #expect(pass.kind == .final)
        // 0.2 s at 16 kHz, less the few samples the resampler holds until the audio after them arrives.
        #expect(pass.input.samples.count > 3_150 && pass.input.samples.count <= 3_200)
    }
}
