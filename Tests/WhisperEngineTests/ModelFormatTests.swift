import Foundation
import Testing

@testable import WhisperEngine

/// The same tiny.en weights in whisper.cpp's ggml and Hugging Face's safetensors formats (written by
/// `tools/convert_model.py`, `make model-formats`) against the CTranslate2 original: detection, weights,
/// tokenizer, transcripts, and errors for damaged files.
@Suite(.enabled(if: ConvertedModels.exist, "needs the converted models (make model-formats)"))
struct ModelFormatTests {
    static let models = TestResources.root.appendingPathComponent("models")
    static let lossless = ["tiny.en-ggml-f16", "tiny.en-ggml-f32", "tiny.en-hf-f16", "tiny.en-hf-f32"]
    static let lossy = ["tiny.en-hf-bf16", "tiny.en-ggml-q8_0", "tiny.en-ggml-q5_1", "tiny.en-ggml-q5_0"]
    static let fixtures = ["speech/hello-world.wav", "speech/lighthouse.wav", "speech/quiet-speech.wav", "speech/long-form.flac"]

    /// The CTranslate2 model's greedy transcripts of the fixtures, made once.
    static let reference: [String: Transcript] = {
        var transcripts: [String: Transcript] = [:]
        for fixture in fixtures {
            transcripts[fixture] = try? TestResources.model.transcribe(try TestResources.samples(fixture))
        }
        return transcripts
    }()

    static func load(_ name: String) throws -> WhisperModel {
        try WhisperModel.load(directory: models.appendingPathComponent(name))
    }

    // MARK: Detection

    @Test func detectsEachFormatFromWhatIsOnDisk() throws {
        let expected = [
            "tiny.en": "ctranslate2", "tiny.en-ggml-f32": "ggml-f32", "tiny.en-ggml-f16": "ggml-f16", "tiny.en-ggml-q8_0": "ggml-q8_0",
            "tiny.en-ggml-q5_0": "ggml-q5_0", "tiny.en-ggml-q5_1": "ggml-q5_1", "tiny.en-hf-f32": "safetensors-f32",
            "tiny.en-hf-f16": "safetensors-f16", "tiny.en-hf-bf16": "safetensors-bf16",
        ]
        for (name, format) in expected {
            let detected = try #require(ModelFormat.detect(Self.models.appendingPathComponent(name)), "\(name)")
            #expect(detected.name == format)
            #expect(detected.isMultilingual != true)
        }
        // A ggml file is recognised by its magic number, whatever it is called, and on its own.
        let file = Self.models.appendingPathComponent("tiny.en-ggml-q5_1/ggml-model.bin")
        #expect(ModelFormat.detect(file)?.name == "ggml-q5_1")
        #expect(ModelFormat.detect(TestResources.fixtures.appendingPathComponent("speech")) == nil)
    }

    // MARK: Weights and transcripts

    /// The converted model's tensors under the canonical names, as the loader reads them.
    static func source(_ name: String) throws -> any TensorSource {
        let directory = models.appendingPathComponent(name)
        if name.contains("-ggml-") {
            let file = try GGMLFile(url: directory.appendingPathComponent("ggml-model.bin"))
            return CheckpointTensors(file: file, naming: .openAI, scalars: ["encoder/num_heads": file.hyper.audioHeads])
        }
        let file = try SafetensorsFile(url: directory.appendingPathComponent("model.safetensors"))
        return CheckpointTensors(file: file, naming: .huggingFace, scalars: ["encoder/num_heads": 6])
    }

    /// Every float tensor of the CTranslate2 file, bit for bit, under the same canonical name.
    @Test(arguments: lossless)
    func losslessFormatsHoldTheSameTensors(_ name: String) throws {
        let original = try CTranslate2File(url: TestResources.modelDirectory.appendingPathComponent("model.bin"))
        let converted = try Self.source(name)
        var compared = 0
        for (tensor, variable) in original.variables where variable.type == .float16 && CheckpointNaming.openAI.fileNames(for: tensor) != nil {
            #expect(try converted.shape(tensor) == variable.shape, "\(name) \(tensor)")
            #expect(try converted.floats(tensor) == original.floats(tensor), "\(name) \(tensor)")
            compared += 1
        }
        #expect(compared == 4 + 1 + 4 * 12 + 2 + 2 + 4 * 20 + 2)
    }

