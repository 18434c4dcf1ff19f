import Foundation
import Testing
import WhisperAudio

/// Bad inputs fail fast with the right ``AudioDecodingError/Kind``, never crash, hang or allocate without bound.
@Suite("Rejecting bad input", .timeLimit(.minutes(3)))
struct DecodeErrorTests {
    @Test func zeroBytesAreEmpty() {
        #expect(kind(of: []) == .empty)
    }

    @Test func randomBytesAreUnsupported() {
        var generator = SeededGenerator(seed: 42)
        let bytes = (0..<100).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        #expect(kind(of: bytes) == .unsupportedFormat)
    }

    @Test func textIsUnsupported() {
        let text = Array("Hello, this is a plain text file.\nIt has two lines.\n".utf8)
        #expect(kind(of: text) == .unsupportedFormat)
    }

    @Test func pngIsUnsupported() throws {
        let png = Fixtures.directory.appendingPathComponent("\(UUID().uuidString).png")
        try Fixtures.ffmpeg(["-f", "lavfi", "-i", "testsrc=size=64x64", "-frames:v", "1", png.path])
        #expect(kind(of: try Fixtures.bytes(png)) == .unsupportedFormat)
    }

    @Test func videoWithoutAudioHasNoAudioStream() throws {
        let video = Fixtures.directory.appendingPathComponent("\(UUID().uuidString).mp4")
        try Fixtures.ffmpeg(["-f", "lavfi", "-i", "testsrc=size=160x120:rate=25:duration=2", "-c:v", "libx264", "-preset", "ultrafast", video.path])
        #expect(kind(of: try Fixtures.bytes(video)) == .noAudioStream)
    }

    /// A header with no data is too short, whether the pure-Swift path (16 kHz) or FFmpeg (44.1 kHz) reads it.
    @Test(arguments: [16000, 44100])
    func wavHeaderWithoutData(sampleRate: Int) {
        let header = Self.wavHeader(sampleRate: sampleRate, bitsPerSample: 16, dataSize: 0)
        #expect(kind(of: header) == .tooShort)
    }

    /// A header claiming 100 hours (or 37 hours, the most a 16 kHz 16-bit header can claim) over one real second:
    /// only the real data is decoded, quickly.
    @Test(arguments: [(8000, 8, UInt32(100 * 3600 * 8000)), (16000, 16, UInt32.max - 1)])
    func wavHeaderClaimingHours(sampleRate: Int, bitsPerSample: Int, dataSize: UInt32) throws {
        let data = [UInt8](repeating: 0x40, count: sampleRate * bitsPerSample / 8)
        let bytes = Self.wavHeader(sampleRate: sampleRate, bitsPerSample: bitsPerSample, dataSize: dataSize) + data
        let start = ContinuousClock.now
        let audio = try AudioDecoder().decode(bytes)
        #expect(abs(audio.duration - 1) < 0.01)
        #expect(ContinuousClock.now - start < .seconds(5))
    }

