import Foundation
import Testing
import WhisperAudio

/// Decodes randomly damaged fixtures: every outcome must be audio or a typed error, with no crash, hang or leak
/// (run it under `--sanitize=address` too). The count defaults to 300 and is read from `WHISPER_FUZZ_COUNT`;
/// the seed from `WHISPER_FUZZ_SEED` (default 1), and each case names its seed so a failure can be replayed.
@Suite("Fuzzing the decoder", .timeLimit(.minutes(10)))
struct FuzzTests {
    static let count = ProcessInfo.processInfo.environment["WHISPER_FUZZ_COUNT"].flatMap(Int.init) ?? 300
    static let seed = ProcessInfo.processInfo.environment["WHISPER_FUZZ_SEED"].flatMap(UInt64.init) ?? 1
    static let limits = AudioLimits(maxDuration: 60, decodeTimeout: 20)

    @Test func mutatedFixtures() throws {
        let fixtures = try FixtureFormat.all.map { try Fixtures.bytes($0.make()) } + [
            try Fixtures.bytes(Fixtures.make("wav", ["-ar", "16000", "-c:a", "pcm_s16le"])),
            try Fixtures.bytes(Fixtures.make("wav", ["-af", DecodeFormatTests.pan("stereo"), "-ar", "44100", "-c:a", "pcm_s24le"])),
            try Fixtures.bytes(Fixtures.make("wav", ["-ar", "16000", "-c:a", "pcm_f32le"])),
            try Fixtures.bytes(Fixtures.make("wav", ["-ar", "22050", "-c:a", "pcm_f32le"])),
        ]
        var kinds: [String: Int] = [:]
        for index in 0..<Self.count {
            let caseSeed = Self.seed &* 1_000_003 &+ UInt64(index)
            var generator = SeededGenerator(seed: caseSeed)
            let bytes = Self.mutate(fixtures[index % fixtures.count], using: &generator)
            let start = ContinuousClock.now
            switch outcome(of: bytes, limits: Self.limits) {
            case .success(let audio):
                kinds["success", default: 0] += 1
                let finite = audio.samples.allSatisfy { $0.isFinite }
                #expect(finite, "seed \(caseSeed)")
                #expect(audio.duration <= Self.limits.maxDuration + 1, "seed \(caseSeed)")
            case .failure(let error):
                kinds[error.kind.rawValue, default: 0] += 1
                #expect(error.kind != .timedOut, "seed \(caseSeed): \(error)")
            }
            #expect(ContinuousClock.now - start < .seconds(10), "seed \(caseSeed)")
        }
        print("fuzz: \(Self.count) cases, seed \(Self.seed): \(kinds.sorted { $0.key < $1.key })")
    }

    /// One to four random mutations: bit flips, byte overwrites, truncation, chunk duplication.
    static func mutate(_ original: [UInt8], using generator: inout SeededGenerator) -> [UInt8] {
        var bytes = original
        for _ in 0..<Int.random(in: 1...4, using: &generator) where !bytes.isEmpty {
            let position = Int.random(in: 0..<bytes.count, using: &generator)
            switch Int.random(in: 0..<4, using: &generator) {
            case 0:
                bytes[position] ^= 1 << UInt8.random(in: 0..<8, using: &generator)
            case 1:
                for offset in position..<min(bytes.count, position + Int.random(in: 1...16, using: &generator)) {
                    bytes[offset] = UInt8.random(in: .min ... .max, using: &generator)
                }
            case 2:
                bytes.removeSubrange(position...)
            default:
                let length = Int.random(in: 1...4096, using: &generator)
                let chunk = bytes[position..<min(bytes.count, position + length)]
                bytes.insert(contentsOf: chunk, at: Int.random(in: 0...bytes.count, using: &generator))
            }
        }
        return bytes
    }
}
