import Foundation
import Testing

@testable import WhisperEngine

/// Live transcription's pure parts: local agreement, append-only deltas, window roll-over on long turns, and the
/// streaming voice-activity detector; then the whole loop on tiny.en with a real fixture.
@Suite(.serialized) struct IncrementalTranscriptionTests {
    static let rate = IncrementalTranscription.sampleRate

    @Test func agreementCommitsWhatTwoPassesShare() {
        var agreement = LocalAgreement()
        #expect(agreement.update(with: [" The", " quick"]).isEmpty)
        // The last word both passes share stays open: it may be cut short.
        #expect(agreement.update(with: [" The", " quick", " brown"]) == [" The"])
        // Punctuation and case that change between passes do not hold text back.
        #expect(agreement.update(with: [" the", " quick,", " brown", " fox"]) == [" quick,"])
        // A pass that rewrites committed words commits nothing, and the next one starts from it.
        #expect(agreement.update(with: [" A", " quick", " brown", " fox"]).isEmpty)
        #expect(agreement.update(with: [" The", " quick", " brown", " fox", " jumps"]).isEmpty)
        #expect(agreement.update(with: [" The", " quick", " brown", " fox", " jumps"]) == [" brown", " fox"])
        #expect(agreement.committed == [" The", " quick,", " brown", " fox"])
    }

    @Test func tokensGoToTheWordTheyStartIn() {
        let tokens = [" Hel", "lo", ",", " wor", "ld", "."].map { TokenLogprob(token: $0, logprob: -0.1, bytes: Array($0.utf8)) }
        let grouped = IncrementalTranscription.tokenLogprobs(of: [" Hello,", " world."], tokens: tokens)
        #expect(grouped.map { $0.map(\.token) } == [[" Hel", "lo", ","], [" wor", "ld", "."]])
    }

    @Test func wordsKeepTheirLeadingSpace() {
        #expect(IncrementalTranscription.splitWords(" Hello, world.  Again") == [" Hello,", " world.", "  Again"])
        #expect(IncrementalTranscription.splitWords("First word") == ["First", " word"])
    }

    /// A scripted "model" that hears `words` (one every `wordSeconds`, grouped five to a segment) and writes the words
    /// whose end the window reaches, plus a garbled half-heard word when one is in progress, as Whisper does at a cut.
    struct ScriptedModel {
        let words: [String]
        let wordSeconds: Double

        func transcribe(_ pass: IncrementalTranscription.Pass) -> Transcript {
            let rate = Double(IncrementalTranscription.sampleRate)
            let windowStart = Double(pass.windowStart) / rate
            let end = Double(pass.end) / rate
            var segments: [Segment] = []
            var current: [String] = []
            var segmentStart: Double?
            for (index, word) in words.enumerated() {
                let wordStart = Double(index) * wordSeconds
                let wordEnd = wordStart + wordSeconds
                guard wordStart >= windowStart - 1e-9 else { continue }
                if wordEnd > end {
                    if wordStart < end { current.append(word + "-") }
                    break
                }
                if segmentStart == nil { segmentStart = wordStart }
                current.append(word)
                if (index + 1) % 5 == 0 {
                    segments.append(Self.segment(current, from: segmentStart! - windowStart, to: wordEnd - windowStart))
                    current = []
                    segmentStart = nil
                }
            }
            if !current.isEmpty {
                segments.append(Self.segment(current, from: (segmentStart ?? end) - windowStart, to: end - windowStart))
            }
            return Transcript(task: .transcribe, language: "en", duration: end - windowStart, segments: segments)
        }

        static func segment(_ words: [String], from start: Double, to end: Double) -> Segment {
            Segment(
                id: 0, seek: 0, start: max(0, start), end: end, text: words.map { " " + $0 }.joined(), tokens: [], temperature: 0,
                avgLogprob: 0, compressionRatio: 1, noSpeechProb: 0)
        }
    }

    @Test func longTurnsRollOverWithoutLosingOrRepeatingWords() {
        let words = (0..<120).map { "w\($0)" }
        let model = ScriptedModel(words: words, wordSeconds: 0.45)
        var live = IncrementalTranscription(maxWindowSeconds: 8, hardWindowSeconds: 12)
        let step = Self.rate / 2
        var deltas: [String] = []
        var longestWindow = 0.0
        let total = Int(Double(words.count) * 0.45 * Double(Self.rate))
        var fed = 0
        while fed < total {
            let chunk = min(step, total - fed)
            live.append([Float](repeating: 0, count: chunk))
            fed += chunk
            let pass = live.nextPass()
            longestWindow = max(longestWindow, Double(pass.samples.count) / Double(Self.rate))
            // The prompt is the text before the window, never the window's own words.
            let firstInWindow = Int((Double(pass.windowStart) / Double(Self.rate) / 0.45).rounded())
            let promptWords = pass.prompt?.split(separator: " ").map(String.init) ?? []
            #expect(promptWords == Array(words[..<firstInWindow].suffix(promptWords.count)))
            #expect(promptWords.count == min(firstInWindow, IncrementalTranscription.promptWords))
            deltas.append(live.accept(model.transcribe(pass), of: pass).text)
        }
        let final = live.nextPass()
        deltas.append(live.finish(model.transcribe(final), of: final).text)
        #expect(deltas.joined() == live.text)
        #expect(live.text == words.joined(separator: " "))
        #expect(longestWindow <= 12.5)
        #expect(live.windowStart > 0)
    }