    /// Highly compressible long audio (an hour of FLAC silence is a few hundred kilobytes) stops at `maxDuration`.
    @Test(arguments: ["flac", "wav"])
    func decompressionBombIsTooLong(fileExtension: String) throws {
        let bomb = Fixtures.directory.appendingPathComponent("\(UUID().uuidString).\(fileExtension)")
        try Fixtures.ffmpeg(["-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "600", bomb.path])
        let bytes = try Fixtures.bytes(bomb)
        let start = ContinuousClock.now
        #expect(kind(of: bytes, limits: AudioLimits(maxDuration: 5)) == .tooLong)
        #expect(ContinuousClock.now - start < .seconds(5))
    }

    @Test func tinyTimeoutTimesOut() throws {
        let bytes = try Fixtures.bytes(FixtureFormat.all[0].make())
        #expect(kind(of: bytes, limits: AudioLimits(decodeTimeout: 1e-6)) == .timedOut)
    }

    @Test func tooManyBytesAreTooLarge() throws {
        let bytes = try Fixtures.bytes(FixtureFormat.all[0].make())
        #expect(kind(of: bytes, limits: AudioLimits(maxInputBytes: 1000)) == .tooLarge)
    }

    @Test func shorterThanMinimumIsTooShort() throws {
        let bytes = try Fixtures.bytes(FixtureFormat.all[0].make())
        #expect(kind(of: bytes, limits: AudioLimits(minDuration: 60)) == .tooShort)
    }

    @Test func tooManyChannelsAreUnsupported() throws {
        let bytes = try Fixtures.bytes(Fixtures.make("wav", ["-af", DecodeFormatTests.pan("5.1")]))
        #expect(kind(of: bytes, limits: AudioLimits(maxChannels: 2)) == .unsupportedFormat)
    }

    @Test func sampleRateAboveLimitIsUnsupported() throws {
        let bytes = try Fixtures.bytes(Fixtures.make("flac", ["-ar", "48000"]))
        #expect(kind(of: bytes, limits: AudioLimits(maxSampleRate: 44100)) == .unsupportedFormat)
    }

    @Test func unreadableFileIsCorruptWithoutPath() {
        let missing = Fixtures.directory.appendingPathComponent("missing-\(UUID().uuidString).mp3")
        do {
            _ = try AudioDecoder().decode(contentsOf: missing)
            Issue.record("decoding a missing file succeeded")
        } catch {
            #expect(error.kind == .corrupt)
            #expect(!error.message.contains(missing.lastPathComponent))
        }
    }

    /// Every format cut at 10 % and 50 % either yields the decodable part or a typed error; WAV cut at 50 %
    /// keeps half of the audio, FLAC (whose frames compress unevenly) at least a quarter.
    @Test(arguments: FixtureFormat.all.map(\.name) + ["wav 16 kHz", "wav 44.1 kHz"])
    func truncated(name: String) throws {
        let url: URL
        switch name {
        case "wav 16 kHz": url = try Fixtures.make("wav", ["-ar", "16000", "-c:a", "pcm_s16le"])
        case "wav 44.1 kHz": url = try Fixtures.make("wav", ["-ar", "44100", "-c:a", "pcm_s16le"])
        default: url = try #require(FixtureFormat.all.first { $0.name == name }).make()
        }
        let bytes = try Fixtures.bytes(url)
        let whole = try AudioDecoder().decode(bytes)
        for fraction in [0.1, 0.5] {
            if case .success(let audio) = outcome(of: Array(bytes.prefix(Int(Double(bytes.count) * fraction)))) {
                #expect(audio.duration <= whole.duration + 0.05)
                if name.hasPrefix("wav"), fraction == 0.5 {
                    #expect(abs(audio.duration - whole.duration / 2) < 0.05)
                }
                if name == "flac", fraction == 0.5 {
                    #expect(audio.duration > whole.duration / 4)
                }
            }
        }
    }

    /// NaN and infinity in float WAV data become silence, on the pure-Swift path (16 kHz) and through FFmpeg.
    @Test(arguments: [16000, 22050])
    func nonFiniteFloatSamplesBecomeSilence(sampleRate: Int) throws {
        let values = (0..<sampleRate).map { index -> Float in
            switch index % 100 {
            case 0: .nan
            case 1: .infinity
            case 2: -.infinity
            default: 0.25
            }
        }
        let data = values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian, Array.init) }
        let header = Self.wavHeader(sampleRate: sampleRate, bitsPerSample: 32, dataSize: UInt32(data.count), formatTag: 3)
        let audio = try AudioDecoder().decode(header + data)
        #expect(audio.codecName == "pcm_f32le")
        #expect(audio.samples.allSatisfy { $0.isFinite })
        #expect(abs(audio.duration - 1) < 0.01)
    }

    /// A canonical 44-byte WAV header (mono), PCM unless `formatTag` says otherwise (3 is IEEE float).
    static func wavHeader(sampleRate: Int, bitsPerSample: Int, dataSize: UInt32, formatTag: Int = 1) -> [UInt8] {
        func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
        func le16(_ value: Int) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }
        let blockAlign = bitsPerSample / 8
        return Array("RIFF".utf8) + le32(dataSize &+ 36) + Array("WAVEfmt ".utf8) + le32(16) + le16(formatTag) + le16(1)
            + le32(UInt32(sampleRate)) + le32(UInt32(sampleRate * blockAlign)) + le16(blockAlign) + le16(bitsPerSample)
            + Array("data".utf8) + le32(dataSize)
    }
}

/// Decodes `bytes`, capturing the typed error.
func outcome(of bytes: [UInt8], limits: AudioLimits = AudioLimits()) -> Result<DecodedAudio, AudioDecodingError> {
    do {
        return .success(try AudioDecoder(limits: limits).decode(bytes))
    } catch {
        return .failure(error)
    }
}

/// The error kind decoding `bytes` fails with, or `nil` if it succeeds.
func kind(of bytes: [UInt8], limits: AudioLimits = AudioLimits()) -> AudioDecodingError.Kind? {
    guard case .failure(let error) = outcome(of: bytes, limits: limits) else { return nil }
    return error.kind
}

/// SplitMix64: a small seeded generator, so fuzz cases are reproducible from their seed.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
