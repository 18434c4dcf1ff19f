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

    /// Computes the features of `samples`.
    public init(samples: [Float], melBins: Int) {
        self.melBins = melBins
        let bins = Self.fftSize / 2 + 1
        let padded = Self.reflectPadded(samples + [Float](repeating: 0, count: Self.hopLength))
        let frames = max(0, (padded.count - Self.fftSize) / Self.hopLength)  // the last STFT frame is dropped
        self.frames = frames
        let filters = MelFilterBank.shared(melBins: melBins)
        let basis = DFTBasis.shared
        var output = [Float](repeating: 0, count: frames * melBins)
        let block = 1024
        var frameBuffer = [Float](repeating: 0, count: block * Self.fftSize)
        var spectrum = [Float](repeating: 0, count: block * 2 * bins)
        var power = [Float](repeating: 0, count: block * bins)
        padded.withUnsafeBufferPointer { audio in
            var start = 0
            while start < frames {
                let count = min(block, frames - start)
                frameBuffer.withUnsafeMutableBufferPointer { f in
                    for t in 0..<count {
                        let source = audio.baseAddress! + (start + t) * Self.hopLength
                        let row = f.baseAddress! + t * Self.fftSize
                        for n in 0..<Self.fftSize { row[n] = source[n] * basis.window[n] }
                    }
                    spectrum.withUnsafeMutableBufferPointer { s in
                        basis.matrix.withUnsafeBufferPointer { b in
                            Matrix.multiply(
                                f.baseAddress!, b.baseAddress!, into: s.baseAddress!,
                                m: count, n: 2 * bins, k: Self.fftSize, transposeB: true)
                        }
                        power.withUnsafeMutableBufferPointer { p in
                            for t in 0..<count {
                                let row = s.baseAddress! + t * 2 * bins
                                for k in 0..<bins {
                                    let re = row[k]
                                    let im = row[bins + k]
                                    p[t * bins + k] = re * re + im * im
                                }
                            }
                            output.withUnsafeMutableBufferPointer { o in
                                filters.withUnsafeBufferPointer { fb in
                                    Matrix.multiply(
                                        p.baseAddress!, fb.baseAddress!, into: o.baseAddress! + start * melBins,
                                        m: count, n: melBins, k: bins, transposeB: true)
                                }
                            }
                        }
                    }
                }
                start += count
            }
        }
        var maximum = -Float.infinity
        for i in output.indices {
            let value = log10f(max(output[i], 1e-10))
            output[i] = value
            if value > maximum { maximum = value }
        }
        let floor = maximum - 8
        for i in output.indices { output[i] = (max(output[i], floor) + 4) / 4 }
        self.values = output
    }

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

    private static func reflectPadded(_ x: [Float]) -> [Float] {
        let pad = fftSize / 2
        guard x.count > pad else {
            // Too short to reflect: pad with zeros (only for inputs under 12.5 ms).
            return [Float](repeating: 0, count: pad) + x + [Float](repeating: 0, count: pad)
        }
        var result = [Float](repeating: 0, count: x.count + 2 * pad)
        for i in 0..<pad { result[i] = x[pad - i] }
        for i in 0..<x.count { result[pad + i] = x[i] }
        for i in 0..<pad { result[pad + x.count + i] = x[x.count - 2 - i] }
        return result
    }
}

/// The real DFT of one frame as a matrix: rows `0..<201` are cosines, rows `201..<402` sines; plus the Hann window.
private struct DFTBasis: Sendable {
    let matrix: [Float]
    let window: [Float]

    static let shared = DFTBasis()

    private init() {
        let n = LogMelSpectrogram.fftSize
        let bins = n / 2 + 1
        var matrix = [Float](repeating: 0, count: 2 * bins * n)
        for k in 0..<bins {
            for t in 0..<n {
                let angle = 2 * Double.pi * Double(k * t % n) / Double(n)
                matrix[k * n + t] = Float(cos(angle))
                matrix[(bins + k) * n + t] = Float(-sin(angle))
            }
        }
        self.matrix = matrix
        window = (0..<n).map { Float(0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(n))) }
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
