import Foundation
import WhisperTensor

/// Long-form transcription as the reference does it: 30 s windows, timestamp-based seeking, temperature fallback,
/// no-speech skipping, previous text as prompt.
struct Transcriber {
    /// Seconds per timestamp token.
    static let timePrecision = 0.02
    /// Mel frames per encoder position.
    static let inputStride = 2
    /// Seconds per mel frame.
    static let frameDuration = 0.01
    /// Windows and segments quieter than this RMS level (about −60 dBFS) are silence, whatever the model says.
    static let silenceRMS: Float = 0.001

    private let model: WhisperModel
    private let options: TranscriptionOptions
    private let language: String?
    private let filter: LogitFilter
    private var random = SplitMix64(seed: 0x5EED)

    init(model: WhisperModel, options: TranscriptionOptions) throws(TranscriptionError) {
        self.model = model
        self.options = options
        let special = model.specialTokens
        guard options.beamSize >= 1, options.bestOf >= 1, options.patience > 0 else {
            throw TranscriptionError(.invalidOptions, "beam size, best-of and patience must be positive", parameter: "beam_size")
        }
        guard !options.temperatures.isEmpty, options.temperatures.allSatisfy({ $0 >= 0 && $0 <= 1 }) else {
            throw TranscriptionError(.invalidOptions, "temperature must be between 0 and 1", parameter: "temperature")
        }
        if special.isMultilingual {
            if let requested = options.language {
                guard let code = Languages.code(for: requested), special.languages[code] != nil else {
                    throw TranscriptionError(.invalidOptions, "unsupported language '\(requested)'", parameter: "language")
                }
                language = code
            } else {
                language = nil
            }
        } else {
            if options.task == .translate {
                throw TranscriptionError(
                    .invalidOptions, "this model is English-only and cannot translate; use a multilingual model",
                    parameter: "model")
            }
            if let requested = options.language, Languages.code(for: requested) != "en" {
                throw TranscriptionError(
                    .invalidOptions, "this model is English-only; language '\(requested)' is not supported",
                    parameter: "language")
            }
            language = "en"
        }
        let suppressed = Set(
            (options.suppressTokens ?? model.configuration.suppressIDs) + [
                special.transcribe, special.translate, special.startOfTranscript, special.startOfPrevious,
                special.startOfLM, special.noSpeech,
            ])
        let atBegin = options.suppressBlank
            ? (model.configuration.suppressIDsBegin.isEmpty
                ? model.tokenizer.encode(" ") + [special.endOfText] : model.configuration.suppressIDsBegin)
            : []
        filter = LogitFilter(
            special: special, suppressed: suppressed.sorted(), suppressedAtBegin: atBegin,
            timestamps: !options.withoutTimestamps,
            maxInitialTimestampIndex: Int((options.maxInitialTimestamp / Self.timePrecision).rounded()))
    }

    /// Transcribes the audio, or only its speech regions when voice activity detection is on (times stay those of
    /// the original audio), then lists each text token's log-probability.
    mutating func run(samples: [Float], isCancelled: () -> Bool, onSegment: (Segment) -> Void) throws(TranscriptionError) -> Transcript {
        var transcript: Transcript
        if let voiceActivity = options.voiceActivity {
            let regions = VoiceActivityDetector(options: voiceActivity).speechRegions(in: samples)
            let timeline = SpeechTimeline(original: samples, regions: regions)
            transcript = try transcribeWindows(timeline.samples, isCancelled: isCancelled) { onSegment(timeline.mapped($0)) }
            transcript.segments = transcript.segments.map(timeline.mapped)
            transcript.filtered = transcript.filtered?.map(timeline.mapped)
            transcript.duration = Double(samples.count) / Double(LogMelSpectrogram.sampleRate)
        } else {
            transcript = try transcribeWindows(samples, isCancelled: isCancelled, onSegment: onSegment)
        }
        let tokenizer = model.tokenizer
        transcript.logprobs = transcript.segments.flatMap { segment in
            zip(segment.tokens, segment.tokenLogprobs).filter { $0.0 < model.specialTokens.endOfText }.map { token, logprob in
                let bytes = tokenizer.bytes(of: token)
                return TokenLogprob(token: String(decoding: bytes, as: UTF8.self), logprob: Double(logprob), bytes: bytes)
            }
        }
        return transcript
    }

