/// ``VoiceActivityDetector``'s speech score applied to audio as it arrives: reports where speech starts and where it
/// stops, for live turn detection (OpenAI's `server_vad`).
///
/// Each 10 ms frame is scored as the offline detector scores it (level above the noise floor times how voice-like the
/// spectrum is), averaged over the last few frames. Speech starts once the score stays at the threshold for
/// ``VoiceActivityOptions/minSpeechDuration``; the start reported is where the score last left the quiet level
/// before that, less ``VoiceActivityOptions/padding``. Speech stops once the score stays below the exit level for
/// ``VoiceActivityOptions/minSilenceDuration``; the stop reported is the moment that silence was confirmed.
/// The noise floor is the 10th percentile of the last 30 s of frame levels, never above a quiet room's level, so
/// that a stream that opens with speech is not taken for noise.
///
/// ```swift
/// var vad = StreamingVoiceActivity(options: VoiceActivityOptions())
/// for event in vad.append(chunk) { … }   // .speechStarted(sample:) / .speechStopped(sample:)
/// ```
public struct StreamingVoiceActivity: Sendable {
    /// A change between silence and speech, at a sample index counted from the first sample appended.
    public enum Event: Sendable, Equatable {
        /// Speech began at this sample (padding included).
        case speechStarted(sample: Int)
        /// Speech ended; this is the sample where the silence that ends it was long enough.
        case speechStopped(sample: Int)
    }

    /// The detector's settings.
    public let options: VoiceActivityOptions

    /// Highest noise floor assumed, in dBFS: a quiet room's level.
    static let maximumFloor: Float = -40
    /// Frames of level history for the noise floor.
    static let floorHistoryFrames = 3000
    /// Samples kept before new frames so that their spectrum is centred as the offline detector's.
    static let contextSamples = LogMelSpectrogram.fftSize / 2 + LogMelSpectrogram.hopLength / 2

    private var unframed: [Float] = []
    private var context: [Float] = []
    private var levels: [Float] = []
    private var recentScores: [Float] = []
    private var frameCount = 0
    private var inSpeech = false
    private var aboveRun = 0
    private var belowRun = 0
    /// The last frame whose smoothed score was below the exit level: where the speech now rising began.
    private var lastQuietFrame = -1

    /// Creates a detector in the silent state.
    public init(options: VoiceActivityOptions) {
        self.options = options
    }

    /// Whether the last frame analysed was within speech.
    public var isSpeaking: Bool { inSpeech }

    /// Samples analysed (whole frames only).
    public var analysedSamples: Int { frameCount * VoiceActivityDetector.frameSamples }

    /// Analyses appended 16 kHz mono samples and returns the changes they reveal, in order.
    public mutating func append(_ samples: [Float]) -> [Event] {
        unframed.append(contentsOf: samples)
        let frameSamples = VoiceActivityDetector.frameSamples
        let frames = unframed.count / frameSamples
        guard frames > 0 else { return [] }
        let chunk = Array(unframed[0..<(frames * frameSamples)])
        unframed.removeFirst(frames * frameSamples)

        let padded = [Float](repeating: 0, count: max(0, Self.contextSamples - context.count)) + context + chunk
        let mel = LogMelSpectrogram(samples: padded, melBins: 80)
        let melOffset = Self.contextSamples / LogMelSpectrogram.hopLength
        context = Array((context + chunk).suffix(Self.contextSamples))

        var newLevels: [Float] = []
        for frame in 0..<frames {
            newLevels.append(VoiceActivityDetector.level(chunk[(frame * frameSamples)..<((frame + 1) * frameSamples)]))
        }
        levels = Array((levels + newLevels).suffix(Self.floorHistoryFrames))
        let floor = min(
            max(VoiceActivityDetector.percentile(levels, 0.1), VoiceActivityDetector.silenceLevel - 10), Self.maximumFloor)

        let threshold = options.threshold
        let exit = max(0, threshold - VoiceActivityDetector.hysteresis)
        let startFrames = max(1, Int((options.minSpeechDuration / VoiceActivityDetector.frameDuration).rounded()))
        let stopFrames = max(1, Int((options.minSilenceDuration / VoiceActivityDetector.frameDuration).rounded()))
        let paddingSamples = Int((options.padding * Double(LogMelSpectrogram.sampleRate)).rounded())
        var events: [Event] = []
        for frame in 0..<frames {
            var score: Float = 0
            let level = newLevels[frame]
            if level >= VoiceActivityDetector.silenceLevel {
                let aboveFloor = min(1, max(0, (level - floor - 3) / 9))
                let melFrame = melOffset + frame
                let flatness = melFrame < mel.frames ? VoiceActivityDetector.flatness(mel.values[(melFrame * 80)..<((melFrame + 1) * 80)]) : 1
                let voiced = min(1, max(0, (0.8 - flatness) / 0.5))
                score = aboveFloor * (0.4 + 0.6 * voiced)
            }
            recentScores = Array((recentScores + [score]).suffix(VoiceActivityDetector.smoothingFrames))
            let smoothed = recentScores.reduce(0, +) / Float(recentScores.count)
            let index = frameCount + frame
            if inSpeech {
                belowRun = smoothed < exit ? belowRun + 1 : 0
                if belowRun >= stopFrames {
                    inSpeech = false
                    belowRun = 0
                    aboveRun = 0
                    events.append(.speechStopped(sample: (index + 1) * frameSamples))
                }
            } else {
                if smoothed < exit { lastQuietFrame = index }
                aboveRun = smoothed >= threshold && smoothed > 0 ? aboveRun + 1 : 0
                if aboveRun >= startFrames {
                    inSpeech = true
                    aboveRun = 0
                    belowRun = 0
                    // From where the score left the quiet level, so that a soft onset ("The …") is kept.
                    let start = min(index + 1 - startFrames, lastQuietFrame + 1) * frameSamples - paddingSamples
                    events.append(.speechStarted(sample: max(0, start)))
                }
            }
        }
        frameCount += frames
        return events
    }
}
