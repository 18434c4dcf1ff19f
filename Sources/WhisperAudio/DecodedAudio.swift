/// Audio decoded to what Whisper consumes: 16 kHz mono Float32 samples, nominally in [-1, 1].
public struct DecodedAudio: Sendable {
    /// The sample rate of ``samples`` in Hz.
    public static let sampleRate = 16_000

    /// Mono samples at ``sampleRate``.
    public var samples: [Float]
    /// The duration of ``samples`` in seconds.
    public var duration: Double { Double(samples.count) / Double(Self.sampleRate) }
    /// FFmpeg's name for the probed container, such as `"mp3"` or `"mov,mp4,m4a,3gp,3g2,mj2"`.
    public var containerName: String
    /// FFmpeg's name for the decoded codec, such as `"aac"` or `"pcm_s16le"`.
    public var codecName: String
    /// The sample rate of the source stream in Hz.
    public var sourceSampleRate: Int
    /// The channel count of the source stream.
    public var sourceChannels: Int

    /// Creates decoded audio from 16 kHz mono samples and a description of their source.
    /// - Parameters:
    ///   - samples: Mono samples at ``sampleRate``.
    ///   - containerName: FFmpeg's name for the container.
    ///   - codecName: FFmpeg's name for the codec.
    ///   - sourceSampleRate: The source sample rate in Hz.
    ///   - sourceChannels: The source channel count.
    public init(samples: [Float], containerName: String, codecName: String, sourceSampleRate: Int, sourceChannels: Int) {
        self.samples = samples
        self.containerName = containerName
        self.codecName = codecName
        self.sourceSampleRate = sourceSampleRate
        self.sourceChannels = sourceChannels
    }
}
