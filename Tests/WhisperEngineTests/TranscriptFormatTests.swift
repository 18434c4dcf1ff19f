import Foundation
import Testing
import WhisperEngine

@Suite struct TranscriptFormatTests {
    let transcript = Transcript(
        task: .transcribe, language: "en", duration: 3725.5,
        segments: [
            Segment(id: 0, seek: 0, start: 0, end: 2.5, text: " Hello there.", tokens: [50363, 15947], temperature: 0,
                    avgLogprob: -0.2, compressionRatio: 1.1, noSpeechProb: 0.01),
            Segment(id: 1, seek: 0, start: 3723.25, end: 3725.5, text: " Bye.", tokens: [50400], temperature: 0.2,
                    avgLogprob: -0.4, compressionRatio: 0.9, noSpeechProb: 0.02,
                    words: [Word(word: " Bye.", start: 3723.3, end: 3725.4, probability: 0.9)]),
        ])

    @Test func textAndJSON() throws {
        #expect(TranscriptFormat.text.render(transcript) == "Hello there. Bye.\n")
        let json = try JSONSerialization.jsonObject(with: Data(TranscriptFormat.json.render(transcript).utf8)) as? [String: Any]
        #expect(json?["text"] as? String == "Hello there. Bye.")
    }

    @Test func srtAndVTTTimestamps() {
        #expect(TranscriptFormat.srt.render(transcript) == """
            1
            00:00:00,000 --> 00:00:02,500
            Hello there.

            2
            01:02:03,250 --> 01:02:05,500
            Bye.

            """)
        #expect(TranscriptFormat.vtt.render(transcript) == """
            WEBVTT

            00:00:00.000 --> 00:00:02.500
            Hello there.

            01:02:03.250 --> 01:02:05.500
            Bye.

            """)
    }

    @Test func verboseJSONHasOpenAIFields() throws {
        let body = TranscriptFormat.verboseJSON.render(transcript)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        #expect(json["task"] as? String == "transcribe")
        #expect(json["language"] as? String == "english")
        #expect(json["duration"] as? Double == 3725.5)
        let segments = try #require(json["segments"] as? [[String: Any]])
        #expect(Set(segments[0].keys).isSuperset(of: [
            "id", "seek", "start", "end", "text", "tokens", "temperature", "avg_logprob", "compression_ratio", "no_speech_prob",
        ]))
        #expect(json["words"] == nil)
        let usage = try #require(json["usage"] as? [String: Any])
        #expect(usage["type"] as? String == "duration" && usage["seconds"] as? Int == 3726)

        let wordsOnly = try #require(
            try JSONSerialization.jsonObject(with: Data(TranscriptFormat.verboseJSON.render(transcript, granularities: .word).utf8))
                as? [String: Any])
        #expect(wordsOnly["segments"] == nil)
        #expect((wordsOnly["words"] as? [[String: Any]])?.first?["word"] as? String == " Bye.")
    }

    @Test func contentTypesAreOpenAIs() {
        #expect(TranscriptFormat.json.contentType == "application/json")
        #expect(TranscriptFormat.text.contentType == "text/plain; charset=utf-8")
        #expect(TranscriptFormat.srt.contentType == "application/x-subrip")
        #expect(TranscriptFormat.vtt.contentType == "text/vtt")
    }
}
