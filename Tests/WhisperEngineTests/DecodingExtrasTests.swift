import Foundation
import Testing

@testable import WhisperEngine

/// Per-token log-probabilities, best-of sampling and the hallucination filter, with real models on real speech.
@Suite(.enabled(if: TestResources.hasTinyEn, "needs models/tiny.en (make model)"), .serialized) struct DecodingExtrasTests {
    static let speech = ["hello-world", "directions", "weather"]

    static func samples(_ name: String) throws -> [Float] {
        try TestResources.samples("speech/\(name).wav")
    }

    /// Greedy, beam search and sampling all report one log-probability per text token, never above 0, that spell out
    /// the text; with the window's timestamps and end-of-text they make up the segments' `avg_logprob`.
    @Test(arguments: [("greedy", 1, Float(0)), ("beam", 5, Float(0)), ("sampling", 1, Float(0.6))])
    func logprobsOfEveryTextToken(mode: String, beamSize: Int, temperature: Float) throws {
        var options = TranscriptionOptions()
        options.beamSize = beamSize
        options.temperatures = [temperature]
        let transcript = try TestResources.model.transcribe(try Self.samples("hello-world"), options: options)
        let endOfText = TestResources.model.specialTokens.endOfText
        let textTokens = transcript.segments.flatMap { $0.tokens.filter { $0 < endOfText } }
        #expect(!textTokens.isEmpty)
        #expect(transcript.logprobs.count == textTokens.count)
        #expect(transcript.logprobs.allSatisfy { $0.logprob <= 0 && $0.logprob > -30 })
        #expect(transcript.logprobs.map(\.token).joined().trimmingWhitespace() == transcript.text)
        #expect(transcript.logprobs.allSatisfy { Array($0.token.utf8) == $0.bytes })
        // One window: avg_logprob = (Σ token log-probabilities + end-of-text's) / (tokens + 1).
        #expect(Set(transcript.segments.map(\.seek)).count == 1)
        let all = transcript.segments.flatMap(\.tokenLogprobs).map(Double.init)
        let tokenCount = transcript.segments.reduce(0) { $0 + $1.tokens.count }
        let endOfTextLogprob = transcript.segments[0].avgLogprob * Double(tokenCount + 1) - all.reduce(0, +)
        print("\(mode): \(textTokens.count) text tokens, mean text logprob \(transcript.logprobs.map(\.logprob).reduce(0, +) / Double(textTokens.count)), avg_logprob \(transcript.segments[0].avgLogprob), end-of-text logprob \(endOfTextLogprob)")
        #expect(endOfTextLogprob <= 1e-4 && endOfTextLogprob > -3)
    }

    /// Sampling more candidates and keeping the likeliest raises the average log-probability.
    @Test func bestOfPicksTheLikeliestSample() throws {
        var totals: [Int: Double] = [:]
        for bestOf in [1, 5] {
            var options = TranscriptionOptions()
            options.temperatures = [0.8]
            options.bestOf = bestOf
            for name in Self.speech {
                let transcript = try TestResources.model.transcribe(try Self.samples(name), options: options)
                totals[bestOf, default: 0] += transcript.segments.map(\.avgLogprob).reduce(0, +) / Double(max(1, transcript.segments.count))
            }
        }
        print("best-of: mean avg_logprob best_of=1 \(totals[1]! / 3), best_of=5 \(totals[5]! / 3)")
        #expect(totals[5]! > totals[1]!)
    }

    /// The prompt conditions the first window: names in it are spelled as given.
    @Test func promptHintsVocabulary() throws {
        let samples = try Self.samples("moon-landing")
        let plain = try TestResources.model.transcribe(samples)
        var options = TranscriptionOptions()
        options.initialPrompt = "Neil Armstrong, Apollo 11."
        let prompted = try TestResources.model.transcribe(samples, options: options)
        print("prompt: '\(plain.text)' → '\(prompted.text)'")
        #expect(!plain.text.contains("Armstrong"))
        #expect(prompted.text.contains("Armstrong"))
    }

    /// Nothing removed from clean speech: the same text as without the filter, and an empty report.
    @Test func filterLeavesCleanSpeechAlone() throws {
        var options = TranscriptionOptions()
        options.filterHallucinations = true
        for name in Self.speech {
            let samples = try Self.samples(name)
            let filtered = try TestResources.model.transcribe(samples, options: options)
            let plain = try TestResources.model.transcribe(samples)
            #expect(filtered.filtered == [])
            #expect(plain.filtered == nil)
            #expect(filtered.text == plain.text)
        }
    }

    /// Whisper's "you" on digital silence (what the reference writes for silence-30s) is reported as a silence
    /// hallucination when the energy guard is off.
    @Test func filterRemovesTheSilenceHallucination() throws {
        var options = TranscriptionOptions()
        options.silenceGuard = false
        let samples = try Self.samples("silence-30s")
        let unfiltered = try TestResources.model.transcribe(samples, options: options)
        options.filterHallucinations = true
        let filtered = try TestResources.model.transcribe(samples, options: options)
        print("silence: unfiltered '\(unfiltered.text)', removed \(filtered.filtered ?? [])")
        #expect(unfiltered.text == "you")
        #expect(filtered.segments.isEmpty)
        #expect(filtered.filtered?.map(\.reason) == [.silenceHallucination])
        #expect(filtered.filtered?.first?.text.trimmingWhitespace() == "you")
    }

    /// Whisper base loops on two multilingual clips when decoding greedily; the filter cuts each loop to its first
    /// occurrence and reports the rest.
    @Test(.enabled(if: TestResources.hasBase, "needs models/base (make model-base)")) func filterCutsRealDecodingLoops() throws {
        var options = MultilingualTests.options()
        var removedLoops = 0
        for name in ["es-beach", "fr-music"] {
            let samples = try TestResources.samples("multilingual/\(name).flac")
            options.filterHallucinations = false
            let looping = try MultilingualTests.base.transcribe(samples, options: options)
            options.filterHallucinations = true
            let filtered = try MultilingualTests.base.transcribe(samples, options: options)
            let removed = filtered.filtered ?? []
            print("\(name): looping '\(looping.text)'")
            print("\(name): filtered '\(filtered.text)', removed \(removed.map { "[\($0.reason.rawValue) \($0.start)–\($0.end)] \($0.text)" })")
            #expect(filtered.text.count < looping.text.count)
            #expect(!removed.isEmpty)
            #expect(removed.allSatisfy { !$0.text.isEmpty && $0.start <= $0.end })
            #expect(Self.longestRepeat(WordErrorRate.words(filtered.text)) < 3)
            removedLoops += removed.filter { $0.reason == .repetition || $0.reason == .repeatedSegment }.count
        }
        #expect(removedLoops >= 2)
    }

    /// The most consecutive repeats of any phrase of one to eight words.
    static func longestRepeat(_ words: [String]) -> Int {
        var best = 1
        for period in 1...8 {
            var i = 0
            while i + period <= words.count {
                var count = 1
                while i + (count + 1) * period <= words.count && words[(i + count * period)..<(i + (count + 1) * period)] == words[i..<(i + period)] {
                    count += 1
                }
                best = max(best, count)
                i += 1
            }
        }
        return best
    }
}
