import Foundation

/// Converts a stream of mono samples from one rate to 16 kHz, chunk by chunk, with the same output as converting the
/// whole stream at once.
///
/// Band-limited interpolation: each output sample is a Kaiser-windowed sinc sum over the input samples around its
/// position, with the cut-off below the lower of the two Nyquist frequencies (so 24 kHz input loses what 16 kHz cannot
/// hold instead of folding it back as aliases). The last few input samples are kept until the samples after them arrive.
struct StreamingResampler: Sendable {
    /// The input rate.
    let inputRate: Int
    /// The output rate.
    let outputRate: Int
    /// Input samples on each side of an output position.
    static let halfWidth = 16

    private let cutoff: Double
    private var buffer: [Float] = []
    /// Index in the whole input of `buffer[0]`.
    private var bufferStart = 0
    /// Output samples produced so far.
    private var produced = 0

    init(inputRate: Int, outputRate: Int = 16_000) {
        self.inputRate = inputRate
        self.outputRate = outputRate
        self.cutoff = 0.95 * Double(min(inputRate, outputRate)) / Double(inputRate)
    }

    /// Converts the next chunk; returns every output sample whose input neighbourhood is now complete.
    mutating func process(_ samples: [Float]) -> [Float] {
        if inputRate == outputRate { return samples }
        buffer.append(contentsOf: samples)
        let step = Double(inputRate) / Double(outputRate)
        let available = bufferStart + buffer.count
        var output: [Float] = []
        while true {
            let position = Double(produced) * step
            let center = Int(position.rounded(.down))
            guard center + Self.halfWidth < available else { break }
            var sum: Double = 0
            for index in (center - Self.halfWidth + 1)...(center + Self.halfWidth) where index >= 0 {
                let distance = position - Double(index)
                sum += Double(buffer[index - bufferStart]) * kernel(distance)
            }
            output.append(Float(sum))
            produced += 1
        }
        // Keep what the next output samples still need.
        let needed = Int((Double(produced) * step).rounded(.down)) - Self.halfWidth + 1
        if needed > bufferStart {
            buffer.removeFirst(min(buffer.count, needed - bufferStart))
            bufferStart = needed
        }
        return output
    }

    private func kernel(_ distance: Double) -> Double {
        let x = distance * cutoff
        let sinc = x == 0 ? 1 : sin(Double.pi * x) / (Double.pi * x)
        let ratio = distance / Double(Self.halfWidth)
        guard abs(ratio) < 1 else { return 0 }
        return cutoff * sinc * Self.besselI0(Self.beta * (1 - ratio * ratio).squareRoot()) / Self.besselI0(Self.beta)
    }

    /// The Kaiser window's shape parameter.
    static let beta = 8.0

    /// The modified Bessel function of the first kind, order 0, by its series.
    static func besselI0(_ x: Double) -> Double {
        var sum = 1.0
        var term = 1.0
        var k = 1.0
        while term > 1e-12 * sum {
            term *= (x / (2 * k)) * (x / (2 * k))
            sum += term
            k += 1
        }
        return sum
    }
}
