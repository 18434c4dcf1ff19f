import Foundation

/// Optional clean-up of decoded 16 kHz audio before recognition; every step is off by default.
///
/// ```swift
/// let preprocessing = AudioPreprocessing(normalizePeak: true, trimSilenceThresholdDB: -40)
/// let (samples, offset) = preprocessing.apply(to: audio.samples)
/// // add `offset` to every timestamp computed on `samples`
/// ```
public struct AudioPreprocessing: Sendable, Equatable {
    /// -1 dBFS as a linear amplitude (≈ 0.891).
    static let peakTarget: Float = 0.891_250_9
    /// 10 ms at 16 kHz.
    static let frameLength = DecodedAudio.sampleRate / 100

    /// Scale the audio so its peak sits at -1 dBFS (≈ 0.891). Silent audio is left as it is.
    public var normalizePeak: Bool
    /// Trim leading and trailing 10 ms frames whose RMS level is below this many dBFS (e.g. -40);
    /// `nil` keeps everything. Audio with no frame at or above the threshold is kept whole.
    public var trimSilenceThresholdDB: Float?

    /// Creates a preprocessing configuration.
    /// - Parameters:
    ///   - normalizePeak: Scale the peak to -1 dBFS.
    ///   - trimSilenceThresholdDB: The level in dBFS below which leading and trailing frames are trimmed, or `nil`.
    public init(normalizePeak: Bool = false, trimSilenceThresholdDB: Float? = nil) {
        self.normalizePeak = normalizePeak
        self.trimSilenceThresholdDB = trimSilenceThresholdDB
    }

    /// Whether any step is switched on.
    public var isEnabled: Bool { normalizePeak || trimSilenceThresholdDB != nil }

    /// Applies the enabled steps: trimming first, then peak normalisation.
    /// - Parameter samples: 16 kHz mono samples.
    /// - Returns: The processed samples and the offset (seconds) of the first kept sample in the original audio,
    ///   so callers can shift timestamps back.
    public func apply(to samples: [Float]) -> (samples: [Float], offset: Double) {
        var kept = samples[...]
        if let threshold = trimSilenceThresholdDB, let loud = Self.loudRange(of: samples, thresholdDB: threshold) {
            kept = samples[loud]
        }
        let offset = Double(kept.startIndex) / Double(DecodedAudio.sampleRate)
        guard normalizePeak else { return (Array(kept), offset) }
        let peak = kept.reduce(Float(0)) { max($0, abs($1)) }
        guard peak > 0, peak.isFinite else { return (Array(kept), offset) }
        let gain = Self.peakTarget / peak
        return (kept.map { $0 * gain }, offset)
    }

    /// The samples from the first to the last 10 ms frame whose RMS level reaches `thresholdDB`, or `nil` if none does.
    private static func loudRange(of samples: [Float], thresholdDB: Float) -> Range<Int>? {
        let minimumPower = pow(10, thresholdDB / 10)
        let frames = stride(from: 0, to: samples.count, by: frameLength).map { start in
            start..<min(start + frameLength, samples.count)
        }
        func isLoud(_ frame: Range<Int>) -> Bool {
            let power = samples[frame].reduce(Float(0)) { $0 + $1 * $1 } / Float(frame.count)
            return power >= minimumPower
        }
        guard let first = frames.first(where: isLoud), let last = frames.last(where: isLoud) else { return nil }
        return first.lowerBound..<last.upperBound
    }
}
