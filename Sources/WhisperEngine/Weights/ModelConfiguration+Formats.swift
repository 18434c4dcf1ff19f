import Foundation

extension ModelConfiguration {
    /// The reference's defaults for a model that ships no decoding settings (a whisper.cpp file): non-speech
    /// tokens suppressed, blank and end of text suppressed at the start, the released model's alignment heads when
    /// the shapes are one of OpenAI's (otherwise the word aligner's fallback, the decoder's second half).
    init(defaultsFor tokenizer: Tokenizer, hyper: HyperParameters) {
        alignmentHeads = AlignmentHeads.forShapes(hyper)
        suppressIDs = tokenizer.nonSpeechTokens
        suppressIDsBegin = []
    }

    /// A Hugging Face checkpoint's settings: `generation_config.json`'s `alignment_heads`, `suppress_tokens` and
    /// `begin_suppress_tokens`, falling back on `config.json`'s (older checkpoints keep them there), then on the
    /// reference's defaults.
    /// - Parameters:
    ///   - directory: the checkpoint's directory.
    ///   - tokenizer: the checkpoint's tokenizer, for the default non-speech tokens.
    ///   - hyper: the weights' shapes, for the default alignment heads.
    init(huggingFace directory: URL, tokenizer: Tokenizer, hyper: HyperParameters) throws(ModelLoadingError) {
        var settings: [[String: Any]] = []
        for name in ["generation_config.json", "config.json"] {
            guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(name).path) else { continue }
            guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw ModelLoadingError(.corrupt, "\(name): not a JSON object")
            }
            settings.append(object)
        }
        func first<Value>(_ key: String, as _: Value.Type) -> Value? {
            settings.lazy.compactMap { $0[key] as? Value }.first
        }
        self.init(defaultsFor: tokenizer, hyper: hyper)
        if let heads = first("alignment_heads", as: [[Int]].self) {
            alignmentHeads = heads.compactMap { $0.count == 2 ? ($0[0], $0[1]) : nil }
        }
        if let suppressed = first("suppress_tokens", as: [Int].self) {
            // -1 stands for the non-speech tokens, as in the reference.
            suppressIDs = suppressed.filter { $0 >= 0 } + (suppressed.contains(-1) ? tokenizer.nonSpeechTokens : [])
        }
        if let atBegin = first("begin_suppress_tokens", as: [Int].self) { suppressIDsBegin = atBegin }
    }
}
