import Foundation

/// Whisper's byte-level BPE tokenizer: decoding ids to text and encoding text (prompts) to ids.
struct Tokenizer: Sendable {
    /// Token strings by id, in the byte-level alphabet.
    private let tokens: [String]
    private let ids: [String: Int]
    /// Merge ranks: `"a b"` → rank; empty when the model ships no `tokenizer.json` (then vocabulary ids rank merges).
    private let mergeRanks: [String: Int]
    let specialTokens: SpecialTokens

    init(directory: URL, vocabularySize: Int) throws(ModelLoadingError) {
        let jsonURL = directory.appendingPathComponent("tokenizer.json")
        let vocabularyURL = directory.appendingPathComponent("vocabulary.txt")
        var tokens: [String] = []
        var merges: [String: Int] = [:]
        var json: [String: Any]?
        if let data = FileManager.default.contents(atPath: jsonURL.path) {
            guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw ModelLoadingError(.corrupt, "tokenizer.json: not a JSON object")
            }
            json = object
            let model = object["model"] as? [String: Any]
            for (rank, merge) in ((model?["merges"] as? [Any]) ?? []).enumerated() {
                if let text = merge as? String {
                    merges[text] = rank
                } else if let pair = merge as? [String], pair.count == 2 {
                    merges[pair[0] + " " + pair[1]] = rank
                }
            }
        }
        if let text = try? String(contentsOf: vocabularyURL, encoding: .utf8) {
            tokens = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            if tokens.last == "" { tokens.removeLast() }
        } else if let json {
            let model = json["model"] as? [String: Any]
            var byID: [Int: String] = [:]
            for (token, id) in (model?["vocab"] as? [String: Int]) ?? [:] { byID[id] = token }
            for entry in (json["added_tokens"] as? [[String: Any]]) ?? [] {
                if let id = entry["id"] as? Int, let content = entry["content"] as? String { byID[id] = content }
            }
            let count = (byID.keys.max() ?? -1) + 1
            tokens = (0..<count).map { byID[$0] ?? "" }
            // Older Hugging Face tokenizers stop at <|notimestamps|>; the timestamps follow it, 0.02 s apart.
            if tokens.last == "<|notimestamps|>" {
                tokens += (0..<max(0, vocabularySize - count)).map { String(format: "<|%.2f|>", Double($0) * 0.02) }
            }
        } else {
            throw ModelLoadingError(.missingFile, "the model directory has neither vocabulary.txt nor tokenizer.json")
        }
        try self.init(tokens: tokens, mergeRanks: merges, vocabularySize: vocabularySize)
    }

    /// A tokenizer over `tokens` (byte-level strings by id).
    /// - Parameters:
    ///   - tokens: every token, special ones included, by id.
    ///   - mergeRanks: `"a b"` → rank from `tokenizer.json`; when empty, encoding merges by vocabulary rank (tiktoken's
    ///     rule: the pair whose concatenation has the lowest id first), which Whisper's vocabularies are built for.
    ///   - vocabularySize: rows of the model's embedding, which the vocabulary must match.
    init(tokens: [String], mergeRanks: [String: Int], vocabularySize: Int) throws(ModelLoadingError) {
        guard tokens.count == vocabularySize else {
            throw ModelLoadingError(
                .corrupt, "vocabulary has \(tokens.count) tokens but the model's embedding has \(vocabularySize)")
        }
        var ids: [String: Int] = [:]
        for (id, token) in tokens.enumerated() where ids[token] == nil { ids[token] = id }
        self.tokens = tokens
        self.ids = ids
        self.mergeRanks = mergeRanks
        self.specialTokens = try SpecialTokens(vocabulary: ids, vocabularySize: vocabularySize)
    }

    /// Text of the ordinary tokens among `ids` (special and timestamp tokens are skipped).
    func decode(_ ids: some Sequence<Int>) -> String {
        String(decoding: ids.flatMap { bytes(of: $0) }, as: UTF8.self)
    }

    /// The UTF-8 bytes of one ordinary token (none for special and timestamp tokens); a token may end mid-character.
    func bytes(of id: Int) -> [UInt8] {
        guard id < specialTokens.endOfText && id >= 0 && id < tokens.count else { return [] }
        return tokens[id].unicodeScalars.compactMap { ByteLevel.byte(for: $0) }
    }

    /// Token ids for `text`, by GPT-2's pre-tokenisation and byte-level BPE merges (`tokenizer.json`'s, or by vocabulary rank).
    func encode(_ text: String) -> [Int] {
        var result: [Int] = []
        for piece in PreTokenizer.split(text) {
            let symbols = Array(piece.utf8).map { String(ByteLevel.character(for: $0)) }
            for symbol in merge(symbols) {
                if let id = ids[symbol] { result.append(id) }
            }
        }
        return result
    }

    /// The longest piece, in bytes, that ``encode(_:keepingLast:)`` merges whole. Merging costs grow with the square
    /// of a piece's length; no language writes a word this long, and a longer piece is a repeated character or an attack.
    static let longestMergedPiece = 256

    /// The last `count` ids of ``encode(_:)``, tokenizing only the pieces that hold them.
    ///
    /// Pre-tokenisation cuts the text into pieces that BPE encodes independently, so encoding the pieces from the last
    /// one backwards until `count` ids are collected gives exactly `encode(text).suffix(count)`, whatever the length of
    /// the text before them. A piece longer than ``longestMergedPiece`` bytes is encoded from its last bytes only and
    /// ends the walk (its ids near the cut may differ from the whole piece's, and none before the cut are known).
    /// - Parameters:
    ///   - text: The text, such as a prompt of which the decoder keeps only the end.
    ///   - count: How many ids to keep.
    /// - Returns: At most `count` ids.
    func encode(_ text: String, keepingLast count: Int) -> [Int] {
        guard count > 0 else { return [] }
        var pieces: [[Int]] = []
        var collected = 0
        for piece in PreTokenizer.split(text).reversed() {
            let bytes = Array(piece.utf8)
            let cut = bytes.count > Self.longestMergedPiece
            let symbols = bytes.suffix(Self.longestMergedPiece).map { String(ByteLevel.character(for: $0)) }
            let ids = merge(symbols).compactMap { self.ids[$0] }
            pieces.append(ids)
            collected += ids.count
            if collected >= count || cut { break }
        }
        return Array(pieces.reversed().joined().suffix(count))
    }

    private func rank(_ first: String, _ second: String) -> Int? {
        mergeRanks.isEmpty ? ids[first + second] : mergeRanks[first + " " + second]
    }

    private func merge(_ initial: [String]) -> [String] {
        var symbols = initial
        while symbols.count > 1 {
            var best: (rank: Int, index: Int)?
            for i in 0..<(symbols.count - 1) {
                if let rank = rank(symbols[i], symbols[i + 1]), rank < (best?.rank ?? .max) {
                    best = (rank, i)
                }
            }
            guard let best else { break }
            let first = symbols[best.index]
            let second = symbols[best.index + 1]
            var merged: [String] = []
            var i = 0
            while i < symbols.count {
                if i < symbols.count - 1 && symbols[i] == first && symbols[i + 1] == second {
                    merged.append(first + second)
                    i += 2
                } else {
                    merged.append(symbols[i])
                    i += 1
                }
            }
            symbols = merged
        }
        return symbols
    }
}