    private mutating func transcribeWindows(
        _ samples: [Float], isCancelled: () -> Bool, onSegment: (Segment) -> Void
    ) throws(TranscriptionError) -> Transcript {
        let special = model.specialTokens
        let tokenizer = model.tokenizer
        let encoder = Encoder(weights: model.weights, precision: options.encoderPrecision)
        var mel = LogMelWindows(samples: samples, melBins: model.info.melBins)
        let contentFrames = max(0, mel.frames - 1)
        let windowFrames = LogMelSpectrogram.windowFrames
        let decoder = TokenDecoder(
            weights: model.weights, gate: model.gate, model: ObjectIdentifier(model), special: special, filter: filter, beamSize: options.beamSize,
            bestOf: options.bestOf, patience: options.patience, lengthPenalty: options.lengthPenalty)

        var allTokens: [Int] = []
        if let prompt = options.initialPrompt?.trimmingWhitespace(), !prompt.isEmpty {
            allTokens = tokenizer.encode(" " + prompt, keepingLast: promptTokensKept)
        }
        var promptResetSince = 0
        var segments: [Segment] = []
        var filtered: [FilteredText] = []
        let hallucinations = HallucinationFilter(tokenizer: tokenizer, special: special)
        var language = self.language
        var statistics = TranscriptionStatistics()
        var lastSpeechTimestamp = 0.0
        var seek = 0
        while seek < contentFrames {
            if isCancelled() { throw TranscriptionError(.cancelled, "transcription cancelled") }
            let timeOffset = Double(seek) * Self.frameDuration
            let segmentSize = min(windowFrames, contentFrames - seek)
            let segmentDuration = Double(segmentSize) * Self.frameDuration
            if options.silenceGuard && Self.rms(samples, from: timeOffset, to: timeOffset + segmentDuration) < Self.silenceRMS {
                seek += segmentSize
                continue
            }
            let encodeStart = DispatchTime.now().uptimeNanoseconds
            let features = mel.window(from: seek, count: segmentSize)
            let audio = try model.gate.exclusive(.encoder, isCancelled: isCancelled) { encoder.encode(features) }
            statistics.encodedWindows += 1
            statistics.encoderSeconds += Self.seconds(since: encodeStart)
            if language == nil {
                language = try detectLanguage(audio: audio, isCancelled: isCancelled)
            }
            let prompt = makePrompt(previous: Array(allTokens[promptResetSince...]), language: language ?? "en")
            let decodeStart = DispatchTime.now().uptimeNanoseconds
            let outcome = try decodeWithFallback(
                decoder: decoder, audio: audio, prompt: prompt, isCancelled: isCancelled, statistics: &statistics)
            statistics.decoderSeconds += Self.seconds(since: decodeStart)

            if let noSpeechThreshold = options.noSpeechThreshold {
                var skip = outcome.result.noSpeechProbability > noSpeechThreshold
                if let logProbThreshold = options.logProbThreshold, outcome.result.averageLogprob > logProbThreshold {
                    skip = false
                }
                if skip {
                    seek += segmentSize
                    continue
                }
            }
            let previousSeek = seek
            var (pieces, singleTimestampEnding) = split(
                outcome.result.tokens, logprobs: outcome.result.tokenLogprobs, timeOffset: timeOffset, segmentSize: segmentSize,
                segmentDuration: segmentDuration, seek: &seek)
            if options.wordTimestamps {
                try addWordTimings(
                    to: &pieces, audio: audio, frames: segmentSize, timeOffset: timeOffset, language: language ?? "en",
                    lastSpeech: &lastSpeechTimestamp, isCancelled: isCancelled)
                if !singleTimestampEnding, let lastWordEnd = pieces.last(where: { !$0.words.isEmpty })?.words.last?.end,
                    lastWordEnd > timeOffset
                {
                    seek = Int((lastWordEnd / Self.frameDuration).rounded())
                }
            }
            for piece in pieces {
                let text = tokenizer.decode(piece.tokens)
                if piece.start == piece.end || text.trimmingWhitespace().isEmpty { continue }
                if options.silenceGuard && Self.rms(samples, from: piece.start, to: piece.end) < Self.silenceRMS { continue }
                var segment = Segment(
                    id: segments.count, seek: previousSeek, start: piece.start, end: piece.end, text: text,
                    tokens: piece.tokens, temperature: outcome.temperature, avgLogprob: outcome.result.averageLogprob,
                    compressionRatio: outcome.compressionRatio, noSpeechProb: outcome.result.noSpeechProbability,
                    words: options.wordTimestamps ? piece.words : nil)
                segment.tokenLogprobs = piece.logprobs
                if options.filterHallucinations {
                    let (kept, removed) = hallucinations.filter(segment, after: segments.last)
                    filtered += removed
                    guard let kept else { continue }
                    segment = kept
                }
                allTokens.append(contentsOf: segment.tokens)
                segments.append(segment)
                onSegment(segment)
            }
            if !options.conditionOnPreviousText || outcome.temperature > options.promptResetOnTemperature {
                promptResetSince = allTokens.count
            }
        }
        var transcript = Transcript(
            task: options.task, language: language ?? "en",
            duration: Double(samples.count) / Double(LogMelSpectrogram.sampleRate), segments: segments,
            statistics: statistics)
        transcript.filtered = options.filterHallucinations ? filtered : nil
        return transcript
    }

