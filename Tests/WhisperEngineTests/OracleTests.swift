import Foundation
import Testing
import WhisperEngine
import WhisperTensor

/// The engine against the oracle: faster-whisper 1.2.1 on the same weights and the same committed fixtures.
@Suite(.enabled(if: TestResources.hasTinyEn, "needs models/tiny.en (make model)"), .serialized) struct OracleTests {
    static let speechFixtures = FixtureManifest.speech.fixtures.filter { ["speech", "short", "quiet"].contains($0.kind) }

    static func greedyOptions() -> TranscriptionOptions {
        var options = TranscriptionOptions()
        options.temperatures = [0]
        return options
    }

    static func transcribe(_ file: String, options: TranscriptionOptions = greedyOptions()) throws -> Transcript {
        try TestResources.model.transcribe(try TestResources.samples("speech/" + file), options: options)
    }

    @Test func greedyTranscriptsMatchTheOracle() throws {
        var identical = 0
        var errors = 0
        var words = 0
        var sourceErrors = (ours: 0, oracle: 0, words: 0)
        for fixture in Self.speechFixtures {
            let golden = try #require(Goldens.tinyEn.greedy[fixture.name])
            let transcript = try Self.transcribe(fixture.file)
            if transcript.text == golden.text.trimmingCharacters(in: .whitespaces) {
                identical += 1
                // Where the texts match, so must the segment boundaries.
                #expect(transcript.segments.count == golden.segments.count, "\(fixture.name)")
                for (ours, theirs) in zip(transcript.segments, golden.segments) {
                    #expect(abs(ours.start - theirs.start) <= 0.1 && abs(ours.end - theirs.end) <= 0.1, "\(fixture.name)")
                }
            }
            let e = WordErrorRate.errors(reference: golden.text, hypothesis: transcript.text)
            errors += e.errors
            words += e.words
            if let source = fixture.text {
                let ours = WordErrorRate.errors(reference: source, hypothesis: transcript.text)
                let oracle = WordErrorRate.errors(reference: source, hypothesis: golden.text)
                sourceErrors = (sourceErrors.ours + ours.errors, sourceErrors.oracle + oracle.errors, sourceErrors.words + ours.words)
            }
        }
        let share = Double(identical) / Double(Self.speechFixtures.count)
        let wer = Double(errors) / Double(max(words, 1))
        let ourSourceWER = Double(sourceErrors.ours) / Double(max(sourceErrors.words, 1))
        let oracleSourceWER = Double(sourceErrors.oracle) / Double(max(sourceErrors.words, 1))
        print("oracle: \(identical)/\(Self.speechFixtures.count) identical, WER vs oracle \(wer), "
            + "WER vs source text: ours \(ourSourceWER), faster-whisper \(oracleSourceWER)")
        #expect(Self.speechFixtures.count >= 10)
        #expect(share >= 0.9)
        #expect(wer <= 0.02)
        #expect(ourSourceWER <= oracleSourceWER + 0.02)
    }

    /// The reduced-precision settings (a bfloat16 encoder where the CPU has bfloat16 instructions, int8 decoder weights, and both) keep the oracle's
    /// accuracy against the source texts: their transcripts may differ from the oracle's in places (as faster-whisper's
    /// int8 ones do), but not be worse, and they repeat exactly.
    @Test(arguments: [(ProductPrecision.bfloat16, DecoderWeights.checkpoint), (.float32, .int8), (.bfloat16, .int8)])
    func reducedPrecisionKeepsTheOracleAccuracy(encoder: ProductPrecision, decoder: DecoderWeights) throws {
        if encoder == .bfloat16 && !ProductPrecision.bfloat16IsAccelerated && decoder == .checkpoint { return }
        let model = TestResources.model.withDecoderWeights(decoder)
        var options = Self.greedyOptions()
        options.encoderPrecision = encoder
        var identical = 0
        var (errors, words) = (0, 0)
        var sourceErrors = (ours: 0, oracle: 0, words: 0)
        for fixture in Self.speechFixtures {
            let golden = try #require(Goldens.tinyEn.greedy[fixture.name])
            let transcript = try model.transcribe(try TestResources.samples("speech/" + fixture.file), options: options)
            if transcript.text == golden.text.trimmingCharacters(in: .whitespaces) { identical += 1 }
            let e = WordErrorRate.errors(reference: golden.text, hypothesis: transcript.text)
            (errors, words) = (errors + e.errors, words + e.words)
            if let source = fixture.text {
                let ours = WordErrorRate.errors(reference: source, hypothesis: transcript.text)
                let oracle = WordErrorRate.errors(reference: source, hypothesis: golden.text)
                sourceErrors = (sourceErrors.ours + ours.errors, sourceErrors.oracle + oracle.errors, sourceErrors.words + ours.words)
            }
        }
        let wer = Double(errors) / Double(max(words, 1))
        let ourSourceWER = Double(sourceErrors.ours) / Double(max(sourceErrors.words, 1))
        let oracleSourceWER = Double(sourceErrors.oracle) / Double(max(sourceErrors.words, 1))
        print("\(encoder.available) encoder, \(decoder) decoder: \(identical)/\(Self.speechFixtures.count) identical to the "
            + "oracle, WER vs oracle \(wer), WER vs source text: ours \(ourSourceWER), faster-whisper float32 \(oracleSourceWER)")
        #expect(wer <= 0.1)
        #expect(ourSourceWER <= oracleSourceWER + 0.02)
        let samples = try TestResources.samples("speech/hello-world.wav")
        #expect(try model.transcribe(samples, options: options).text == (try model.transcribe(samples, options: options).text))
        if decoder == .int8 { #expect(model.info.decoderStepBytes < TestResources.model.info.decoderStepBytes * 6 / 10) }
    }

    /// Word boundaries within 0.2 s of faster-whisper's `word_timestamps=True` for at least 90% of words.
    @Test func wordTimestampsMatchTheOracle() throws {
        var options = Self.greedyOptions()
        options.wordTimestamps = true
        var total = 0
        var close = 0
        for fixture in Self.speechFixtures + FixtureManifest.speech.fixtures.filter({ $0.kind == "long" }) {
            let transcript = try Self.transcribe(fixture.file, options: options)
            let golden = Goldens.tinyEn.words[fixture.name] ?? []
            #expect(transcript.words.map(\.word) == golden.map(\.word), "\(fixture.name)")
            for (ours, theirs) in zip(transcript.words, golden) {
                total += 1
                if abs(ours.start - theirs.start) <= 0.2 && abs(ours.end - theirs.end) <= 0.2 { close += 1 }
            }
            for segment in transcript.segments {
                let words = try #require(segment.words)
                #expect(words.map(\.word).joined() == segment.text)
                #expect(words.allSatisfy { $0.start <= $0.end && $0.probability > 0 && $0.probability <= 1 })
            }
        }
        print("word timing: \(close)/\(total) words within 0.2 s of faster-whisper")
        #expect(total > 400)
        #expect(close * 10 >= total * 9)
    }

    @Test func longFormSeeksLikeTheOracle() throws {
        let golden = try #require(Goldens.tinyEn.greedy["long-form"])
        let transcript = try Self.transcribe("long-form.flac")
        #expect(transcript.duration > 180)
        #expect(transcript.statistics.encodedWindows >= 7)
        let wer = WordErrorRate.errors(reference: golden.text, hypothesis: transcript.text)
        #expect(Double(wer.errors) / Double(wer.words) <= 0.02)
        #expect(transcript.segments.count == golden.segments.count)
        var matched = 0
        for (ours, theirs) in zip(transcript.segments, golden.segments) where ours.text == theirs.text {
            matched += 1
            #expect(abs(ours.start - theirs.start) <= 0.1 && abs(ours.end - theirs.end) <= 0.1)
        }
        #expect(matched * 10 >= golden.segments.count * 9)
        // Segments are ordered, within the audio, and their ids count from 0.
        for (index, segment) in transcript.segments.enumerated() {
            #expect(segment.id == index)
            #expect(segment.start < segment.end && segment.end <= transcript.duration + 0.5)
        }
    }

    /// Beam search finds what greedy decoding misses on these clips; the oracle's beam-5 text is the target.
    @Test(arguments: ["hello-world", "recipe", "travel-names", "server-port"])
    func beamSearchMatchesTheOracle(_ name: String) throws {
        var options = TranscriptionOptions()
        options.beamSize = 5
        let golden = try #require(Goldens.tinyEn.beam5[name])
        let transcript = try Self.transcribe(name + ".wav", options: options)
        #expect(transcript.text == golden.text.trimmingCharacters(in: .whitespaces))
        #expect(transcript.text != Goldens.tinyEn.greedy[name]?.text.trimmingCharacters(in: .whitespaces))
    }

    /// Impossible quality thresholds force every temperature to be tried; the last one is reported.
    @Test func temperatureFallbackRetriesAtHigherTemperatures() throws {
        var options = TranscriptionOptions()
        options.compressionRatioThreshold = 0.1
        let transcript = try Self.transcribe("directions.wav", options: options)
        #expect(transcript.segments.allSatisfy { $0.temperature == 1.0 })
        #expect(!transcript.text.isEmpty)

        let strict = try Self.transcribe("directions.wav", options: TranscriptionOptions())
        #expect(strict.segments.allSatisfy { $0.temperature == 0 })
    }

    /// faster-whisper says " you" on digital silence; the silence guard removes it.
    @Test(arguments: ["silence-30s.wav", "noise-30s.wav"])
    func silenceAndNoiseYieldNoText(_ file: String) throws {
        let transcript = try Self.transcribe(file, options: TranscriptionOptions())
        #expect(transcript.text.isEmpty)
        #expect(transcript.segments.isEmpty)
    }

    @Test func silenceGuardIsWhatRemovesTheHallucination() throws {
        var options = Self.greedyOptions()
        options.silenceGuard = false
        let transcript = try Self.transcribe("silence-30s.wav", options: options)
        #expect(transcript.text == Goldens.tinyEn.greedy["silence-30s"]?.text.trimmingCharacters(in: .whitespaces))
    }

    @Test func quietSpeechIsKept() throws {
        let transcript = try Self.transcribe("quiet-speech.wav")
        #expect(transcript.text == Goldens.tinyEn.greedy["quiet-speech"]?.text.trimmingCharacters(in: .whitespaces))
    }

    @Test func segmentsCarryOpenAIFields() throws {
        let transcript = try Self.transcribe("lighthouse.wav")
        let golden = try #require(Goldens.tinyEn.greedy["lighthouse"])
        #expect(transcript.segments.map(\.tokens) == golden.segments.map(\.tokens))
        for segment in transcript.segments {
            #expect(segment.avgLogprob < 0 && segment.avgLogprob > -1)
            #expect(segment.compressionRatio > 0 && segment.compressionRatio < 2.4)
            #expect(segment.noSpeechProb >= 0 && segment.noSpeechProb < 0.6)
        }
    }

    @Test func cancellationStopsTheWork() throws {
        #expect(throws: TranscriptionError.self) {
            _ = try TestResources.model.transcribe(try TestResources.samples("speech/long-form.flac"), isCancelled: { true })
        }
    }

    @Test func initialPromptConditionsTheFirstWindow() throws {
        var options = Self.greedyOptions()
        options.initialPrompt = "Speech recognition servers, Whisper, OpenAI."
        let prompted = try Self.transcribe("hello-world.wav", options: options)
        let plain = try Self.transcribe("hello-world.wav")
        #expect(prompted.text != plain.text)
        #expect(!prompted.text.contains("OpenAI"))
    }

    @Test func englishOnlyModelRefusesTranslation() {
        var options = TranscriptionOptions()
        options.task = .translate
        #expect { try TestResources.model.transcribe([Float](repeating: 0, count: 16_000), options: options) } throws: { error in
            (error as? TranscriptionError)?.kind == .invalidOptions
        }
        options.task = .transcribe
        options.language = "de"
        #expect { try TestResources.model.transcribe([Float](repeating: 0, count: 16_000), options: options) } throws: { error in
            (error as? TranscriptionError)?.parameter == "language"
        }
    }
}
