import Foundation
import Testing
import WhisperAudio

/// Every supported container and codec decodes to 16 kHz mono matching the `ffmpeg` tool's reference.
///
/// Thresholds (normalised correlation after aligning for codec delay within ±150 ms): lossless PCM and FLAC > 0.999;
/// MP3, AAC, Vorbis and Opus > 0.99 (measured 0.997–0.99999); MP2 at 128 kb/s > 0.98 (measured 0.9868, the same
/// as the `ffmpeg` tool's own decode of that file).
@Suite("Decoding formats", .timeLimit(.minutes(5)))
struct DecodeFormatTests {
    static let pcmCodecs = ["pcm_u8", "pcm_s16le", "pcm_s24le", "pcm_s32le", "pcm_f32le"]
    static let layouts = ["mono", "stereo", "5.1"]
    static let sampleRates = [8000, 16000, 22050, 44100, 48000]

    @Test("WAV", arguments: pcmCodecs, layouts)
    func wav(codec: String, layout: String) throws {
        let reference = try Fixtures.reference.get()
        for sampleRate in Self.sampleRates {
            let url = try Fixtures.make("wav", ["-af", Self.pan(layout), "-ar", "\(sampleRate)", "-c:a", codec])
            let audio = try AudioDecoder().decode(Fixtures.bytes(url))
            let match = Signal.bestCorrelation(reference, audio.samples)
            #expect(match.value > 0.999, "\(codec) \(layout) \(sampleRate) Hz: correlation \(match.value) at lag \(match.lag)")
            #expect(abs(audio.duration - Double(reference.count) / 16000) < 0.01, "\(codec) \(layout) \(sampleRate) Hz")
            #expect(audio.containerName == "wav")
            #expect(audio.codecName == codec)
            #expect(audio.sourceSampleRate == sampleRate)
            #expect(audio.sourceChannels == ["mono": 1, "stereo": 2, "5.1": 6][layout])
            #expect(Signal.peak(audio.samples) <= 1)
        }
    }

    /// The pure-Swift path for 16 kHz WAV gives what FFmpeg gives for the same PCM in another container (Wave64,
    /// whose demuxer also returns the up to 7 bytes that pad its data chunk to a multiple of 8).
    @Test("16 kHz WAV fast path matches FFmpeg", arguments: pcmCodecs, ["mono", "stereo"])
    func wavFastPathMatchesFFmpeg(codec: String, layout: String) throws {
        let options = ["-af", Self.pan(layout), "-ar", "16000", "-c:a", codec]
        let fast = try AudioDecoder().decode(Fixtures.bytes(Fixtures.make("wav", options)))
        let ffmpeg = try AudioDecoder().decode(Fixtures.bytes(Fixtures.make("w64", options)))
        #expect(ffmpeg.containerName == "w64")
        #expect((0..<8).contains(ffmpeg.samples.count - fast.samples.count))
        let difference = zip(fast.samples, ffmpeg.samples).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
        #expect(difference < 1e-6, "\(codec) \(layout): largest difference \(difference)")
    }

    @Test("Compressed and video containers", arguments: FixtureFormat.all)
    func compressed(format: FixtureFormat) throws {
        let reference = try Fixtures.reference.get()
        let audio = try AudioDecoder().decode(Fixtures.bytes(format.make()))
        let match = Signal.bestCorrelation(reference, audio.samples)
        #expect(match.value > format.minimumCorrelation, "correlation \(match.value) at lag \(match.lag)")
        #expect(abs(audio.duration - Double(reference.count) / 16000) < 0.1, "duration \(audio.duration)")
        #expect(audio.containerName == format.containerName)
        #expect(audio.codecName == format.codecName)
    }

    /// An ID3v2 tag larger than FFmpeg's 1 MiB probe window (cover art of noise, which does not compress) is skipped.
    @Test func mp3WithLargeCoverArt() throws {
        let cover = Fixtures.directory.appendingPathComponent("\(UUID().uuidString).png")
        try Fixtures.ffmpeg(["-f", "lavfi", "-i", "nullsrc=size=1200x1000,geq=random(1)*255:128:128", "-frames:v", "1", cover.path])
        let mp3 = try Fixtures.make(
            "mp3",
            extraInputs: ["-i", cover.path],
            ["-map", "0:a", "-map", "1", "-c:a", "libmp3lame", "-b:a", "64k", "-c:v", "copy", "-id3v2_version", "3"]
        )
        let bytes = try Fixtures.bytes(mp3)
        #expect(bytes.count > 1_500_000)
        let audio = try AudioDecoder().decode(bytes)
        #expect(audio.containerName == "mp3")
        #expect(Signal.bestCorrelation(try Fixtures.reference.get(), audio.samples).value > 0.99)
    }

    /// Content decides the format: an MP3 saved as `.wav` still decodes as MP3.
    @Test func wrongExtensionIsIgnored() throws {
        let mp3 = try Fixtures.make("mp3", ["-c:a", "libmp3lame", "-b:a", "64k"])
        let renamed = mp3.deletingPathExtension().appendingPathExtension("wav")
        try FileManager.default.moveItem(at: mp3, to: renamed)
        let audio = try AudioDecoder().decode(contentsOf: renamed)
        #expect(audio.containerName == "mp3")
        #expect(audio.duration > 1)
    }

    /// One decoder value serves concurrent decodes, each independent.
    @Test func concurrentDecodes() async throws {
        let decoder = AudioDecoder()
        let inputs = try FixtureFormat.all.map { try Fixtures.bytes($0.make()) }
        let serial = try inputs.map { try decoder.decode($0).samples }
        let concurrent = try await withThrowingTaskGroup(of: (Int, [Float]).self) { group in
            for (index, bytes) in inputs.enumerated() {
                group.addTask { (index, try decoder.decode(bytes).samples) }
            }
            var results = [[Float]](repeating: [], count: inputs.count)
            for try await (index, samples) in group { results[index] = samples }
            return results
        }
        #expect(concurrent == serial)
    }

    /// An `ffmpeg` filter that copies the mono source into every channel of `layout`.
    static func pan(_ layout: String) -> String {
        let channels = ["mono": 1, "stereo": 2, "5.1": 6][layout] ?? 1
        return "pan=\(layout)|" + (0..<channels).map { "c\($0)=c0" }.joined(separator: "|")
    }
}
