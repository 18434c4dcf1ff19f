import Foundation

/// The decoding-related settings a CTranslate2 model ships in `config.json`.
struct ModelConfiguration: Sendable {
    /// `(layer, head)` pairs of cross-attention heads that align text with audio.
    var alignmentHeads: [(layer: Int, head: Int)]
    /// Tokens never sampled (non-speech symbols).
    var suppressIDs: [Int]
    /// Tokens not sampled as the first token (blank, end of text).
    var suppressIDsBegin: [Int]

    init(url: URL) throws(ModelLoadingError) {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ModelLoadingError(.missingFile, "\(url.lastPathComponent) is missing from the model directory")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ModelLoadingError(.corrupt, "\(url.lastPathComponent): not a JSON object")
        }
        alignmentHeads = ((object["alignment_heads"] as? [[Int]]) ?? []).compactMap { pair in
            pair.count == 2 ? (pair[0], pair[1]) : nil
        }
        suppressIDs = (object["suppress_ids"] as? [Int]) ?? []
        suppressIDsBegin = (object["suppress_ids_begin"] as? [Int]) ?? []
    }
}
