extension Tokenizer {
    /// Tokens of symbols and music notes that are not speech, which the reference suppresses by default
    /// (`suppress_tokens=-1`): each symbol's single-token spellings with and without a leading space, every note's
    /// first token, and the tokens of `" -"` and `" '"`. Sorted.
    var nonSpeechTokens: [Int] {
        var symbols = "\"#()*+/:;<=>@[\\]^_`{|}~「」『』".map(String.init)
        symbols += "<< >> <<< >>> -- --- -( -[ (' (\" (( )) ((( ))) [[ ]] {{ }} ♪♪ ♪♪♪".split(separator: " ").map(String.init)
        let notes = "♩♪♫♬♭♮♯".map(String.init)
        var result = Set([" -", " '"].compactMap { encode($0).first })
        for symbol in symbols + notes {
            for tokens in [encode(symbol), encode(" " + symbol)] {
                if let first = tokens.first, tokens.count == 1 || notes.contains(symbol) { result.insert(first) }
            }
        }
        return result.sorted()
    }
}
