internal import CFFmpeg

/// Converts decoded frames of any sample format, channel layout and rate into 16 kHz mono Float32 with
/// libswresample, and collects them.
///
/// Reconfigures itself when a stream changes format mid-way, and enforces ``AudioLimits/maxDuration``
/// before converting each frame, so output never grows past the limit. Downmixing normalises the matrix
/// (`rematrix_maxval` 1), as FFmpeg does for integer output: stereo becomes (L + R) / 2, never clipping.
final class Resampler {
    private static let initialScratchCapacity = 16 * 1024

    private let limits: AudioLimits
    private var context: OpaquePointer?
    private var inputLayout = AVChannelLayout()
    private var inputFormat: Int32 = -1
    private var inputRate: Int32 = 0
    private var scratch: UnsafeMutablePointer<Float>
    private var scratchCapacity: Int
    /// Seconds of source audio handed to ``append(_:)`` so far.
    private var decodedSeconds = 0.0
    /// The 16 kHz mono output so far.
    private(set) var samples: [Float] = []
    /// The sample rate and channel count of the first frame, once one has been seen.
    private(set) var sourceFormat: (sampleRate: Int, channels: Int)?

    init(limits: AudioLimits) {
        self.limits = limits
        scratchCapacity = Self.initialScratchCapacity
        scratch = .allocate(capacity: scratchCapacity)
    }

    deinit {
        swr_free(&context)
        av_channel_layout_uninit(&inputLayout)
        scratch.deallocate()
    }

    /// Checks a source sample rate and channel count against `limits`; with `allowUnknown`, zero means "not declared".
    static func validate(sampleRate: Int, channels: Int, limits: AudioLimits, allowUnknown: Bool = false) throws(AudioDecodingError) {
        if channels > limits.maxChannels {
            throw .unsupportedFormat("the audio has \(channels) channels, more than the limit of \(limits.maxChannels)")
        }
        if sampleRate > limits.maxSampleRate {
            throw .unsupportedFormat("the audio sample rate \(sampleRate) Hz is above the limit of \(limits.maxSampleRate) Hz")
        }
        let unknown = allowUnknown ? 0 : 1
        if channels < unknown || sampleRate < unknown {
            throw .corrupt("the audio declares \(channels) channels at \(sampleRate) Hz")
        }
    }

    /// Converts one decoded frame and appends it to ``samples``.
    /// - Throws: ``AudioDecodingError/Kind/tooLong`` as soon as the decoded audio passes the limit.
    func append(_ frame: UnsafeMutablePointer<AVFrame>) throws(AudioDecodingError) {
        let sampleRate = frame.pointee.sample_rate
        try Self.validate(sampleRate: Int(sampleRate), channels: Int(frame.pointee.ch_layout.nb_channels), limits: limits)
        decodedSeconds += Double(frame.pointee.nb_samples) / Double(sampleRate)
        guard decodedSeconds <= limits.maxDuration else { throw .tooLong(limit: limits.maxDuration) }
        try configure(for: frame)
        try convert(frame.pointee.extended_data, count: frame.pointee.nb_samples)
    }

    /// Reserves room for `seconds` of output (capped at ``AudioLimits/maxDuration``), so that long audio whose
    /// container states its length is collected without growing the buffer, which copies it and briefly holds it twice.
    /// The room is only reserved, not written: a container that overstates its length costs address space, not memory.
    func reserve(seconds: Double) {
        guard seconds.isFinite, seconds > 0 else { return }
        let capped = min(seconds, limits.maxDuration) + 1
        samples.reserveCapacity(Int(capped * Double(DecodedAudio.sampleRate)))
    }

    /// Appends what the resampler still holds at the end of the input.
    func flush() throws(AudioDecodingError) {
        try convert(nil, count: 0)
    }

    private func configure(for frame: UnsafeMutablePointer<AVFrame>) throws(AudioDecodingError) {
        var layout = AVChannelLayout()
        defer { av_channel_layout_uninit(&layout) }
        if frame.pointee.ch_layout.order == AV_CHANNEL_ORDER_UNSPEC || av_channel_layout_check(&frame.pointee.ch_layout) == 0 {
            av_channel_layout_default(&layout, frame.pointee.ch_layout.nb_channels)
        } else if av_channel_layout_copy(&layout, &frame.pointee.ch_layout) < 0 {
            throw .corrupt("out of memory")
        }
        let format = frame.pointee.format
        let sampleRate = frame.pointee.sample_rate
        if context != nil, format == inputFormat, sampleRate == inputRate, av_channel_layout_compare(&layout, &inputLayout) == 0 {
            return
        }
        if context != nil {
            try flush()
            swr_free(&context)
        }
        sourceFormat = sourceFormat ?? (Int(sampleRate), Int(layout.nb_channels))
        var mono = whisper_channel_layout_mono()
        let allocated = swr_alloc_set_opts2(
            &context, &mono, AV_SAMPLE_FMT_FLT, Int32(DecodedAudio.sampleRate),
            &layout, AVSampleFormat(rawValue: format), sampleRate, 0, nil
        )
        guard allocated >= 0, let context else {
            throw .unsupportedFormat("the decoded audio format cannot be converted: \(AudioDecodingError.ffmpegText(allocated))")
        }
        av_opt_set_double(UnsafeMutableRawPointer(context), "rematrix_maxval", 1.0, 0)
        let initialised = swr_init(context)
        guard initialised >= 0 else {
            throw .unsupportedFormat("the decoded audio format cannot be converted: \(AudioDecodingError.ffmpegText(initialised))")
        }
        inputFormat = format
        inputRate = sampleRate
        av_channel_layout_uninit(&inputLayout)
        guard av_channel_layout_copy(&inputLayout, &layout) >= 0 else { throw .corrupt("out of memory") }
    }

    private func convert(_ input: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?, count: Int32) throws(AudioDecodingError) {
        guard let context else { return }
        let capacity = Int(swr_get_out_samples(context, count))
        guard capacity >= 0 else { throw .corrupt("resampling failed: \(AudioDecodingError.ffmpegText(Int32(capacity)))") }
        if capacity > scratchCapacity {
            scratch.deallocate()
            scratchCapacity = capacity
            scratch = .allocate(capacity: capacity)
        }
        var output: UnsafeMutablePointer<UInt8>? = UnsafeMutableRawPointer(scratch).assumingMemoryBound(to: UInt8.self)
        let source = UnsafeMutableRawPointer(input)?.assumingMemoryBound(to: UnsafePointer<UInt8>?.self)
        let converted = swr_convert(context, &output, Int32(capacity), source, count)
        guard converted >= 0 else { throw .corrupt("resampling failed: \(AudioDecodingError.ffmpegText(converted))") }
        samples.append(contentsOf: UnsafeBufferPointer(start: scratch, count: Int(converted)))
    }
}
