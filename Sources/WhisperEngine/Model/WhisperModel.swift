import Foundation
import Logging
import WhisperTensor

/// A loaded Whisper model: immutable weights shared by any number of concurrent transcriptions.
///
/// ```swift
/// let model = try WhisperModel.load(directory: URL(fileURLWithPath: "models/tiny.en"))
/// let transcript = try model.transcribe(samples)   // 16 kHz mono Float PCM
/// print(transcript.text)
/// ```
public final class WhisperModel: Sendable {
    /// Hyper-parameters and capabilities.
    public let info: ModelInfo
    let weights: ModelWeights
    let tokenizer: Tokenizer
    let specialTokens: SpecialTokens
    let configuration: ModelConfiguration
    /// Where the heavy work of its transcriptions runs: the process's gate, so every model shares the cores.
    let gate = ComputeGate.shared

    init(info: ModelInfo, weights: ModelWeights, tokenizer: Tokenizer, configuration: ModelConfiguration) {
        self.info = info
        self.weights = weights
        self.tokenizer = tokenizer
        self.specialTokens = tokenizer.specialTokens
        self.configuration = configuration
    }

    /// Loads a model directory in whichever format it holds (see ``ModelFormat``): CTranslate2 (`model.bin`,
    /// `config.json`, `vocabulary.txt` or `tokenizer.json`), Hugging Face (`model.safetensors`, `config.json`,
    /// `tokenizer.json`) or whisper.cpp (a ggml `.bin`, which may also be passed directly).
    /// - Parameters:
    ///   - directory: the model's directory, or a ggml file.
    ///   - logger: receives the format and load time.
    /// - Returns: the model, ready to transcribe.
    /// - Throws: ``ModelLoadingError`` naming the file and the problem.
    public static func load(directory: URL, logger: Logger? = nil) throws(ModelLoadingError) -> WhisperModel {
        guard let format = ModelFormat.detect(directory) else {
            throw ModelLoadingError(
                .missingFile,
                "model \(directory.lastPathComponent) holds no weights: model.bin (CTranslate2 or ggml), model.safetensors with config.json, or a ggml .bin")
        }
        let start = ContinuousClock.now
        let model = try format.load()
        logger?.debug(
            "model loaded",
            metadata: ["model.format": "\(format.name)", "model.load_time": "\(ContinuousClock.now - start)"])
        return model
    }

    /// This model with the decoder's weights as `weights` says: ``DecoderWeights/int8`` quantises the matrices every
    /// decoder step reads (a scale per row), so a step reads about half the bytes; the encoder is shared, unchanged.
    public func withDecoderWeights(_ weights: DecoderWeights) -> WhisperModel {
        guard weights == .int8 else { return self }
        let quantized = self.weights.withInt8Decoder()
        var info = self.info
        info.memoryBytes = quantized.memoryBytes
        info.decoderStepBytes = quantized.decoderStepBytes
        return WhisperModel(info: info, weights: quantized, tokenizer: tokenizer, configuration: configuration)
    }

    /// Prepares the encoder's products in `precision` (bfloat16: weights packed for the kernels, kernels compiled) by encoding a
    /// window of silence, so that the first transcription does not pay for it. Nothing to do for float32.
    public func prepareEncoder(precision: ProductPrecision) {
        guard precision.available == .bfloat16 else { return }
        let features = [Float](repeating: 0, count: LogMelSpectrogram.windowFrames * info.melBins)
        _ = try? gate.exclusive(.warmUp, isCancelled: { false }) { Encoder(weights: weights, precision: precision).encode(features) }
    }

    /// Encodes the first 30 s window of `samples` (16 kHz mono) and returns the seconds the encoder took, for
    /// benchmarks that compare it with `sgemm` under the same conditions. Waits for the cores like a transcription.
    public func encoderSeconds(forWindowOf samples: [Float], precision: ProductPrecision = .float32) -> Double {
        let features = LogMelSpectrogram(samples: Array(samples.prefix(LogMelSpectrogram.windowFrames * LogMelSpectrogram.hopLength)), melBins: info.melBins)
            .window(from: 0, count: LogMelSpectrogram.windowFrames)
        let encoder = Encoder(weights: weights, precision: precision)
        let elapsed = try? gate.exclusive(.encoder, isCancelled: { false }) { () -> Duration in
            let start = ContinuousClock.now
            _ = encoder.encode(features)
            return ContinuousClock.now - start
        }
        return elapsed?.seconds ?? .nan
    }

    /// What the engine's cores have done for every model's transcriptions since the process started.
    public static var computeActivity: ComputeActivity { ComputeGate.shared.activity }

    /// Threads the matrix products use (OpenBLAS's pool and the decoder's split products), for the whole process.
    /// Concurrent transcriptions take turns on the cores (an encoder window or prompt at a time, decoder steps
    /// batched together), so this is normally every core.
    public static var threadsPerTranscription: Int {
        get { Matrix.threadCount }
        set { Matrix.threadCount = max(1, newValue) }
    }

    /// Transcribes or translates 16 kHz mono audio.
    ///
    /// Any number of threads may call this at once: their encoder windows take turns on the cores and their decoder
    /// steps run batched; each transcript is the same as when it runs alone.
    /// - Parameters:
    ///   - samples: 16 kHz mono PCM in [-1, 1].
    ///   - options: decoding settings.
    ///   - isCancelled: polled between decoding steps; returning `true` stops the work with ``TranscriptionError/Kind/cancelled``.
    ///   - onSegment: called with each segment as soon as it is final, in order.
    /// - Returns: the transcript.
    public func transcribe(
        _ samples: [Float],
        options: TranscriptionOptions = TranscriptionOptions(),
        isCancelled: () -> Bool = { false },
        onSegment: (Segment) -> Void = { _ in }
    ) throws(TranscriptionError) -> Transcript {
        var transcriber = try Transcriber(model: self, options: options)
        return try transcriber.run(samples: samples, isCancelled: isCancelled, onSegment: onSegment)
    }
}

/// How the decoder's per-step matrices are held.
public enum DecoderWeights: String, Sendable, CaseIterable, LosslessStringConvertible {
    /// As the checkpoint has them (half precision for released Whisper weights): the reference implementation's
    /// transcripts.
    case checkpoint
    /// Quantised to 8 bits with a scale per row, activations in `Float`: about half the bytes per decoder step, with
    /// transcripts that may differ in places.
    case int8

    /// Parses `checkpoint` or `int8`.
    public init?(_ description: String) { self.init(rawValue: description) }
    public var description: String { rawValue }
}

