/// Settings of the voice activity detector, in the terms of OpenAI's `server_vad` chunking strategy.
///
/// ```swift
/// var options = TranscriptionOptions()
/// options.voiceActivity = VoiceActivityOptions(threshold: 0.6, padding: 0.3, minSilenceDuration: 0.5)
/// ```
public struct VoiceActivityOptions: Sendable, Equatable {
    /// Speech score in [0, 1] a frame must reach to start speech; higher needs louder, more voice-like audio.
    public var threshold: Float
    /// Seconds of audio kept before (and after) each speech region (OpenAI's `prefix_padding_ms`).
    public var padding: Double
    /// Pauses shorter than this many seconds do not end a speech region (OpenAI's `silence_duration_ms`).
    public var minSilenceDuration: Double
    /// Speech regions shorter than this many seconds are dropped as clicks and bumps.
    public var minSpeechDuration: Double

    /// Creates options; the defaults are OpenAI's `server_vad` defaults.
    /// - Parameters:
    ///   - threshold: speech score needed to start speech, in [0, 1].
    ///   - padding: seconds kept around each region.
    ///   - minSilenceDuration: seconds of quiet that end a region.
    ///   - minSpeechDuration: shortest region kept, in seconds.
    public init(threshold: Float = 0.5, padding: Double = 0.3, minSilenceDuration: Double = 0.5, minSpeechDuration: Double = 0.25) {
        self.threshold = threshold
        self.padding = padding
        self.minSilenceDuration = minSilenceDuration
        self.minSpeechDuration = minSpeechDuration
    }

    /// Whether every value is in range: threshold in [0, 1], durations finite and not negative.
    public var isValid: Bool {
        (0...1).contains(threshold) && [padding, minSilenceDuration, minSpeechDuration].allSatisfy { $0.isFinite && $0 >= 0 }
    }
}