    @Test func aDisagreeingFinalPassContinuesAfterTheCommittedWords() {
        var live = IncrementalTranscription()
        live.append([Float](repeating: 0, count: Self.rate * 2))
        let pass = live.nextPass()
        let first = Transcript(
            task: .transcribe, language: "en", duration: 2, segments: [ScriptedModel.segment(["One", "two", "three", "four"], from: 0, to: 2)])
        #expect(live.accept(first, of: pass).isEmpty)
        #expect(live.accept(first, of: pass).text == "One two three")
        let final = Transcript(
            task: .transcribe, language: "en", duration: 2,
            segments: [ScriptedModel.segment(["One,", "too", "three", "four", "five"], from: 0, to: 2)])
        #expect(live.finish(final, of: live.nextPass()).text == " four five")
        #expect(live.text == "One two three four five")
    }

    @Test func streamingDetectorFindsOneTurnInSilence() throws {
        let speech = try TestResources.samples("speech/lighthouse.wav")
        let audio = [Float](repeating: 0, count: Self.rate) + speech + [Float](repeating: 0, count: Self.rate * 2)
        var vad = StreamingVoiceActivity(options: VoiceActivityOptions())
        var events: [StreamingVoiceActivity.Event] = []
        var offset = 0
        while offset < audio.count {
            let end = min(audio.count, offset + 320)
            events += vad.append(Array(audio[offset..<end]))
            offset = end
        }
        print("streaming VAD events: \(events)")
        #expect(events.count == 2)
        guard events.count == 2, case .speechStarted(let start) = events[0], case .speechStopped(let stop) = events[1] else { return }
        let speechStart = Double(Self.rate) * 1.0
        let speechEnd = speechStart + Double(speech.count)
        #expect(abs(Double(start) - (speechStart - 0.3 * Double(Self.rate))) < 0.4 * Double(Self.rate))
        #expect(Double(stop) > speechEnd - 0.5 * Double(Self.rate) && Double(stop) < speechEnd + 1.2 * Double(Self.rate))
    }

    /// The loop the Realtime endpoint runs, on tiny.en: a pass every half second while the fixture "arrives", then a
    /// final pass. The deltas concatenate to the turn's text, which matches the transcription of the whole file.
    @Test(.enabled(if: TestResources.hasTinyEn, "needs models/tiny.en (make model)"))
    func liveDeltasMatchTheWholeFileTranscript() throws {
        let model = TestResources.model
        let samples = try TestResources.samples("speech/lighthouse.wav")
        var options = TranscriptionOptions()
        options.filterHallucinations = true
        let whole = try model.transcribe(samples, options: options).text
        var live = IncrementalTranscription()
        var deltas: [String] = []
        let step = Self.rate / 2
        var offset = 0
        var logprobs: [TokenLogprob] = []
        var liveOptions = options
        liveOptions.temperatures = [0]
        while offset < samples.count {
            let end = min(samples.count, offset + step)
            live.append(Array(samples[offset..<end]))
            offset = end
            let pass = live.nextPass()
            let delta = live.accept(try model.transcribe(pass.samples, options: pass.options(liveOptions)), of: pass)
            deltas.append(delta.text)
            logprobs += delta.logprobs
        }
        let final = live.nextPass()
        let last = live.finish(try model.transcribe(final.samples, options: final.options(options)), of: final)
        deltas.append(last.text)
        logprobs += last.logprobs
        let released = deltas.filter { !$0.isEmpty }
        print("live deltas: \(released)\nwhole: \(whole)")
        #expect(deltas.joined() == live.text)
        #expect(released.count >= 2)
        // The tokens of the released words spell the released text, each with its log-probability.
        #expect(String(decoding: logprobs.flatMap(\.bytes), as: UTF8.self).trimmingCharacters(in: .whitespaces) == live.text)
        #expect(logprobs == live.logprobs && logprobs.allSatisfy { $0.logprob <= 0 })
        // Within 0.02 of the whole file's word error rate against what was said.
        let said = try String(contentsOf: TestResources.fixtures.appendingPathComponent("speech/lighthouse.txt"), encoding: .utf8)
        let (liveErrors, words) = WordErrorRate.errors(reference: said, hypothesis: live.text)
        let (wholeErrors, _) = WordErrorRate.errors(reference: said, hypothesis: whole)
        #expect(Double(liveErrors) <= Double(wholeErrors) + 0.02 * Double(words) + 1e-9, "live: \(live.text)")
    }
}
