extension WhisperModel {
    /// ISO 639-1 codes of the languages the model can transcribe, sorted (`["en"]` for English-only models).
    public var languages: [String] {
        specialTokens.isMultilingual ? specialTokens.languages.keys.sorted() : ["en"]
    }
}
