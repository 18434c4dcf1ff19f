import ArgumentParser
import Foundation
import WhisperAudio
import WhisperEngine

/// `whisper-server bench FILE…`: speed and memory of the engine on real files.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure transcription speed: real-time factor, encoder ms per window, decoder ms per token, peak RSS.")

    @Argument(help: "Audio files to transcribe.")
    var files: [String]

    @OptionGroup var model: ModelOptions

    @Option(help: "Beam size (1 = greedy).")
    var beamSize: Int = 1

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    struct FileResult: Encodable {
        let file: String
        let audioSeconds: Double
        let wallSeconds: Double
        let rtf: Double
        let encoderMsPerWindow: Double
        let decoderMsPerToken: Double
        let peakRssMb: Double
        let text: String

        enum CodingKeys: String, CodingKey {
            case file, rtf, text
            case audioSeconds = "audio_seconds"
            case wallSeconds = "wall_seconds"
            case encoderMsPerWindow = "encoder_ms_per_window"
            case decoderMsPerToken = "decoder_ms_per_token"
            case peakRssMb = "peak_rss_mb"
        }
    }

    struct Report: Encodable {
        let model: String
        let loadSeconds: Double
        let beamSize: Int
        let files: [FileResult]

        enum CodingKeys: String, CodingKey {
            case model, files
            case loadSeconds = "load_seconds"
            case beamSize = "beam_size"
        }
    }

    func run() throws {
        let loadStart = Date()
        let whisper = try model.load()
        let loadSeconds = Date().timeIntervalSince(loadStart)
        var options = TranscriptionOptions()
        options.beamSize = beamSize
        var results: [FileResult] = []
        for file in files {
            let start = Date()
            let audio = try CommandFailure.wrap { try AudioDecoder().decode(contentsOf: URL(fileURLWithPath: file)) }
            let transcript = try CommandFailure.wrap { try whisper.transcribe(audio.samples, options: options) }
            let wall = Date().timeIntervalSince(start)
            let stats = transcript.statistics
            results.append(
                FileResult(
                    file: file, audioSeconds: audio.duration, wallSeconds: wall, rtf: audio.duration / wall,
                    encoderMsPerWindow: stats.encoderSeconds * 1000 / Double(max(1, stats.encodedWindows)),
                    decoderMsPerToken: stats.decoderSeconds * 1000 / Double(max(1, stats.decodedTokens)),
                    peakRssMb: Self.peakResidentMegabytes(), text: transcript.text))
        }
        let report = Report(model: model.model, loadSeconds: loadSeconds, beamSize: beamSize, files: results)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        print(String(format: "model %@, loaded in %.3f s, beam %d", model.model, loadSeconds, beamSize))
        print("file                                   audio s   wall s   × real time  enc ms/win  dec ms/tok  peak RSS MB")
        for r in results {
            print(
                String(
                    format: "%-38@ %8.2f %8.3f %12.1f %11.1f %11.2f %12.0f",
                    (r.file as NSString).lastPathComponent, r.audioSeconds, r.wallSeconds, r.rtf,
                    r.encoderMsPerWindow, r.decoderMsPerToken, r.peakRssMb))
        }
    }

    /// Peak resident set size of this process, in MB (Linux reports `ru_maxrss` in KiB).
    static func peakResidentMegabytes() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }
}
