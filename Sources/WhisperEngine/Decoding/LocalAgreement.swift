/// The "local agreement" policy of live transcription: a word becomes final once two consecutive passes over the
/// growing audio agree on it and on every word before it, and both passes go on past it.
///
/// Each pass re-transcribes the same window from its start, so its words are a hypothesis for the whole window. The
/// words already committed are never taken back: what is committed only grows, which is what makes live deltas
/// append-only.
///
/// ```swift
/// var agreement = LocalAgreement()
/// agreement.update(with: [" The", " quick"])                  // [] : nothing seen twice yet
/// agreement.update(with: [" The", " quick", " brown"])        // [" The"]
/// ```
public struct LocalAgreement: Sendable, Equatable {
    /// Words committed in the current window, in order.
    public private(set) var committed: [String] = []
    /// The previous pass's words, compared with the next pass's.
    private var previous: [String] = []

    /// An empty agreement.
    public init() {}

    /// Records one pass's words for the whole window and returns the words that became final with it.
    /// - Parameter hypothesis: the pass's words, each with its leading space as the model wrote it.
    /// - Returns: the newly committed words (possibly none), in order.
    @discardableResult
    public mutating func update(with hypothesis: [String]) -> [String] {
        defer { previous = hypothesis }
        // Both passes must still agree with what is committed; a pass that rewrote committed words commits nothing.
        guard Self.startsWith(hypothesis, committed), Self.startsWith(previous, committed) else { return [] }
        var agreed: [String] = []
        var index = committed.count
        // A word is final only once a word follows it in both passes: the last word of a pass may be cut short
        // ("Everything" for the start of "Every evening").
        let limit = min(hypothesis.count, previous.count) - 1
        while index < limit, Self.same(hypothesis[index], previous[index]) {
            agreed.append(hypothesis[index])
            index += 1
        }
        committed += agreed
        return agreed
    }

    /// Forgets the first `count` committed words (their audio left the window) and the previous pass, which covered
    /// the old window.
    public mutating func dropCommitted(_ count: Int) {
        committed.removeFirst(min(count, committed.count))
        previous = []
    }

    /// Commits `words` without waiting for a second pass (the window must move on, or the turn ended).
    public mutating func force(_ words: [String]) {
        committed += words
    }

    /// Whether `words` begins with `prefix` (words compared as ``same(_:_:)``).
    static func startsWith(_ words: [String], _ prefix: [String]) -> Bool {
        words.count >= prefix.count && zip(words, prefix).allSatisfy { same($0, $1) }
    }

    /// Whether two words are the same word: case, punctuation and surrounding space ignored, so that a comma that
    /// comes and goes between passes does not hold the text back.
    static func same(_ a: String, _ b: String) -> Bool {
        normalized(a) == normalized(b)
    }

    /// The word in lower case without punctuation or spaces.
    static func normalized(_ word: String) -> String {
        String(word.lowercased().unicodeScalars.filter { $0.properties.isAlphabetic || $0.properties.numericType != nil }.map(Character.init))
    }
}
