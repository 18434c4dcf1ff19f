import Foundation
import Testing
import WhisperAudio

/// Decode speed on long files, in multiples of real time on one core. Off by default: `tools/bench_decode.sh`
/// generates the files into `WHISPER_BENCH_DIR` and runs it with `WHISPER_BENCH=1` in release mode.
///
/// Decoding runs on the calling thread, so its thread CPU time is the one-core cost even on a busy machine;
/// wall time is printed too. The target, ≥ 200× real time, is checked against CPU time.
@Suite("Decode benchmark", .serialized)
struct BenchmarkTests {
    static let environment = ProcessInfo.processInfo.environment
    static let directory = environment["WHISPER_BENCH_DIR"].map { URL(fileURLWithPath: $0) }

    @Test(.enabled(if: environment["WHISPER_BENCH"] == "1" && directory != nil), arguments: ["bench.mp3", "bench.m4a", "bench.wav"])
    func decodeSpeed(file: String) throws {
        let directory = try #require(Self.directory)
        let bytes = try Fixtures.bytes(directory.appendingPathComponent(file))
        let decoder = AudioDecoder()
        var best = (cpu: Double.infinity, wall: Double.infinity)
        var duration = 0.0
        for _ in 0..<3 {
            let (wallStart, cpuStart) = (Self.now(CLOCK_MONOTONIC), Self.now(CLOCK_THREAD_CPUTIME_ID))
            duration = try decoder.decode(bytes).duration
            best = (min(best.cpu, Self.now(CLOCK_THREAD_CPUTIME_ID) - cpuStart), min(best.wall, Self.now(CLOCK_MONOTONIC) - wallStart))
        }
        let speed = duration / best.cpu
        print(String(format: "bench: %@ %.0f s of audio: %.3f s CPU (%.0fx real time), %.3f s wall (%.0fx)", file, duration, best.cpu, speed, best.wall, duration / best.wall))
        #expect(speed >= 200)
    }

    private static func now(_ clock: clockid_t) -> Double {
        var time = timespec()
        clock_gettime(clock, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
    }
}
