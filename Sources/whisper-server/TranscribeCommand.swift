import ArgumentParser
import Foundation
import WhisperAudio
import WhisperEngine
import WhisperTensor

/// `whisper-server transcribe FILE`: offline transcription to stdout or a file.
struct TranscribeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transcribe",
        abstract: "Transcribe (or translate) an audio or video file.")

    @Argument(help: "Audio or video file (wav, mp3, flac, ogg, m4a, mp4, webm, …).")
    var file: String

    @OptionGroup var model: ModelOptions

    @Option(help: "Output format: text, json, verbose_json, srt or vtt.")
    var format: TranscriptFormat = .text

    @Option(help: "Language code (e.g. en, de); omit to detect.")
    var language: String?

    @Option(help: "Transcribe, or translate to English.")
    var task: TranscriptionTask = .transcribe

    @Option(help: "Beam size (1 = greedy).")
    var beamSize: Int = 5

    @Option(help: "Encoder products in float32 (reference transcripts) or bfloat16 (AVX512-BF16 or AMX where the CPU has it: faster).")
    var encoderPrecision: ProductPrecision = .float32

    @Option(help: "Temperature; 0 tries 0, 0.2 … 1.0 as fallback, a higher value starts the fallback there.")
    var temperature: Float = 0

    @Option(help: "Candidates sampled at temperatures above 0; the most likely one wins.")
    var bestOf: Int = 5

    @Flag(help: "Transcribe only the speech the voice activity detector finds (times stay those of the file).")
    var vad = false

    @Option(help: "With --vad: speech score (0–1) that starts speech; higher ignores more noise.")
    var vadThreshold: Float = VoiceActivityOptions().threshold

    @Option(help: "With --vad: milliseconds of audio kept around each speech region.")
    var vadPaddingMs: Int = Int(VoiceActivityOptions().padding * 1000)

    @Option(help: "With --vad: milliseconds of quiet that end a speech region.")
    var vadSilenceMs: Int = Int(VoiceActivityOptions().minSilenceDuration * 1000)

    @Flag(
        inversion: .prefixedNo,
        help: "Remove decoding loops, repeated segments and phrases invented on silence (listed in verbose_json's 'filtered').")
    var hallucinationFilter = true

    @Option(help: "Initial prompt (names, spelling, style).")
    var prompt: String?

    @Option(help: "Write here instead of standard output.")
    var output: String?

    func validate() throws {
        guard beamSize >= 1 && beamSize <= 16 else { throw ValidationError("--beam-size must be between 1 and 16") }
        guard temperature >= 0 && temperature <= 1 else { throw ValidationError("--temperature must be between 0 and 1") }
        guard bestOf >= 1 && bestOf <= 16 else { throw ValidationError("--best-of must be between 1 and 16") }
        guard voiceActivity.isValid else { throw ValidationError("--vad-threshold must be between 0 and 1, --vad-padding-ms and --vad-silence-ms at least 0") }
    }

    func run() throws {
        let whisper = try model.load()
        let audio = try CommandFailure.wrap { try AudioDecoder().decode(contentsOf: URL(fileURLWithPath: file)) }
        var options = TranscriptionOptions()
        options.task = task
        options.language = language
        options.beamSize = beamSize
        options.encoderPrecision = encoderPrecision
        options.bestOf = bestOf
        options.temperatures = TranscriptionOptions.temperatures(openAITemperature: temperature)
        options.initialPrompt = prompt
        options.voiceActivity = vad ? voiceActivity : nil
        options.filterHallucinations = hallucinationFilter
        let progress = ProgressBar(total: audio.duration)
        let transcript = try CommandFailure.wrap {
            try whisper.transcribe(audio.samples, options: options, onSegment: { segment in progress.update(segment.end) })
        }
        progress.finish()
        let rendered = format.render(transcript)
        if let output {
            try CommandFailure.wrap { try rendered.write(toFile: output, atomically: true, encoding: String.Encoding.utf8) }
        } else {
            print(rendered, terminator: rendered.hasSuffix("\n") ? "" : "\n")
        }
    }

    /// The `--vad-*` settings.
    var voiceActivity: VoiceActivityOptions {
        VoiceActivityOptions(threshold: vadThreshold, padding: Double(vadPaddingMs) / 1000, minSilenceDuration: Double(vadSilenceMs) / 1000)
    }
}

extension TranscriptFormat: ExpressibleByArgument {}
extension TranscriptionTask: ExpressibleByArgument {}
extension ProductPrecision: ExpressibleByArgument {}
extension DecoderWeights: ExpressibleByArgument {}
