import Foundation
import Testing
@testable import WhisperEngine

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

    /// Several minutes of speech, louder and quieter stretches and silence, so that windows fall before and after the
    /// blocks the first pass keeps and the loudest frame is far from most windows.
    static func longAudio() throws -> [Float] {
        let speech = try TestResources.samples("speech/long-form.flac")
        var samples: [Float] = []
        for (index, gain) in [Float(0.3), 0.05, 1, 0].enumerated() {
            samples += speech.map { $0 * gain }
            samples += [Float](repeating: 0, count: 1_000 * (index + 1))
        }
        return samples
    }

    /// Window by window, the features equal the whole-file spectrogram's for every frame each window uses, bit for bit,
    /// at starts that move forward by uneven steps (as a transcription seeks), across block boundaries, at the very end,
    /// and when a window starts again earlier.
    @Test func windowsEqualTheWholeSpectrogramBitForBit() throws {
        let samples = try Self.longAudio()
        let whole = LogMelSpectrogram(samples: samples, melBins: 80)
        var windows = LogMelWindows(samples: samples, melBins: 80)
        #expect(windows.frames == whole.frames)
        #expect(whole.frames > (LogMelWindows.keptBlocks + 4) * 1024, "the audio must outlast the blocks the first pass keeps")
        var starts: [Int] = []
        var start = 0
        var step = 0
        while start < whole.frames {
            starts.append(start)
            step += 1
            start += [2_500, 3_000, 1_023, 2_999, 1, 2_048, 1_500][step % 7]
        }
        starts += [whole.frames - 1, whole.frames - 2_999, 100, whole.frames + 5]
        for start in starts {
            let count = min(LogMelSpectrogram.windowFrames, max(0, whole.frames - 1 - start))
            let expected = whole.window(from: start, count: count)
            let actual = windows.window(from: start, count: count)
            #expect(actual.elementsEqual(expected) { $0.bitPattern == $1.bitPattern }, "window at frame \(start)")
        }
    }

    /// Short and empty audio give the same single frame either way.
    @Test(arguments: [0, 3, 199, 200, 201, 360, 16_000])
    func windowsOfShortAudioEqualTheWholeSpectrogram(count: Int) {
        let samples = (0..<count).map { Float(sin(Double($0) * 0.3)) * 0.5 }
        let whole = LogMelSpectrogram(samples: samples, melBins: 80)
        var windows = LogMelWindows(samples: samples, melBins: 80)
        #expect(windows.frames == whole.frames)
        let expected = whole.window(from: 0, count: whole.frames)
        #expect(windows.window(from: 0, count: whole.frames).elementsEqual(expected) { $0.bitPattern == $1.bitPattern })
    }

    @Test func handlesAudioShorterThanOneFFT() {
        let mel = LogMelSpectrogram(samples: [0.5, -0.5, 0.25], melBins: 80)
        #expect(mel.frames == 1)
        #expect(mel.values.allSatisfy { $0.isFinite })
    }
}
