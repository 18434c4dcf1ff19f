/// Ids of Whisper's control tokens, found by name in the vocabulary.
struct SpecialTokens: Sendable {
    let endOfText: Int
    let startOfTranscript: Int
    let translate: Int
    let transcribe: Int
    let startOfLM: Int
    let startOfPrevious: Int
    let noSpeech: Int
    let noTimestamps: Int
    /// `<|0.00|>`; every id from here up is a timestamp, 0.02 s apart.
    let timestampBegin: Int
    /// Language code → token id (multilingual vocabularies only).
    let languages: [String: Int]

    /// English-only vocabularies have 51864 tokens; multilingual ones 51865 or more.
    var isMultilingual: Bool { !languages.isEmpty }

    init(vocabulary: [String: Int], vocabularySize: Int) throws(ModelLoadingError) {
        func id(_ names: String...) throws(ModelLoadingError) -> Int {
            for name in names { if let id = vocabulary[name] { return id } }
            throw ModelLoadingError(.corrupt, "vocabulary: special token \(names[0]) is missing")
        }
        endOfText = try id("<|endoftext|>")
        startOfTranscript = try id("<|startoftranscript|>")
        translate = try id("<|translate|>")
        transcribe = try id("<|transcribe|>")
        startOfLM = try id("<|startoflm|>")
        startOfPrevious = try id("<|startofprev|>")
        noSpeech = try id("<|nospeech|>", "<|nocaptions|>")
        noTimestamps = try id("<|notimestamps|>")
        timestampBegin = (vocabulary["<|0.00|>"]) ?? noTimestamps + 1
        var languages: [String: Int] = [:]
        if vocabularySize >= 51865 {
            for language in Languages.all {
                if let id = vocabulary["<|\(language.code)|>"] { languages[language.code] = id }
            }
        }
        self.languages = languages
    }

    /// Whether `token` is a timestamp.
    func isTimestamp(_ token: Int) -> Bool { token >= timestampBegin }
}
