import Foundation
import Testing
import WhisperEngine

/// Language detection, the `language` option and translation, with Whisper base (multilingual) on espeak-ng speech.
@Suite(.serialized, .enabled(if: TestResources.hasBase, "needs models/base (make model-base)")) struct MultilingualTests {
    struct Manifest: Decodable {
        struct Clip: Decodable {
            let name: String
            let language: String
            let text: String
            let englishWords: [String]
            /// What faster-whisper detects on the same weights (it hears one French clip as Japanese).
            let oracleLanguage: String
            /// faster-whisper's greedy transcript, where it does not loop.
            let oracleGreedyText: String?

            enum CodingKeys: String, CodingKey {
                case name, language, text
                case englishWords = "english_words"
                case oracleLanguage = "oracle_language"
                case oracleGreedyText = "oracle_greedy_text"
            }
        }

        let clips: [Clip]
    }

    static let manifest: Manifest = Goldens.load("multilingual/manifest.json")

    static let base: WhisperModel = {
        do {
            return try WhisperModel.load(directory: TestResources.root.appendingPathComponent("models/base"))
        } catch {
            fatalError("models/base does not load: \(error)")
        }
    }()

    /// Greedy without fallback keeps the suite fast; fallback has its own test.
    static func options(task: TranscriptionTask = .transcribe) -> TranscriptionOptions {
        var options = TranscriptionOptions()
        options.task = task
        options.temperatures = [0]
        return options
    }

    static func samples(_ clip: Manifest.Clip) throws -> [Float] {
        try TestResources.samples("multilingual/\(clip.name).flac")
    }

    @Test func baseIsMultilingual() {
        #expect(Self.base.info.isMultilingual && Self.base.info.canTranslate)
        #expect(Self.base.info.width == 512 && Self.base.info.encoderLayers == 6 && Self.base.info.vocabularySize == 51865)
    }

    @Test func detectsTheSpokenLanguageAsTheOracleDoes() throws {
        var correct = 0
        for clip in Self.manifest.clips {
            let transcript = try Self.base.transcribe(try Self.samples(clip), options: Self.options())
            if transcript.language == clip.language { correct += 1 }
            #expect(transcript.language == clip.oracleLanguage, "\(clip.name)")
            if let oracle = clip.oracleGreedyText {
                #expect(transcript.text == oracle.trimmingCharacters(in: .whitespaces), "\(clip.name)")
            }
        }
        print("language detection: \(correct)/\(Self.manifest.clips.count) correct")
        #expect(Self.manifest.clips.count >= 6)
        #expect(correct >= Self.manifest.clips.count - 1)
    }

    @Test func honoursTheLanguageOption() throws {
        let clip = try #require(Self.manifest.clips.first { $0.language == "de" })
        var options = Self.options()
        options.language = "French"
        let transcript = try Self.base.transcribe(try Self.samples(clip), options: options)
        #expect(transcript.language == "fr")
        options.language = "klingon"
        #expect(throws: TranscriptionError.self) { try Self.base.transcribe(try Self.samples(clip), options: options) }
    }

    @Test func translatesToEnglish() throws {
        let englishFunctionWords: Set<String> = ["the", "and", "to", "is", "of", "in", "a", "we", "i", "with", "my", "are", "on"]
        var found = 0
        var expected = 0
        for clip in Self.manifest.clips {
            let translation = try Self.base.transcribe(try Self.samples(clip), options: Self.options(task: .translate))
            let words = Set(WordErrorRate.words(translation.text))
            print("translation of \(clip.name): \(translation.text)")
            #expect(translation.task == .translate)
            #expect(!words.isDisjoint(with: englishFunctionWords), "\(clip.name): \(translation.text)")
            #expect(!words.isSuperset(of: Set(WordErrorRate.words(clip.text))))
            expected += clip.englishWords.count
            found += clip.englishWords.filter { words.contains($0) }.count
        }
        print("translation: \(found)/\(expected) expected English key words")
        #expect(found * 3 >= expected)
    }
}
