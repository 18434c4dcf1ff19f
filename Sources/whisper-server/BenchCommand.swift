import ArgumentParser
import Foundation
import WhisperAudio
import WhisperEngine
import WhisperTensor

/// `whisper-server bench FILE…`: speed and memory of the engine on real files.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: """
            Measure transcription speed: real-time factor, encoder ms per window and its share of the machine's sgemm \
            throughput, decoder ms per token, model load time, peak RSS.
            """)

    @Argument(help: "Audio files to transcribe.")
    var files: [String]

    @OptionGroup var model: ModelOptions

    @Option(help: "Beam size (1 = greedy).")
    var beamSize: Int = 1

    @Option(help: "Precision of the encoder's matrix products: float32 or bfloat16 (AVX512-BF16 or AMX).")
    var encoderPrecision: ProductPrecision = .float32

    @Option(help: "Transcriptions of each file (the first run after loading is reported apart from the rest).")
    var runs: Int = 1

    @Option(help: "Rounds of the encoder-versus-sgemm comparison (one 30 s window and one sgemm product each, alternating).")
    var encoderRounds: Int = 10

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    struct FileResult: Encodable {
        let file: String
        let run: Int
        let audioSeconds: Double
        let wallSeconds: Double
        let rtf: Double
        let encoderMsPerWindow: Double
        let decoderMsPerToken: Double
        let encodedWindows: Int
        let decoderSteps: Int
        let peakRssMb: Double
        let text: String

        enum CodingKeys: String, CodingKey {
            case file, run, rtf, text
            case audioSeconds = "audio_seconds"
            case wallSeconds = "wall_seconds"
            case encoderMsPerWindow = "encoder_ms_per_window"
            case decoderMsPerToken = "decoder_ms_per_token"
            case encodedWindows = "encoded_windows"
            case decoderSteps = "decoder_steps"
            case peakRssMb = "peak_rss_mb"
        }
    }

    /// The encoder on one 30 s window and `sgemm` on the encoder's feed-forward shape, timed in alternation so that
    /// both see the same conditions (this machine's speed drifts by tens of percent over seconds).
    struct EncoderComparison: Encodable {
        let rounds: Int
        let encoderMsBest: Double
        let encoderMsMedian: Double
        let encoderGflopsBest: Double
        let encoderGflopsMedian: Double
        let sgemmGflopsBest: Double
        let sgemmGflopsMedian: Double

        /// The encoder's best throughput as a share of `sgemm`'s best, and likewise for the medians.
        let shareOfBest: Double
        let shareOfMedian: Double

        enum CodingKeys: String, CodingKey {
            case rounds
            case encoderMsBest = "encoder_ms_best"
            case encoderMsMedian = "encoder_ms_median"
            case encoderGflopsBest = "encoder_gflops_best"
            case encoderGflopsMedian = "encoder_gflops_median"
            case sgemmGflopsBest = "sgemm_gflops_best"
            case sgemmGflopsMedian = "sgemm_gflops_median"
            case shareOfBest = "share_of_best"
            case shareOfMedian = "share_of_median"
        }
    }

    struct Report: Encodable {
        let model: String
        let loadSeconds: Double
        let beamSize: Int
        let threads: Int
        /// The precision the encoder's products ran in (``ProductPrecision/available``).
        let encoderPrecision: String
        /// How the decoder's weights were held (``DecoderWeights``).
        let decoderWeights: String
        /// The library running `sgemm` (``GEMMBackend``).
        let gemm: String
        /// `sgemm` GFLOP/s on the encoder's feed-forward shape.
        let sgemmGflops: Double
        /// Multiply-adds ×2 of one 30 s window through the encoder.
        let encoderGflopPerWindow: Double
        /// The encoder against `sgemm` in alternating rounds.
        let encoderVersusSgemm: EncoderComparison
        /// GB/s the decoder's half-precision matrix-vector kernel streams weights at, one row.
        let gemvGBPerSecond: Double
        /// Weight bytes one decoder step reads (shared by the sequences of a batched step).
        let decoderStepBytes: Int
        /// Cross-attention key/value bytes each sequence's step reads.
        let crossAttentionBytesPerWindow: Int
        let files: [FileResult]

        enum CodingKeys: String, CodingKey {
            case model, files, threads, gemm
            case loadSeconds = "load_seconds"
            case beamSize = "beam_size"
            case encoderPrecision = "encoder_precision"
            case decoderWeights = "decoder_weights"
            case sgemmGflops = "sgemm_gflops"
            case encoderGflopPerWindow = "encoder_gflop_per_window"
            case encoderVersusSgemm = "encoder_vs_sgemm"
            case gemvGBPerSecond = "gemv_gb_per_second"
            case decoderStepBytes = "decoder_step_bytes"
            case crossAttentionBytesPerWindow = "cross_attention_bytes_per_window"
        }
    }

    func run() throws {
        let loadStart = Date()
        let whisper = try model.load()
        let loadSeconds = Date().timeIntervalSince(loadStart)
        var options = TranscriptionOptions()
        options.beamSize = beamSize
        options.encoderPrecision = encoderPrecision
        let info = whisper.info
        let sgemm = Matrix.measureThroughput(m: Self.audioFrames, n: 4 * info.width, k: info.width)
        let bandwidth = Self.measureGEMVBandwidth()
        var results: [FileResult] = []
        let audio = try files.map { file in
            try CommandFailure.wrap { try AudioDecoder().decode(contentsOf: URL(fileURLWithPath: file)) }
        }
        let comparison = compareEncoder(whisper, samples: audio.first?.samples ?? [], info: info)
        for (file, audio) in zip(files, audio) {
            for run in 1...max(1, runs) {
                let start = Date()
                let transcript = try CommandFailure.wrap { try whisper.transcribe(audio.samples, options: options) }
                let wall = Date().timeIntervalSince(start)
                let stats = transcript.statistics
                results.append(
                    FileResult(
                        file: file, run: run, audioSeconds: audio.duration, wallSeconds: wall, rtf: audio.duration / wall,
                        encoderMsPerWindow: stats.encoderSeconds * 1000 / Double(max(1, stats.encodedWindows)),
                        decoderMsPerToken: stats.decoderSeconds * 1000 / Double(max(1, stats.decodedTokens)),
                        encodedWindows: stats.encodedWindows, decoderSteps: stats.decodedTokens,
                        peakRssMb: Self.peakResidentMegabytes(), text: transcript.text))
            }
        }
        let report = Report(
            model: model.model, loadSeconds: loadSeconds, beamSize: beamSize, threads: Matrix.threadCount,
            encoderPrecision: encoderPrecision.available.rawValue, decoderWeights: model.decoderWeights.rawValue, gemm: Matrix.backend.rawValue, sgemmGflops: sgemm, encoderGflopPerWindow: Self.encoderOperations(info) / 1e9, encoderVersusSgemm: comparison,
            gemvGBPerSecond: bandwidth, decoderStepBytes: info.decoderStepBytes,
            crossAttentionBytesPerWindow: info.crossAttentionBytesPerWindow, files: results)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        print(
            String(
                format: "model %@, loaded in %.3f s, beam %d, %d threads, %@ encoder, %@ decoder weights", model.model,
                loadSeconds, beamSize, report.threads, report.encoderPrecision, report.decoderWeights))
        print(
            String(
                format: "sgemm (%@) %.1f GFLOP/s (%d×%d×%d); encoder %.2f GFLOP per window", report.gemm, sgemm,
                Self.audioFrames, 4 * info.width, info.width, report.encoderGflopPerWindow))
        print(
            String(
                format: "GEMV %.1f GB/s (float16 weights); decoder step reads %.1f MB of weights + %.1f MB cross-attention per sequence",
                bandwidth, Double(info.decoderStepBytes) / 1e6, Double(info.crossAttentionBytesPerWindow) / 1e6))
        print(
            String(
                format: "encoder vs sgemm, %d alternating rounds: best %.1f ms/window (%.0f GFLOP/s) = %.0f%% of sgemm's best %.0f GFLOP/s; median %.1f ms (%.0f GFLOP/s) = %.0f%% of sgemm's median %.0f GFLOP/s",
                comparison.rounds, comparison.encoderMsBest, comparison.encoderGflopsBest, comparison.shareOfBest * 100,
                comparison.sgemmGflopsBest, comparison.encoderMsMedian, comparison.encoderGflopsMedian,
                comparison.shareOfMedian * 100, comparison.sgemmGflopsMedian))
        print("file                           run  audio s   wall s  × real time  enc ms/win  % sgemm  dec ms/tok  peak RSS MB")
        for r in results {
            let encoderShare = report.encoderGflopPerWindow / (r.encoderMsPerWindow / 1000) / sgemm * 100
            print(
                String(
                    format: "%@ %3d %8.2f %8.3f %12.1f %11.1f %8.0f %11.2f %12.0f",
                    URL(fileURLWithPath: r.file).lastPathComponent.padding(toLength: 30, withPad: " ", startingAt: 0), r.run, r.audioSeconds, r.wallSeconds, r.rtf,
                    r.encoderMsPerWindow, encoderShare, r.decoderMsPerToken, r.peakRssMb))
        }
    }

    /// Times the encoder on the first window of `samples` and `sgemm` on the encoder's feed-forward shape in
    /// alternation, ``encoderRounds`` times (after one untimed window).
    func compareEncoder(_ whisper: WhisperModel, samples: [Float], info: ModelInfo) -> EncoderComparison {
        let rounds = max(1, encoderRounds)
        let operations = Self.encoderOperations(info)
        _ = whisper.encoderSeconds(forWindowOf: samples, precision: encoderPrecision)
        var encoderSeconds: [Double] = []
        var sgemm: [Double] = []
        for _ in 0..<rounds {
            encoderSeconds.append(whisper.encoderSeconds(forWindowOf: samples, precision: encoderPrecision))
            sgemm.append(Matrix.measureThroughput(m: Self.audioFrames, n: 4 * info.width, k: info.width, repetitions: 3))
        }
        encoderSeconds.sort()
        sgemm.sort()
        let medianSeconds = Self.median(encoderSeconds)
        let (encoderBest, encoderMedian) = (operations / encoderSeconds[0] / 1e9, operations / medianSeconds / 1e9)
        let (sgemmBest, sgemmMedian) = (sgemm.last!, Self.median(sgemm))
        return EncoderComparison(
            rounds: rounds, encoderMsBest: encoderSeconds[0] * 1000, encoderMsMedian: medianSeconds * 1000,
            encoderGflopsBest: encoderBest, encoderGflopsMedian: encoderMedian,
            sgemmGflopsBest: sgemmBest, sgemmGflopsMedian: sgemmMedian,
            shareOfBest: encoderBest / sgemmBest, shareOfMedian: encoderMedian / sgemmMedian)
    }

    /// The middle value of sorted `values` (the mean of the middle two for an even count).
    static func median(_ values: [Double]) -> Double {
        let middle = values.count / 2
        return values.count % 2 == 1 ? values[middle] : (values[middle - 1] + values[middle]) / 2
    }

    /// Encoder states per window: the second convolution halves the window's mel frames.
    static let audioFrames = LogMelSpectrogram.windowFrames / 2

    /// Floating-point operations (2 per multiply-add) of the encoder on one window: both convolutions, and per layer
    /// the Q/K/V and output projections, the attention products and the feed-forward block.
    static func encoderOperations(_ info: ModelInfo) -> Double {
        let (frames, width, mels) = (Double(audioFrames), Double(info.width), Double(info.melBins))
        let convolutions = 2 * (2 * frames) * (3 * mels) * width + 2 * frames * (3 * width) * width
        let projections = 2 * frames * width * (4 * width)
        let attention = 2 * 2 * frames * frames * width
        let feedForward = 2 * 2 * frames * width * (4 * width)
        return convolutions + Double(info.encoderLayers) * (projections + attention + feedForward)
    }

    /// GB/s of weights the matrix-vector kernel streams: one row through a half-precision matrix the shape of Whisper's
    /// token embedding (51,864 × 384, 40 MB: the decoder's largest product), the best of ten runs after a warm-up.
    static func measureGEMVBandwidth() -> Double {
        let (outputs, inputs) = (51_864, 384)
        // Values half precision holds exactly, so the layer stores them as `Float16`, as it does Whisper's weights.
        let layer = Linear(
            weight: (0..<outputs * inputs).map { Float($0 % 64) / 64 }, bias: [], inputs: inputs, outputs: outputs)
        let input = Tensor(rows: 1, columns: inputs, values: [Float](repeating: 0.25, count: inputs))
        var best = Double.infinity
        for run in 0...10 {
            let start = Date()
            _ = layer(input)
            if run > 0 { best = min(best, Date().timeIntervalSince(start)) }
        }
        return Double(outputs * inputs * MemoryLayout<Float16>.size) / best / 1e9
    }

    /// Peak resident set size of this process, in MB (Linux reports `ru_maxrss` in KiB).
    static func peakResidentMegabytes() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }
}