    @Test(arguments: lossless)
    func losslessFormatsTranscribeIdentically(_ name: String) throws {
        let reference = TestResources.model
        let start = ContinuousClock.now
        let model = try Self.load(name)
        print("load \(name): \(ContinuousClock.now - start)")
        #expect(model.weights.hyper == reference.weights.hyper)
        #expect(model.info.parameterCount == reference.info.parameterCount)
        #expect(model.info.format.hasSuffix(name.hasSuffix("f16") ? "f16" : "f32"))
        #expect(model.configuration.suppressIDs.count > 80)
        for fixture in Self.fixtures {
            let expected = try #require(Self.reference[fixture])
            let transcript = try model.transcribe(try TestResources.samples(fixture))
            #expect(transcript.text == expected.text, "\(name) \(fixture)")
            #expect(transcript.segments.map { [$0.start, $0.end] } == expected.segments.map { [$0.start, $0.end] }, "\(name) \(fixture)")
            #expect(transcript.segments.map(\.tokens) == expected.segments.map(\.tokens), "\(name) \(fixture)")
        }
    }

    @Test(arguments: lossy)
    func quantisedFormatsTranscribeClosely(_ name: String) throws {
        let start = ContinuousClock.now
        let model = try Self.load(name)
        print("load \(name): \(ContinuousClock.now - start)")
        #expect(model.weights.hyper == TestResources.model.weights.hyper)
        var errors = 0
        var words = 0
        for fixture in Self.fixtures {
            let expected = try #require(Self.reference[fixture])
            let transcript = try model.transcribe(try TestResources.samples(fixture))
            let (distance, count) = WordErrorRate.errors(reference: expected.text, hypothesis: transcript.text)
            print("WER \(name) \(fixture): \(distance)/\(count)")
            errors += distance
            words += count
        }
        let rate = Double(errors) / Double(words)
        print("WER \(name) against ctranslate2: \(String(format: "%.4f", rate)) (\(errors)/\(words) words)")
        // Long-form decoding compounds small differences (a window that ends a word earlier moves every later
        // window), so the bounds are loose; broken dequantisation gives nonsense, far above them.
        #expect(rate <= (name.hasSuffix("q5_0") || name.hasSuffix("q5_1") ? 0.15 : 0.08))
    }

