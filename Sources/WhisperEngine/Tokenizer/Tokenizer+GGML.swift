import Foundation

extension Tokenizer {
    /// A tokenizer over a whisper.cpp file's vocabulary: its ordinary tokens as raw bytes, then Whisper's special
    /// tokens, which ggml files leave out, named in the reference's order (`<|endoftext|>`, `<|startoftranscript|>`,
    /// the languages, the task and control tokens, then the timestamps). Encoding merges by vocabulary rank.
    /// - Parameters:
    ///   - ordinaryTokens: the file's token bytes, by id.
    ///   - vocabularySize: rows of the model's embedding; it fixes where the special tokens start and how many
    ///     languages there are (English-only 51 864, multilingual 51 865, large-v3 51 866).
    init(ordinaryTokens: [Data], vocabularySize: Int) throws(ModelLoadingError) {
        let isMultilingual = vocabularySize >= 51_865
        let endOfText = isMultilingual ? 50_257 : 50_256
        let languageCount = vocabularySize - 51_765 - (isMultilingual ? 1 : 0)
        guard ordinaryTokens.count >= endOfText, (0...Languages.all.count).contains(languageCount) else {
            throw ModelLoadingError(
                .corrupt, "vocabulary has \(ordinaryTokens.count) ordinary tokens, which does not fit an embedding of \(vocabularySize)")
        }
        var tokens = ordinaryTokens.prefix(endOfText).map { bytes in String(bytes.map { ByteLevel.character(for: $0) }) }
        tokens += ["<|endoftext|>", "<|startoftranscript|>"]
        tokens += Languages.all.prefix(languageCount).map { "<|\($0.code)|>" }
        tokens += ["<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>", "<|nospeech|>", "<|notimestamps|>"]
        let timestamps = max(0, vocabularySize - tokens.count)
        tokens += (0..<timestamps).map { String(format: "<|%.2f|>", Double($0) * 0.02) }
        try self.init(tokens: tokens, mergeRanks: [:], vocabularySize: vocabularySize)
    }
}