    private struct Outcome {
        var result: DecodingResult
        var temperature: Float
        var compressionRatio: Double
    }

    /// Decodes at each temperature in turn until the result passes the compression-ratio and log-probability
    /// checks (or is judged silence); if none does, the best by average log-probability.
    private mutating func decodeWithFallback(
        decoder: TokenDecoder, audio: Tensor, prompt: [Int], isCancelled: () -> Bool,
        statistics: inout TranscriptionStatistics
    ) throws(TranscriptionError) -> Outcome {
        var all: [Outcome] = []
        var belowCompressionThreshold: [Outcome] = []
        for temperature in options.temperatures {
            let result = try decoder.decode(
                audio: audio, prompt: prompt, temperature: temperature, random: &random, isCancelled: isCancelled)
            statistics.decodedTokens += result.tokens.count + 1
            statistics.batchedSteps += result.batchedSteps
            let text = model.tokenizer.decode(result.tokens).trimmingWhitespace()
            let outcome = Outcome(result: result, temperature: temperature, compressionRatio: CompressionRatio.of(text))
            all.append(outcome)
            var needsFallback = false
            if let threshold = options.compressionRatioThreshold {
                if outcome.compressionRatio > threshold {
                    needsFallback = true
                } else {
                    belowCompressionThreshold.append(outcome)
                }
            }
            if let threshold = options.logProbThreshold, result.averageLogprob < threshold {
                needsFallback = true
            }
            if let noSpeech = options.noSpeechThreshold, let logProb = options.logProbThreshold,
                result.noSpeechProbability > noSpeech, result.averageLogprob < logProb
            {
                needsFallback = false  // silence: no point retrying
            }
            if !needsFallback { return outcome }
        }
        var best = (belowCompressionThreshold.isEmpty ? all : belowCompressionThreshold)
            .max { $0.result.averageLogprob < $1.result.averageLogprob }!
        best.temperature = options.temperatures.last!
        return best
    }

    /// How many of the previous text's tokens a window's prompt keeps: half the decoder's positions, less the
    /// start-of-previous token.
    private var promptTokensKept: Int { model.weights.hyper.textPositions / 2 - 1 }

    private func makePrompt(previous: [Int], language: String) -> [Int] {
        let special = model.specialTokens
        var prompt: [Int] = []
        if !previous.isEmpty {
            prompt.append(special.startOfPrevious)
            prompt.append(contentsOf: previous.suffix(promptTokensKept))
        }
        prompt.append(special.startOfTranscript)
        if special.isMultilingual, let token = special.languages[language] {
            prompt.append(token)
            prompt.append(options.task == .translate ? special.translate : special.transcribe)
        }
        if options.withoutTimestamps { prompt.append(special.noTimestamps) }
        return prompt
    }

    private func detectLanguage(audio: Tensor, isCancelled: () -> Bool) throws(TranscriptionError) -> String {
        let special = model.specialTokens
        let logits = try model.gate.exclusive(.prompt, isCancelled: isCancelled) {
            var session = DecoderSession(weights: model.weights, audio: audio)
            return session.forward([[special.startOfTranscript]], logitsAt: [0])[0][0]
        }
        return special.languages.max { logits[$0.value] < logits[$1.value] }?.key ?? "en"
    }

    private struct Piece {
        var start: Double
        var end: Double
        var tokens: [Int]
        var logprobs: [Float]
        var words: [Word] = []
    }

    /// Cuts a window's tokens into segments at consecutive timestamp pairs and advances `seek`.
    private func split(
        _ tokens: [Int], logprobs: [Float], timeOffset: Double, segmentSize: Int, segmentDuration: Double, seek: inout Int
    ) -> (pieces: [Piece], singleTimestampEnding: Bool) {
        let begin = model.specialTokens.timestampBegin
        let singleTimestampEnding = tokens.count >= 2 && tokens[tokens.count - 2] < begin && tokens[tokens.count - 1] >= begin
        let consecutive = tokens.indices.filter { $0 > 0 && tokens[$0] >= begin && tokens[$0 - 1] >= begin }
        var pieces: [Piece] = []
        if !consecutive.isEmpty {
            var slices = consecutive
            if singleTimestampEnding { slices.append(tokens.count) }
            var last = 0
            for current in slices {
                let sliced = Array(tokens[last..<current])
                pieces.append(
                    Piece(
                        start: timeOffset + Double(sliced[0] - begin) * Self.timePrecision,
                        end: timeOffset + Double(sliced[sliced.count - 1] - begin) * Self.timePrecision,
                        tokens: sliced, logprobs: Array(logprobs[last..<current])))
                last = current
            }
            if singleTimestampEnding {
                seek += segmentSize
            } else {
                seek += (tokens[last - 1] - begin) * Self.inputStride
            }
        } else {
            var duration = segmentDuration
            if let lastTimestamp = tokens.last(where: { $0 >= begin }), lastTimestamp != begin {
                duration = Double(lastTimestamp - begin) * Self.timePrecision
            }
            pieces.append(Piece(start: timeOffset, end: timeOffset + duration, tokens: tokens, logprobs: logprobs))
            seek += segmentSize
        }
        return (pieces, singleTimestampEnding)
    }

