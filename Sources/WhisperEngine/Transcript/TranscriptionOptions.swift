import WhisperTensor

/// What the model is asked to do with the audio.
public enum TranscriptionTask: String, Sendable, Codable, CaseIterable {
    /// Write down what is said, in the language it is said in.
    case transcribe
    /// Translate what is said into English.
    case translate
}

/// Decoding settings for one transcription, with the reference implementation's defaults.
///
/// ```swift
/// var options = TranscriptionOptions()
/// options.beamSize = 5
/// let transcript = try model.transcribe(samples, options: options)
/// ```
public struct TranscriptionOptions: Sendable, Equatable {
    /// Transcribe or translate.
    public var task: TranscriptionTask = .transcribe
    /// ISO 639-1 code such as `"en"`; `nil` detects the language from the first window.
    public var language: String?
    /// Temperatures tried in order when a window's result fails the quality checks (fallback).
    public var temperatures: [Float] = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    /// Beams for beam search at temperature 0; 1 means greedy decoding.
    public var beamSize: Int = 1
    /// Candidates sampled at temperatures above 0; the most likely one wins.
    public var bestOf: Int = 5
    /// Beam search patience: finished hypotheses collected before stopping is `beamSize × patience`.
    public var patience: Float = 1.0
    /// Length penalty exponent for ranking finished beams; `nil` ranks by log-probability divided by length.
    public var lengthPenalty: Float?
    /// Text that conditions the first window (names, spelling, style).
    public var initialPrompt: String?
    /// Feed each window's text to the next one as a prompt.
    public var conditionOnPreviousText: Bool = true
    /// Retry at a higher temperature when gzip compression ratio of the text exceeds this.
    public var compressionRatioThreshold: Double? = 2.4
    /// Retry at a higher temperature when average log-probability falls below this.
    public var logProbThreshold: Double? = -1.0
    /// A window whose no-speech probability exceeds this (and fails the log-probability check) is silence.
    public var noSpeechThreshold: Double? = 0.6
    /// Suppress a blank or end-of-text as the first sampled token.
    public var suppressBlank: Bool = true
    /// Token ids never sampled; `nil` uses the model's own list (`suppress_ids` in `config.json`).
    public var suppressTokens: [Int]?
    /// Decode text only, without timestamp tokens (one segment per window).
    public var withoutTimestamps: Bool = false
    /// Latest allowed first timestamp in a window, in seconds.
    public var maxInitialTimestamp: Double = 1.0
    /// Compute per-word timing from cross-attention.
    public var wordTimestamps: Bool = false
    /// Drop windows whose signal energy is far below speech level, even when the model invents text.
    public var silenceGuard: Bool = true
    /// Stop conditioning on previous text after a window decoded above this temperature.
    public var promptResetOnTemperature: Float = 0.5
    /// Transcribe only the speech regions the voice activity detector finds (`nil`: the whole audio). Times in the
    /// transcript stay those of the original audio.
    public var voiceActivity: VoiceActivityOptions?
    /// Remove decoding loops, repeated segments and phrases invented on silence, and report them in
    /// ``Transcript/filtered``. Off by default, so that transcripts match the reference implementation's.
    public var filterHallucinations: Bool = false
    /// The precision of the encoder's matrix products: `float32` (the default) matches the reference implementation;
    /// `bfloat16` runs them on bfloat16 instructions where ``ProductPrecision/bfloat16IsAccelerated``, faster, with
    /// encoder states that differ in the third digit (transcripts may differ in places, as with the reference's int8).
    public var encoderPrecision: ProductPrecision = .float32

    /// Options with the defaults above.
    public init() {}
}

extension TranscriptionOptions {
    /// OpenAI's `temperature` as a fallback schedule: 0 tries 0, 0.2 … 1.0 in turn; t > 0 starts at t and rises by 0.2 to 1.0.
    /// - Parameter temperature: the request's temperature in [0, 1].
    /// - Returns: the temperatures to try, in order.
    public static func temperatures(openAITemperature temperature: Float) -> [Float] {
        var temperatures: [Float] = []
        var next = max(0, min(1, temperature))
        while next <= 1.0001 {
            temperatures.append((next * 100).rounded() / 100)
            next += 0.2
        }
        return temperatures
    }
}