    /// Dequantised matrices stay within the quantisation's expected error of the f16 originals (relative RMS:
    /// about 0.6 % for 8-bit blocks, 5–8 % for 5-bit ones, as numpy computes them from ggml's formulas); a misread
    /// block layout gives errors near 100 %.
    @Test(arguments: [("tiny.en-ggml-q8_0", 0.015), ("tiny.en-ggml-q5_1", 0.07), ("tiny.en-ggml-q5_0", 0.1)])
    func dequantisedWeightsAreCloseToTheOriginals(_ name: String, bound: Double) throws {
        let file = try GGMLFile(url: Self.models.appendingPathComponent("\(name)/ggml-model.bin"))
        let original = try GGMLFile(url: Self.models.appendingPathComponent("tiny.en-ggml-f16/ggml-model.bin"))
        for tensor in ["decoder.token_embedding.weight", "encoder.blocks.0.attn.query.weight", "decoder.blocks.3.mlp.2.weight"] {
            let values = try file.rawFloats(tensor)
            let reference = try original.rawFloats(tensor)
            let error = zip(values, reference).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) }
            let energy = reference.reduce(0.0) { $0 + Double($1 * $1) }
            let relative = (error / energy).squareRoot()
            #expect(relative < bound, "\(name) \(tensor): \(relative)")
            #expect(relative > 0, "\(name) \(tensor) is not quantised")
        }
    }

    // MARK: Tokenizer and decoding settings

    @Test func ggmlVocabularyTokenizesLikeTokenizerJSON() throws {
        let url = Self.models.appendingPathComponent("tiny.en-ggml-f16/ggml-model.bin")
        let file = try GGMLFile(url: url)
        #expect(file.vocabulary.count == 50256)
        let tokenizer = try Tokenizer(ordinaryTokens: file.vocabulary, vocabularySize: 51864)
        let reference = TestResources.model.tokenizer
        func ids(_ special: SpecialTokens) -> [Int] {
            [special.endOfText, special.startOfTranscript, special.translate, special.transcribe, special.startOfLM,
             special.startOfPrevious, special.noSpeech, special.noTimestamps, special.timestampBegin]
        }
        let special = tokenizer.specialTokens
        #expect(ids(special) == ids(reference.specialTokens))
        #expect(!special.isMultilingual)
        var texts = [" Hello world, it's 42 degrees!", "  two  spaces\nand a newline", " naïve café — déjà vu", " 你好，世界", " x=1; y='two'"]
        texts += Goldens.tinyEn.greedy.values.map(\.text)
        for text in texts {
            #expect(tokenizer.encode(text) == reference.encode(text), "\(text)")
            #expect(tokenizer.decode(tokenizer.encode(text)) == text)
        }
    }

    @Test func promptsWorkWithTheGGMLVocabulary() throws {
        let model = try Self.load("tiny.en-ggml-f16")
        var options = TranscriptionOptions()
        options.initialPrompt = "Margaret, lighthouse, logbook."
        let samples = try TestResources.samples("speech/lighthouse.wav")
        let transcript = try model.transcribe(samples, options: options)
        let reference = try TestResources.model.transcribe(samples, options: options)
        #expect(transcript.text == reference.text)
        #expect(transcript.text.contains("Margaret"))
    }

    @Test func defaultSuppressedTokensAreTheReferenceNonSpeechTokens() {
        let tokenizer = TestResources.model.tokenizer
        let special = tokenizer.specialTokens
        let added = [special.transcribe, special.translate, special.startOfTranscript, special.startOfPrevious, special.startOfLM, special.noSpeech]
        #expect(Set(tokenizer.nonSpeechTokens + added) == Set(TestResources.model.configuration.suppressIDs + added))
    }

    @Test func huggingFaceSettingsComeFromGenerationConfig() throws {
        let model = try Self.load("tiny.en-hf-f16")
        let reference = TestResources.model.configuration
        #expect(model.configuration.alignmentHeads.map { [$0.layer, $0.head] } == reference.alignmentHeads.map { [$0.layer, $0.head] })
        #expect(model.configuration.suppressIDs == reference.suppressIDs)
        #expect(model.configuration.suppressIDsBegin == reference.suppressIDsBegin)
    }

    @Test func ggmlModelsGetTheReleasedAlignmentHeads() throws {
        let heads = { (configuration: ModelConfiguration) in configuration.alignmentHeads.map { [$0.layer, $0.head] } }
        let model = try Self.load("tiny.en-ggml-f16")
        #expect(heads(model.configuration) == heads(TestResources.model.configuration))
        let base = TestResources.root.appendingPathComponent("models/base")
        if FileManager.default.fileExists(atPath: base.appendingPathComponent("model.bin").path) {
            let multilingual = try WhisperModel.load(directory: base)
            #expect(AlignmentHeads.forShapes(multilingual.weights.hyper).map { [$0.layer, $0.head] } == heads(multilingual.configuration))
        }
        var options = TranscriptionOptions()
        options.wordTimestamps = true
        let samples = try TestResources.samples("speech/lighthouse.wav")
        let words = { (transcript: Transcript) in transcript.segments.flatMap { $0.words ?? [] }.map { "\($0.word) \($0.start) \($0.end)" } }
        let expected = words(try TestResources.model.transcribe(samples, options: options))
        #expect(expected.count > 20)
        #expect(words(try model.transcribe(samples, options: options)) == expected)
    }

    // MARK: Damaged files

    /// A directory holding `name` made from the converted model's file by `change`, the rest copied.
    private static func damaged(_ source: String, file name: String, _ change: (Data) -> Data) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("damaged-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let sourceDirectory = models.appendingPathComponent(source)
        for other in try FileManager.default.contentsOfDirectory(atPath: sourceDirectory.path) where other != name {
            try FileManager.default.copyItem(at: sourceDirectory.appendingPathComponent(other), to: directory.appendingPathComponent(other))
        }
        let original = try Data(contentsOf: sourceDirectory.appendingPathComponent(name), options: .alwaysMapped)
        try change(original).write(to: directory.appendingPathComponent(name))
        return directory
    }

    private static func loadingError(_ directory: URL) -> ModelLoadingError? {
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = Result { () throws(ModelLoadingError) in try WhisperModel.load(directory: directory) }
        if case .failure(let error) = result { return error }
        return nil
    }

    /// Inside the magic, the header, the mel filters, the vocabulary, the first tensor's header, a tensor's
    /// data, and one byte short of the end.
    @Test(arguments: [2, 4, 30, 100, 64_000, 300_000, 500_000, 20_000_000, 32_159_000])
    func truncatedGGMLFileIsCorrupt(length: Int) throws {
        let size = try #require(try FileManager.default.attributesOfItem(
            atPath: Self.models.appendingPathComponent("tiny.en-ggml-q5_1/ggml-model.bin").path)[.size] as? Int)
        let cut = min(length, size - 1)
        let error = Self.loadingError(try Self.damaged("tiny.en-ggml-q5_1", file: "ggml-model.bin") { $0.prefix(cut) })
        if cut < 4 {
            // Too short to carry the magic: nothing in the directory is a model.
            #expect(error?.kind == .missingFile)
        } else {
            #expect(error?.kind == .corrupt, "cut at \(cut): \(String(describing: error))")
            #expect(error?.message.contains("ggml-model.bin") == true)
        }
    }

    @Test func wrongMagicIsNotTakenForGGML() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("wrong-magic-\(UUID().uuidString).bin")
        defer { try? FileManager.default.removeItem(at: url) }
        var data = try Data(contentsOf: Self.models.appendingPathComponent("tiny.en-ggml-f16/ggml-model.bin")).prefix(100_000)
        data[data.startIndex] = UInt8(ascii: "x")
        try data.write(to: url)
        #expect(ModelFormat.detect(url) == nil)
        do {
            _ = try GGMLLoader(file: url).load()
            Issue.record("a file without ggml's magic loaded")
        } catch {
            #expect(error.kind == .unsupported)
            #expect(error.message.contains(url.lastPathComponent) && error.message.contains("not a ggml file"))
        }
    }

    @Test func unsupportedGGMLTypesAreNamed() throws {
        // File type 2 is q4_0, which this engine does not read.
        let fileType = Self.loadingError(try Self.damaged("tiny.en-ggml-f16", file: "ggml-model.bin") { data in
            var copy = data
            copy.replaceSubrange((copy.startIndex + 44)..<(copy.startIndex + 48), with: [2, 0, 0, 0])
            return copy
        })
        #expect(fileType?.kind == .unsupported)
        #expect(fileType?.message.contains("file type 2") == true)
    }

    @Test func implausibleGGMLHeaderIsCorrupt() throws {
        let error = Self.loadingError(try Self.damaged("tiny.en-ggml-f16", file: "ggml-model.bin") { data in
            var copy = data
            copy.replaceSubrange((copy.startIndex + 4)..<(copy.startIndex + 8), with: [0xFF, 0xFF, 0xFF, 0x7F])
            return copy
        })
        #expect(error?.kind == .corrupt)
        #expect(error?.message.contains("ggml-model.bin") == true)
    }

    @Test(arguments: [0, 7, 100, 10_000, 40_000_000])
    func truncatedSafetensorsFileIsCorrupt(length: Int) throws {
        let error = Self.loadingError(try Self.damaged("tiny.en-hf-f16", file: "model.safetensors") { $0.prefix(length) })
        #expect(error?.kind == .corrupt, "cut at \(length): \(String(describing: error))")
        #expect(error?.message.contains("model.safetensors") == true)
    }

    @Test func safetensorsWithAnUnsupportedTypeIsNamed() throws {
        let error = Self.loadingError(try Self.damaged("tiny.en-hf-f16", file: "model.safetensors") { data in
            var copy = data
            if let range = copy.range(of: Data("\"F16\"".utf8), in: copy.startIndex..<(copy.startIndex + 20_000)) {
                copy.replaceSubrange(range, with: Data("\"I16\"".utf8))
            }
            return copy
        })
        #expect(error?.kind == .unsupported)
        #expect(error?.message.contains("I16") == true)
    }

    @Test func huggingFaceDirectoryWithoutConfigIsNotAModel() throws {
        let directory = try Self.damaged("tiny.en-hf-f16", file: "config.json") { _ in Data() }
        try FileManager.default.removeItem(at: directory.appendingPathComponent("config.json"))
        let error = Self.loadingError(directory)
        #expect(error?.kind == .missingFile)
    }
}

/// Whether `make model-formats` has written the converted models.
enum ConvertedModels {
    static var exist: Bool {
        (ModelFormatTests.lossless + ModelFormatTests.lossy).allSatisfy {
            ModelFormat.detect(ModelFormatTests.models.appendingPathComponent($0)) != nil
        }
    }
}
