import Foundation
import Testing
import WhisperAudio

@Suite("Preprocessing")
struct PreprocessingTests {
    /// One second of 440 Hz at `amplitude`, between `leading` and `trailing` seconds of silence.
    static func tone(amplitude: Float, leading: Double = 0, trailing: Double = 0) -> [Float] {
        let rate = Double(DecodedAudio.sampleRate)
        let tone = (0..<DecodedAudio.sampleRate).map { amplitude * Float(sin(2 * Double.pi * 440 * Double($0) / rate)) }
        return [Float](repeating: 0, count: Int(leading * rate)) + tone + [Float](repeating: 0, count: Int(trailing * rate))
    }

    @Test func offByDefault() {
        let samples = Self.tone(amplitude: 0.1, leading: 0.5)
        let preprocessing = AudioPreprocessing()
        #expect(!preprocessing.isEnabled)
        let result = preprocessing.apply(to: samples)
        #expect(result.samples == samples)
        #expect(result.offset == 0)
    }

    @Test func normalisesPeakToMinusOneDBFS() {
        let result = AudioPreprocessing(normalizePeak: true).apply(to: Self.tone(amplitude: 0.1))
        #expect(abs(Signal.peak(result.samples) - 0.891) < 0.001)
        #expect(result.offset == 0)
    }

    @Test func leavesSilenceAlone() {
        let silence = [Float](repeating: 0, count: 1600)
        let result = AudioPreprocessing(normalizePeak: true, trimSilenceThresholdDB: -40).apply(to: silence)
        #expect(result.samples == silence)
        #expect(result.offset == 0)
    }

    @Test func trimsLeadingAndTrailingSilenceAndReportsOffset() {
        let samples = Self.tone(amplitude: 0.5, leading: 1.25, trailing: 0.7)
        let result = AudioPreprocessing(trimSilenceThresholdDB: -40).apply(to: samples)
        #expect(result.offset == 1.25)
        #expect(result.samples.count == DecodedAudio.sampleRate)
        #expect(result.samples == Array(samples[20_000..<36_000]))
    }

    /// Quiet audio below the threshold counts as silence; trimming happens before normalisation.
    @Test func trimsQuietNoiseThenNormalises() {
        let hiss = [Float](repeating: 0.001, count: 8000)
        let samples = hiss + Self.tone(amplitude: 0.2) + hiss
        let result = AudioPreprocessing(normalizePeak: true, trimSilenceThresholdDB: -40).apply(to: samples)
        #expect(result.offset == 0.5)
        #expect(result.samples.count == DecodedAudio.sampleRate)
        #expect(abs(Signal.peak(result.samples) - 0.891) < 0.001)
    }
}
