/// Bounds applied to every decode, so that untrusted uploads cannot exhaust memory or time.
///
/// The limits are enforced while decoding, not only from what a container claims:
/// a header announcing 100 hours costs nothing, and decoding stops as soon as the
/// decoded audio passes ``maxDuration``.
///
/// ```swift
/// let decoder = AudioDecoder(limits: AudioLimits(maxDuration: 600, decodeTimeout: 30))
/// ```
public struct AudioLimits: Sendable, Equatable {
    /// The largest accepted input in bytes. Default: 25 MiB, OpenAI's upload limit.
    public var maxInputBytes: Int
    /// The longest accepted audio in seconds of decoded audio. Default: 7200 (two hours).
    public var maxDuration: Double
    /// The shortest accepted audio in seconds; shorter audio fails with ``AudioDecodingError/Kind/tooShort``. Default: 0.1.
    public var minDuration: Double
    /// The most channels a stream may have. Default: 16.
    public var maxChannels: Int
    /// The highest source sample rate in Hz. Default: 384 000.
    public var maxSampleRate: Int
    /// The wall-clock time in seconds one decode may take. Default: 120.
    public var decodeTimeout: Double

    /// Creates limits; every parameter defaults to the value documented on its property.
    /// - Parameters:
    ///   - maxInputBytes: The largest accepted input in bytes.
    ///   - maxDuration: The longest accepted decoded audio in seconds.
    ///   - minDuration: The shortest accepted decoded audio in seconds.
    ///   - maxChannels: The most channels a stream may have.
    ///   - maxSampleRate: The highest source sample rate in Hz.
    ///   - decodeTimeout: The wall-clock seconds one decode may take.
    public init(
        maxInputBytes: Int = 25 * 1024 * 1024,
        maxDuration: Double = 7200,
        minDuration: Double = 0.1,
        maxChannels: Int = 16,
        maxSampleRate: Int = 384_000,
        decodeTimeout: Double = 120
    ) {
        self.maxInputBytes = maxInputBytes
        self.maxDuration = maxDuration
        self.minDuration = minDuration
        self.maxChannels = maxChannels
        self.maxSampleRate = maxSampleRate
        self.decodeTimeout = decodeTimeout
    }
}