    /// Attaches word timings to a window's segments and trims implausibly long first and last words, as the
    /// reference does (a word is at most twice the median word duration, capped at 0.7 s, after a pause).
    private func addWordTimings(
        to pieces: inout [Piece], audio: Tensor, frames: Int, timeOffset: Double, language: String, lastSpeech: inout Double,
        isCancelled: () -> Bool
    ) throws(TranscriptionError) {
        let eot = model.specialTokens.endOfText
        let textTokens = pieces.map { $0.tokens.filter { $0 < eot } }
        let aligner = WordAligner(model: model)
        var alignment = try aligner.align(
            audio: audio, startSequence: makePrompt(previous: [], language: language).filter { $0 != model.specialTokens.noTimestamps },
            textTokens: textTokens.flatMap { $0 }, frames: frames, language: language, isCancelled: isCancelled)
        let durations = alignment.map { $0.end - $0.start }.filter { $0 != 0 }.sorted()
        let median = durations.isEmpty
            ? 0 : min(0.7, durations.count % 2 == 1
                ? durations[durations.count / 2] : (durations[durations.count / 2 - 1] + durations[durations.count / 2]) / 2)
        let maxDuration = median * 2
        if !durations.isEmpty {
            let sentenceEnds: Set<String> = [".", "。", "!", "！", "?", "？"]
            for i in alignment.indices.dropFirst() where alignment[i].end - alignment[i].start > maxDuration {
                if sentenceEnds.contains(alignment[i].word) {
                    alignment[i].end = alignment[i].start + maxDuration
                } else if sentenceEnds.contains(alignment[i - 1].word) {
                    alignment[i].start = alignment[i].end - maxDuration
                }
            }
        }
        WordAligner.mergePunctuation(&alignment)
        var wordIndex = 0
        for index in pieces.indices {
            var saved = 0
            var words: [Word] = []
            while wordIndex < alignment.count && saved < textTokens[index].count {
                let timing = alignment[wordIndex]
                if !timing.word.isEmpty {
                    words.append(
                        Word(
                            word: timing.word, start: ((timeOffset + timing.start) * 100).rounded() / 100,
                            end: ((timeOffset + timing.end) * 100).rounded() / 100, probability: timing.probability))
                }
                saved += timing.tokens.count
                wordIndex += 1
            }
            if !words.isEmpty {
                if words[0].end - lastSpeech > median * 4
                    && (words[0].end - words[0].start > maxDuration
                        || (words.count > 1 && words[1].end - words[0].start > maxDuration * 2))
                {
                    if words.count > 1 && words[1].end - words[1].start > maxDuration {
                        let boundary = max(words[1].end / 2, words[1].end - maxDuration)
                        words[0].end = boundary
                        words[1].start = boundary
                    }
                    words[0].start = max(0, words[0].end - maxDuration)
                }
                if pieces[index].start < words[0].end && pieces[index].start - 0.5 > words[0].start {
                    words[0].start = max(0, min(words[0].end - median, pieces[index].start))
                } else {
                    pieces[index].start = words[0].start
                }
                if pieces[index].end > words[words.count - 1].start && pieces[index].end + 0.5 < words[words.count - 1].end {
                    words[words.count - 1].end = max(words[words.count - 1].start + median, pieces[index].end)
                } else {
                    pieces[index].end = words[words.count - 1].end
                }
                lastSpeech = pieces[index].end
            }
            pieces[index].words = words
        }
    }

    static func seconds(since start: UInt64) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// Root-mean-square level of the samples between two times.
    static func rms(_ samples: [Float], from start: Double, to end: Double) -> Float {
        let rate = Double(LogMelSpectrogram.sampleRate)
        let first = max(0, min(samples.count, Int(start * rate)))
        let last = max(first, min(samples.count, Int((end * rate).rounded(.up))))
        guard last > first else { return 0 }
        var sum: Float = 0
        for i in first..<last { sum += samples[i] * samples[i] }
        return (sum / Float(last - first)).squareRoot()
    }
}
