import Foundation
import Testing
import WhisperEngine

@Suite struct LogMelSpectrogramTests {
    /// Against an independent numpy implementation (tools/mel_reference.py), which agrees with faster-whisper to 1.2e-5.
    @Test func matchesTheNumpyReferenceWithin1e4() throws {
        let samples = try TestResources.samples("speech/hello-world.wav")
        let mel = LogMelSpectrogram(samples: samples, melBins: 80)
        let data = try Data(contentsOf: TestResources.fixtures.appendingPathComponent("mel/hello-world.mel80.f32"))
        let reference = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let frames = reference.count / 80
        #expect(frames == 374)
        #expect(mel.frames >= frames)
        var worst: Float = 0
        for band in 0..<80 {
            for t in 0..<frames {
                worst = max(worst, abs(mel.values[t * 80 + band] - reference[band * frames + t]))
            }
        }
        #expect(worst < 1e-4, "max abs difference \(worst)")
    }

    @Test func windowsArePaddedWithZeros() throws {
        let mel = LogMelSpectrogram(samples: [Float](repeating: 0.1, count: 16_000), melBins: 80)
        let window = mel.window(from: 50, count: 3000)
        #expect(window.count == 3000 * 80)
        #expect(window[(mel.frames - 50) * 80 ..< 3000 * 80].allSatisfy { $0 == 0 })
        #expect(Array(window[0..<80]) == Array(mel.values[50 * 80 ..< 51 * 80]))
    }

    @Test func handlesAudioShorterThanOneFFT() {
        let mel = LogMelSpectrogram(samples: [0.5, -0.5, 0.25], melBins: 80)
        #expect(mel.frames == 1)
        #expect(mel.values.allSatisfy { $0.isFinite })
    }
}
