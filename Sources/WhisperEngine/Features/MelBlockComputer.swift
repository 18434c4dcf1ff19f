import Foundation
import WhisperTensor

/// Computes `log10` of the mel power of audio frames, one block of frames at a time, reading the samples in place
/// (the array is shared, not copied).
///
/// The frames are those of the reference's centred STFT: the samples followed by one hop of zeros, reflect-padded by
/// half an FFT on each side (zero-padded when too short to reflect). Frame `t` covers padded samples
/// `t × hop ..< t × hop + fftSize`; the padding is computed on the fly, so no padded copy of the audio is made.
/// Blocks always start at a multiple of ``blockFrames``: a frame's values then come out of the same products whether
/// the whole audio or one window of it is computed, bit for bit.
final class MelBlockComputer {
    /// Frames per block.
    static let blockFrames = 1024

    private let samples: [Float]
    private let melBins: Int
    private let filters: [Float]
    private let basis = DFTBasis.shared
    private let frameBuffer: UnsafeMutablePointer<Float>
    private let spectrum: UnsafeMutablePointer<Float>
    private let power: UnsafeMutablePointer<Float>
    /// Frames of the whole audio.
    let frames: Int

    private static var bins: Int { LogMelSpectrogram.fftSize / 2 + 1 }
    private static var pad: Int { LogMelSpectrogram.fftSize / 2 }

    /// A computer over `samples`.
    init(samples: [Float], melBins: Int) {
        self.samples = samples
        self.melBins = melBins
        filters = MelFilterBank.shared(melBins: melBins)
        frames = Self.frameCount(samples: samples.count)
        frameBuffer = .allocate(capacity: Self.blockFrames * LogMelSpectrogram.fftSize)
        spectrum = .allocate(capacity: Self.blockFrames * 2 * Self.bins)
        power = .allocate(capacity: Self.blockFrames * Self.bins)
    }

    deinit {
        frameBuffer.deallocate()
        spectrum.deallocate()
        power.deallocate()
    }

    /// The frames of `sampleCount` samples: the padded length less one FFT, in hops (the last STFT frame is dropped).
    static func frameCount(samples sampleCount: Int) -> Int {
        (sampleCount + LogMelSpectrogram.hopLength) / LogMelSpectrogram.hopLength
    }

    /// The number of blocks.
    var blocks: Int { (frames + Self.blockFrames - 1) / Self.blockFrames }

    /// The frames of block `index`.
    func frameRange(ofBlock index: Int) -> Range<Int> {
        let start = index * Self.blockFrames
        return start..<min(frames, start + Self.blockFrames)
    }

    /// `log10(max(power, 1e-10))` of block `index`'s frames, `frames × melBins`, time-major.
    func logMel(block index: Int) -> [Float] {
        let range = frameRange(ofBlock: index)
        let count = range.count
        let bins = Self.bins
        let melBins = self.melBins
        var output = [Float](repeating: 0, count: count * melBins)
        guard count > 0 else { return output }
        fillFrames(range)
        let frameBuffer = self.frameBuffer
        let spectrum = self.spectrum
        let power = self.power
        basis.matrix.withUnsafeBufferPointer { b in
            Matrix.multiply(
                frameBuffer, b.baseAddress!, into: spectrum, m: count, n: 2 * bins, k: LogMelSpectrogram.fftSize,
                transposeB: true)
        }
        for t in 0..<count {
            let row = spectrum + t * 2 * bins
            for k in 0..<bins {
                let re = row[k]
                let im = row[bins + k]
                power[t * bins + k] = re * re + im * im
            }
        }
        output.withUnsafeMutableBufferPointer { o in
            filters.withUnsafeBufferPointer { fb in
                Matrix.multiply(power, fb.baseAddress!, into: o.baseAddress!, m: count, n: melBins, k: bins, transposeB: true)
            }
        }
        for i in output.indices { output[i] = log10f(max(output[i], 1e-10)) }
        return output
    }

    /// Writes the windowed samples of each frame in `range` into the frame buffer, row by row.
    private func fillFrames(_ range: Range<Int>) {
        let fftSize = LogMelSpectrogram.fftSize
        let hop = LogMelSpectrogram.hopLength
        let pad = Self.pad
        let count = samples.count
        let window = basis.window
        let frameBuffer = self.frameBuffer
        samples.withUnsafeBufferPointer { samples in
            for (row, frame) in range.enumerated() {
                let target = frameBuffer + row * fftSize
                let first = frame * hop - pad  // the frame's first sample in unpadded positions
                if first >= 0 && first + fftSize <= count {
                    let source = samples.baseAddress! + first
                    for n in 0..<fftSize { target[n] = source[n] * window[n] }
                } else {
                    for n in 0..<fftSize { target[n] = Self.padded(samples, first + n) * window[n] }
                }
            }
        }
    }

    /// The sample at unpadded position `position` (negative before the start) of the reflect-padded audio.
    private static func padded(_ samples: UnsafeBufferPointer<Float>, _ position: Int) -> Float {
        let extended = samples.count + LogMelSpectrogram.hopLength  // the samples and one hop of zeros
        func sample(_ index: Int) -> Float { index < samples.count ? samples[index] : 0 }
        guard extended > pad else {
            // Too short to reflect: zeros on both sides (only for inputs under 12.5 ms).
            return position >= 0 && position < extended ? sample(position) : 0
        }
        if position < 0 { return sample(-position) }
        if position < extended { return sample(position) }
        return sample(2 * extended - 2 - position)
    }
}

/// The real DFT of one frame as a matrix: rows `0..<201` are cosines, rows `201..<402` sines; plus the Hann window.
struct DFTBasis: Sendable {
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
