import Foundation

/// A stretch of audio judged to hold speech, in seconds from the start of the audio.
public struct SpeechRegion: Sendable, Equatable {
    /// Start, in seconds.
    public var start: Double
    /// End, in seconds.
    public var end: Double

    /// Creates a region.
    public init(start: Double, end: Double) {
        self.start = start
        self.end = end
    }
}

/// Finds speech in 16 kHz mono audio from frame energy and spectral shape, with hysteresis.
///
/// Each 10 ms frame gets a speech score in [0, 1]: its level above the recording's noise floor (the 10th percentile of
/// frame levels) times how voice-like its spectrum is (speech is peaky, noise and hiss are flat, measured as the
/// spectral flatness of the log-mel bands below about 4 kHz). Frames below −60 dBFS are never speech. Speech starts
/// where the smoothed score reaches the threshold and ends where it falls 0.15 below it; short pauses are bridged,
/// short bursts dropped, and each region padded.
///
/// ```swift
/// let regions = VoiceActivityDetector(options: VoiceActivityOptions()).speechRegions(in: samples)
/// ```
public struct VoiceActivityDetector: Sendable {
    /// The detector's settings.
    public let options: VoiceActivityOptions

    /// Seconds per analysis frame (one mel frame).
    static let frameDuration = 0.01
    /// Samples per analysis frame.
    static let frameSamples = LogMelSpectrogram.hopLength
    /// Frames never count as speech below this level (dBFS), as the transcriber's silence guard.
    static let silenceLevel: Float = -60
    /// Mel bands used for the spectral shape: the voice band, up to about 4 kHz of 80 bands over 0–8 kHz.
    static let voiceBands = 1..<56
    /// Frames in the moving average that smooths the score.
    static let smoothingFrames = 5
    /// How far below the threshold the score must fall to end speech.
    static let hysteresis: Float = 0.15

    /// Creates a detector.
    public init(options: VoiceActivityOptions) {
        self.options = options
    }

    /// The speech regions of `samples`, in time order, not overlapping.
    /// - Parameter samples: 16 kHz mono PCM in [-1, 1].
    /// - Returns: the regions, padded and clamped to the audio.
    public func speechRegions(in samples: [Float]) -> [SpeechRegion] {
        let scores = frameScores(samples)
        let duration = Double(samples.count) / Double(LogMelSpectrogram.sampleRate)
        var raw: [(start: Int, end: Int)] = []
        var speechStart: Int?
        let exit = max(0, options.threshold - Self.hysteresis)
        for (frame, score) in scores.enumerated() {
            if let start = speechStart {
                if score < exit {
                    raw.append((start, frame))
                    speechStart = nil
                }
            } else if score >= options.threshold && score > 0 {
                speechStart = frame
            }
        }
        if let start = speechStart { raw.append((start, scores.count)) }

        let minSilence = Int((options.minSilenceDuration / Self.frameDuration).rounded())
        var merged: [(start: Int, end: Int)] = []
        for region in raw {
            if let last = merged.last, region.start - last.end < minSilence {
                merged[merged.count - 1].end = region.end
            } else {
                merged.append(region)
            }
        }
        let minSpeech = Int((options.minSpeechDuration / Self.frameDuration).rounded())
        var regions: [SpeechRegion] = []
        for region in merged where region.end - region.start >= max(1, minSpeech) {
            let start = max(0, Double(region.start) * Self.frameDuration - options.padding)
            let end = min(duration, Double(region.end) * Self.frameDuration + options.padding)
            if let last = regions.last, start <= last.end {
                regions[regions.count - 1].end = max(last.end, end)
            } else {
                regions.append(SpeechRegion(start: start, end: end))
            }
        }
        return regions
    }

    /// The smoothed speech score of each 10 ms frame.
    func frameScores(_ samples: [Float]) -> [Float] {
        let frames = samples.count / Self.frameSamples
        guard frames > 0 else { return [] }
        let levels = (0..<frames).map { frame in
            Self.level(samples[(frame * Self.frameSamples)..<((frame + 1) * Self.frameSamples)])
        }
        let floor = max(Self.percentile(levels, 0.1), Self.silenceLevel - 10)
        // The features window by window, in order: the whole spectrogram of long audio is never held.
        var mel = LogMelWindows(samples: samples, melBins: 80)
        let windowFrames = LogMelSpectrogram.windowFrames
        var window: [Float] = []
        var windowStart = -1
        var scores = [Float](repeating: 0, count: frames)
        for frame in 0..<frames where levels[frame] >= Self.silenceLevel {
            let aboveFloor = min(1, max(0, (levels[frame] - floor - 3) / 9))
            var flatness: Float = 1
            if frame < mel.frames {
                let start = frame / windowFrames * windowFrames
                if start != windowStart {
                    window = mel.window(from: start, count: windowFrames)
                    windowStart = start
                }
                let offset = (frame - start) * 80
                flatness = Self.flatness(window[offset..<(offset + 80)])
            }
            let voiced = min(1, max(0, (0.8 - flatness) / 0.5))
            scores[frame] = aboveFloor * (0.4 + 0.6 * voiced)
        }
        return Self.smoothed(scores, width: Self.smoothingFrames)
    }

    /// RMS level in dBFS.
    static func level(_ frame: ArraySlice<Float>) -> Float {
        var sum: Float = 0
        for sample in frame { sum += sample * sample }
        return 10 * log10f(max(sum / Float(max(frame.count, 1)), 1e-12))
    }

    /// Spectral flatness of the voice bands of one log-mel frame: geometric over arithmetic mean of band power,
    /// near 1 for noise, small for harmonic sound.
    static func flatness(_ logMel: ArraySlice<Float>) -> Float {
        let base = logMel.startIndex
        var logSum: Float = 0
        var sum: Float = 0
        for band in voiceBands {
            // Undo the features' scaling, (log10(power) + 4) / 4, back to log10(power).
            let log10Power = logMel[base + band] * 4 - 4
            logSum += log10Power * logf(10)
            sum += powf(10, log10Power)
        }
        let count = Float(voiceBands.count)
        return expf(logSum / count) / max(sum / count, 1e-20)
    }

    static func percentile(_ values: [Float], _ fraction: Double) -> Float {
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * fraction))]
    }

    static func smoothed(_ values: [Float], width: Int) -> [Float] {
        let half = width / 2
        return values.indices.map { i in
            let window = values[max(0, i - half)...min(values.count - 1, i + half)]
            return window.reduce(0, +) / Float(window.count)
        }
    }
}
