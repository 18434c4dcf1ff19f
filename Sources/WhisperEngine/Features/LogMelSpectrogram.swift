import Foundation
import WhisperTensor

/// Whisper's input features: a log-mel spectrogram of 16 kHz audio, 100 frames per second.
///
/// As the reference: 160 samples of zero padding, centred STFT (reflect padding, n_fft 400, hop 160, periodic Hann
/// window), power spectrum without the last frame, Slaney mel filters, `log10(max(x, 1e-10))`, clamped to
/// `max − 8`, then `(x + 4) / 4`.
public struct LogMelSpectrogram: Sendable {
    /// FFT size in samples.
    public static let fftSize = 400
    /// Samples between frames.
    public static let hopLength = 160
    /// Audio sample rate.
    public static let sampleRate = 16_000
    /// Frames in one 30 s window.
    public static let windowFrames = 3000

    /// Mel bins (80, or 128 for large-v3).
    public let melBins: Int
    /// `frames × melBins` values, time-major.
    public let values: [Float]
    /// Number of frames.
    public let frames: Int

    /// Computes the features of `samples`, for the whole audio at once (``LogMelWindows`` computes them window by
    /// window, with the same values).
    public init(samples: [Float], melBins: Int) {
        self.melBins = melBins
        var output: [Float] = []
        var maximum = -Float.infinity
        let computer = MelBlockComputer(samples: samples, melBins: melBins)
        output.reserveCapacity(computer.frames * melBins)
        for block in 0..<computer.blocks {
            let values = computer.logMel(block: block)
            for value in values where value > maximum { maximum = value }
            output.append(contentsOf: values)
        }
        self.frames = computer.frames
        let floor = Self.floor(maximum: maximum)
        for i in output.indices { output[i] = Self.normalized(output[i], floor: floor) }
        self.values = output
    }

    /// The lowest `log10` value kept: eight decades below the loudest frame's loudest bin.
    static func floor(maximum: Float) -> Float { maximum - 8 }

    /// A `log10` value clamped to `floor` and scaled as the model was trained.
    @inline(__always)
    static func normalized(_ value: Float, floor: Float) -> Float { (max(value, floor) + 4) / 4 }

    /// One 30 s window starting at `frame`: `min(count, frames − frame)` real frames, zero-padded to
    /// `windowFrames`, as `windowFrames × melBins` values.
    public func window(from frame: Int, count: Int) -> [Float] {
        var result = [Float](repeating: 0, count: Self.windowFrames * melBins)
        let available = max(0, min(count, frames - frame, Self.windowFrames))
        if available > 0 {
            result.withUnsafeMutableBufferPointer { target in
                values.withUnsafeBufferPointer { source in
                    target.baseAddress!.update(from: source.baseAddress! + frame * melBins, count: available * melBins)
                }
            }
        }
        return result
    }
}

/// Slaney-style mel filters (librosa's `mel(sr=16000, n_fft=400, htk=False, norm="slaney")`), `melBins × 201`.
enum MelFilterBank {
    private static let cache = MelFilterCache()

    static func shared(melBins: Int) -> [Float] { cache.filters(melBins: melBins) }

    static func make(melBins: Int) -> [Float] {
        let n = LogMelSpectrogram.fftSize
        let bins = n / 2 + 1
        let sampleRate = Double(LogMelSpectrogram.sampleRate)
        let fftFrequencies = (0..<bins).map { Double($0) * sampleRate / Double(n) }
        let minLogHz = 1000.0
        let linearStep = 200.0 / 3
        let minLogMel = minLogHz / linearStep
        let logStep = log(6.4) / 27
        func hz(fromMel mel: Double) -> Double {
            mel >= minLogMel ? minLogHz * exp(logStep * (mel - minLogMel)) : linearStep * mel
        }
        func mel(fromHz frequency: Double) -> Double {
            frequency >= minLogHz ? minLogMel + log(frequency / minLogHz) / logStep : frequency / linearStep
        }
        let maxMel = mel(fromHz: sampleRate / 2)
        let melPoints = (0..<(melBins + 2)).map { hz(fromMel: maxMel * Double($0) / Double(melBins + 1)) }
        var filters = [Float](repeating: 0, count: melBins * bins)
        for m in 0..<melBins {
            let lower = melPoints[m]
            let centre = melPoints[m + 1]
            let upper = melPoints[m + 2]
            let norm = 2 / (upper - lower)
            for k in 0..<bins {
                let f = fftFrequencies[k]
                let rising = (f - lower) / (centre - lower)
                let falling = (upper - f) / (upper - centre)
                filters[m * bins + k] = Float(max(0, min(rising, falling)) * norm)
            }
        }
        return filters
    }
}

/// Filters per mel-bin count, computed once.
private final class MelFilterCache: Sendable {
    private let filters80 = MelFilterBank.make(melBins: 80)
    private let filters128 = MelFilterBank.make(melBins: 128)

    func filters(melBins: Int) -> [Float] {
        switch melBins {
        case 80: filters80
        case 128: filters128
        default: MelFilterBank.make(melBins: melBins)
        }
    }
}
