/// One text token of a transcript with the log-probability the decoder gave it, as OpenAI's `logprobs[]`.
public struct TokenLogprob: Sendable, Equatable, Codable {
    /// The token's text (a piece of a word, often with its leading space).
    public var token: String
    /// Natural log of the token's probability when it was chosen; never above 0.
    public var logprob: Double
    /// The token's UTF-8 bytes (a token may hold part of a character).
    public var bytes: [UInt8]

    /// Creates a token log-probability.
    public init(token: String, logprob: Double, bytes: [UInt8]) {
        self.token = token
        self.logprob = logprob
        self.bytes = bytes
    }
}
