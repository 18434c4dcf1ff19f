/// The kinds of work the engine's cores do for transcriptions, as ``ComputeActivity`` counts them.
public enum ComputeWork: String, Sendable, CaseIterable {
    /// Encoding a 30 s window of audio.
    case encoder
    /// A window's decoder prompt, with the audio's cross-attention keys and values (or a language detection pass).
    case prompt
    /// The decoder pass that aligns words with the audio (word timestamps).
    case alignment
    /// Single-token decoder steps, each pass advancing every transcription that waits for one.
    case decoderStep = "decoder_step"
    /// Preparing the encoder's kernels before the first request (bfloat16).
    case warmUp = "warm_up"
}

/// What the engine's cores have done so far: seconds per kind of work and how many transcriptions each decoder pass
/// advanced. Read from ``WhisperModel/computeActivity``, which sums every model (they share the cores), for metrics
/// and benchmarks: how much of a busy server's time batching can shrink (decoder steps) and how much it cannot.
public struct ComputeActivity: Sendable, Equatable {
    /// Upper bounds of the ``decoderPassesBySessions`` buckets; passes of more sessions count in a last bucket.
    public static let sessionBuckets = [1, 2, 4, 8, 16, 32]

    /// Seconds of the cores' time per kind of work. Work that held half the cores, beside another piece, counts half,
    /// so the sum grows by at most one second per second.
    public private(set) var seconds: [ComputeWork: Double] = [:]
    /// Decoder passes run.
    public private(set) var decoderPasses = 0
    /// Transcriptions (sessions) advanced, summed over the decoder passes: divided by ``decoderPasses``, the mean
    /// batch.
    public private(set) var decoderPassSessions = 0
    /// Decoder passes per bucket of ``sessionBuckets`` (not cumulative), then the passes of more sessions.
    public private(set) var decoderPassesBySessions = [Int](repeating: 0, count: sessionBuckets.count + 1)

    /// Nothing done yet.
    public init() {}

    /// Adds the time `work` ran on all the cores, or on half of them when `sharedCores`.
    mutating func record(_ work: ComputeWork, elapsed: Duration, sharedCores: Bool) {
        seconds[work, default: 0] += sharedCores ? elapsed.seconds / 2 : elapsed.seconds
    }

    /// Counts a decoder pass that advanced `sessions` transcriptions.
    mutating func recordDecoderPass(sessions: Int) {
        decoderPasses += 1
        decoderPassSessions += sessions
        decoderPassesBySessions[Self.sessionBuckets.firstIndex { sessions <= $0 } ?? Self.sessionBuckets.count] += 1
    }
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