/// GPT-2's reversible mapping between bytes and printable characters.
enum ByteLevel {
    private static let table: (characters: [Character], bytes: [UInt32: UInt8]) = {
        var characters = [Character](repeating: " ", count: 256)
        var bytes: [UInt32: UInt8] = [:]
        var next: UInt32 = 256
        for byte in 0...255 {
            let printable = (33...126).contains(byte) || (161...172).contains(byte) || (174...255).contains(byte)
            let scalar = printable ? UInt32(byte) : next
            if !printable { next += 1 }
            characters[byte] = Character(Unicode.Scalar(scalar)!)
            bytes[scalar] = UInt8(byte)
        }
        return (characters, bytes)
    }()

    static func character(for byte: UInt8) -> Character { table.characters[Int(byte)] }
    static func byte(for scalar: Unicode.Scalar) -> UInt8? { table.bytes[scalar.value] }
}

/// GPT-2's pre-tokeniser: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
enum PreTokenizer {
    private enum Kind { case letter, number, space, other }

    private static func kind(_ scalar: Unicode.Scalar) -> Kind {
        if scalar.properties.isWhitespace { return .space }
        if scalar.properties.generalCategory.isLetter { return .letter }
        switch scalar.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }

    static func split(_ text: String) -> [String] {
        let s = Array(text.unicodeScalars)
        var pieces: [String] = []
        var i = 0
        func run(from start: Int, _ k: Kind) -> Int {
            var j = start
            while j < s.count && kind(s[j]) == k { j += 1 }
            return j
        }
        while i < s.count {
            var end = i
            if s[i] == "'", let contraction = ["s", "t", "re", "ve", "m", "ll", "d"].first(where: { suffix in
                let chars = Array(suffix.unicodeScalars)
                return i + chars.count < s.count && Array(s[(i + 1)...(i + chars.count)]) == chars
            }) {
                end = i + 1 + contraction.unicodeScalars.count
            } else {
                let start = s[i] == " " && i + 1 < s.count && kind(s[i + 1]) != .space ? i + 1 : i
                let k = kind(s[start])
                if k != .space {
                    end = run(from: start, k)
                } else {
                    let spaceEnd = run(from: i, .space)
                    end = spaceEnd == s.count || spaceEnd - i == 1 ? spaceEnd : spaceEnd - 1
                }
            }
            var piece = String.UnicodeScalarView()
            piece.append(contentsOf: s[i..<end])
            pieces.append(String(piece))
            i = end
        }
        return pieces
    }
}

extension Unicode.GeneralCategory {
    fileprivate var isLetter: Bool {
        switch self {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: true
        default: false
        }
    }
}
