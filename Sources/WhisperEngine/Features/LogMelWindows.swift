import Foundation

/// The log-mel spectrogram of audio of any length, computed window by window: each window's values equal, bit for
/// bit, those of ``LogMelSpectrogram`` over the whole audio, without holding the whole spectrogram.
///
/// The features are clamped relative to the loudest value of the whole audio, so a first pass computes every block
/// once to find it, keeping the first blocks (short audio then costs one pass); later windows compute the blocks they
/// cover, and blocks that end before a requested window are dropped (windows move forward as a transcription seeks).
///
/// ```swift
/// var mel = LogMelWindows(samples: samples, melBins: 80)
/// let first = mel.window(from: 0, count: LogMelSpectrogram.windowFrames)
/// ```
public struct LogMelWindows {
    /// How many blocks the first pass keeps, so that audio of a few minutes is computed once.
    static let keptBlocks = 16

    private let computer: MelBlockComputer
    private var cache: [Int: [Float]] = [:]
    private let floor: Float
    /// Mel bins per frame.
    public let melBins: Int
    /// Frames of the whole audio, as ``LogMelSpectrogram/frames``.
    public var frames: Int { computer.frames }

    /// Prepares the windows of `samples` (shared, not copied).
    /// - Parameters:
    ///   - samples: 16 kHz mono samples.
    ///   - melBins: Mel bins per frame (80, or 128 for large-v3).
    public init(samples: [Float], melBins: Int) {
        self.melBins = melBins
        computer = MelBlockComputer(samples: samples, melBins: melBins)
        var maximum = -Float.infinity
        for block in 0..<computer.blocks {
            let values = computer.logMel(block: block)
            for value in values where value > maximum { maximum = value }
            if block < Self.keptBlocks { cache[block] = values }
        }
        floor = LogMelSpectrogram.floor(maximum: maximum)
    }

    /// One 30 s window starting at `frame`, as ``LogMelSpectrogram/window(from:count:)`` returns it:
    /// `min(count, frames − frame)` real frames, zero-padded to `windowFrames`, as `windowFrames × melBins` values.
    public mutating func window(from frame: Int, count: Int) -> [Float] {
        let melBins = self.melBins
        var result = [Float](repeating: 0, count: LogMelSpectrogram.windowFrames * melBins)
        let available = max(0, min(count, frames - frame, LogMelSpectrogram.windowFrames))
        guard available > 0, frame >= 0 else { return result }
        let blockFrames = MelBlockComputer.blockFrames
        let firstBlock = frame / blockFrames
        let lastBlock = (frame + available - 1) / blockFrames
        for block in cache.keys where block < firstBlock { cache[block] = nil }
        for block in firstBlock...lastBlock {
            let values: [Float]
            if let cached = cache[block] {
                values = cached
            } else {
                values = computer.logMel(block: block)
                cache[block] = values
            }
            let blockRange = computer.frameRange(ofBlock: block)
            let from = max(frame, blockRange.lowerBound)
            let to = min(frame + available, blockRange.upperBound)
            for t in from..<to {
                let source = (t - blockRange.lowerBound) * melBins
                let target = (t - frame) * melBins
                for bin in 0..<melBins {
                    result[target + bin] = LogMelSpectrogram.normalized(values[source + bin], floor: floor)
                }
            }
        }
        return result
    }
}
