import Foundation
import Logging
import WhisperEngine
import WhisperTensor

/// What the server needs from a loaded model: its capabilities and a blocking, cancellable transcription.
///
/// ``WhisperModel`` is the production implementation; tests substitute slow or failing models.
public protocol SpeechModel: Sendable {
    /// What the model can do.
    var capabilities: ModelCapabilities { get }

    /// Transcribes 16 kHz mono audio; blocking and CPU heavy, so only ever called on an inference worker thread.
    func transcribe(
        _ samples: [Float],
        options: TranscriptionOptions,
        isCancelled: () -> Bool,
        onSegment: (Segment) -> Void
    ) throws(TranscriptionError) -> Transcript
}

/// What a loaded model can do, as the server reports and checks it.
public struct ModelCapabilities: Sendable, Equatable {
    /// Weight format, e.g. `"ctranslate2"`.
    public var format: String
    /// Whether the model knows languages other than English.
    public var isMultilingual: Bool
    /// Whether the model can translate to English.
    public var canTranslate: Bool
    /// Number of weights, when known.
    public var parameterCount: Int?
    /// ISO 639-1 codes of the languages it transcribes, when known.
    public var languages: [String]?
    /// Whether it can time words (`timestamp_granularities[]=word`).
    public var wordTimestamps: Bool

    /// Creates capabilities.
    public init(
        format: String, isMultilingual: Bool, canTranslate: Bool, parameterCount: Int? = nil, languages: [String]? = nil,
        wordTimestamps: Bool = false
    ) {
        self.format = format
        self.isMultilingual = isMultilingual
        self.canTranslate = canTranslate
        self.parameterCount = parameterCount
        self.languages = languages
        self.wordTimestamps = wordTimestamps
    }
}

extension WhisperModel: SpeechModel {
    public var capabilities: ModelCapabilities {
        ModelCapabilities(
            format: info.format, isMultilingual: info.isMultilingual, canTranslate: info.canTranslate,
            parameterCount: info.parameterCount, languages: languages, wordTimestamps: true
        )
    }
}

/// Loads a model directory; blocking, called on a thread pool.
public protocol SpeechModelLoading: Sendable {
    /// Loads the model stored in `directory`.
    /// - Parameters:
    ///   - directory: a directory found by the ``ModelRegistry``.
    ///   - logger: for progress messages.
    /// - Returns: the loaded model.
    func load(directory: URL, logger: Logger) throws(ModelLoadingError) -> any SpeechModel
}

/// Loads models with the native Whisper engine.
public struct WhisperModelLoader: SpeechModelLoading {
    /// The server's encoder precision: a bfloat16 encoder is prepared (weights packed, kernels compiled) at load,
    /// rather than during the first request.
    public let encoderPrecision: ProductPrecision
    /// How the decoder's per-step matrices are held (``WhisperModel/withDecoderWeights(_:)``).
    public let decoderWeights: DecoderWeights

    /// A loader for models whose encoder runs in `encoderPrecision` and whose decoder holds `decoderWeights`.
    public init(encoderPrecision: ProductPrecision = .float32, decoderWeights: DecoderWeights = .checkpoint) {
        self.encoderPrecision = encoderPrecision
        self.decoderWeights = decoderWeights
    }

    public func load(directory: URL, logger: Logger) throws(ModelLoadingError) -> any SpeechModel {
        let model = try WhisperModel.load(directory: directory, logger: logger).withDecoderWeights(decoderWeights)
        model.prepareEncoder(precision: encoderPrecision)
        return model
    }
}
