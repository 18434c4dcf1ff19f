/// One timed piece of a transcript, with the fields of OpenAI's `verbose_json` segment.
public struct Segment: Sendable, Equatable, Codable {
    /// Position in the transcript, from 0.
    public var id: Int
    /// Offset of the window that produced it, in mel frames (100 per second).
    public var seek: Int
    /// Start time in seconds from the beginning of the audio.
    public var start: Double
    /// End time in seconds from the beginning of the audio.
    public var end: Double
    /// Decoded text, with its leading space as the model wrote it.
    public var text: String
    /// Text token ids (timestamps included, special tokens excluded).
    public var tokens: [Int]
    /// Temperature the window was decoded at.
    public var temperature: Float
    /// Average log-probability of the window's tokens.
    public var avgLogprob: Double
    /// Gzip compression ratio of the window's text.
    public var compressionRatio: Double
    /// Probability that the window holds no speech.
    public var noSpeechProb: Double
    /// Word timings when requested.
    public var words: [Word]?
    /// Log-probability of each of `tokens` when the decoder chose it; not part of the JSON.
    var tokenLogprobs: [Float] = []

    /// Creates a segment.
    public init(
        id: Int, seek: Int, start: Double, end: Double, text: String, tokens: [Int], temperature: Float,
        avgLogprob: Double, compressionRatio: Double, noSpeechProb: Double, words: [Word]? = nil
    ) {
        self.id = id
        self.seek = seek
        self.start = start
        self.end = end
        self.text = text
        self.tokens = tokens
        self.temperature = temperature
        self.avgLogprob = avgLogprob
        self.compressionRatio = compressionRatio
        self.noSpeechProb = noSpeechProb
        self.words = words
    }

    enum CodingKeys: String, CodingKey {
        case id, seek, start, end, text, tokens, temperature, words
        case avgLogprob = "avg_logprob"
        case compressionRatio = "compression_ratio"
        case noSpeechProb = "no_speech_prob"
    }
}

/// A word with its timing, as in OpenAI's `verbose_json` `words[]`.
public struct Word: Sendable, Equatable, Codable {
    /// The word with its leading space and attached punctuation.
    public var word: String
    /// Start time in seconds.
    public var start: Double
    /// End time in seconds.
    public var end: Double
    /// Mean probability of the word's tokens.
    public var probability: Double

    /// Creates a word.
    public init(word: String, start: Double, end: Double, probability: Double) {
        self.word = word
        self.start = start
        self.end = end
        self.probability = probability
    }
}
