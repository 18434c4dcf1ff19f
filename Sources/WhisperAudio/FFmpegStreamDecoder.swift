internal import CFFmpeg

/// An opened FFmpeg decoder for one stream, with the frame it decodes into. Frees both in `deinit`.
final class FFmpegStreamDecoder {
    private var codecContext: UnsafeMutablePointer<AVCodecContext>?
    private var frame: UnsafeMutablePointer<AVFrame>?
    /// The index of the decoded stream in its container.
    let streamIndex: Int32
    /// FFmpeg's codec name, such as `"mp3"` (not the decoder's name, `"mp3float"`).
    let codecName: String
    /// The source sample rate and channel count as the container declares them.
    let declaredSampleRate: Int
    let declaredChannels: Int

    /// Opens a single-threaded decoder for `stream` (concurrent requests already use every core).
    /// - Throws: ``AudioDecodingError/Kind/unsupportedFormat`` when the stream exceeds `limits`,
    ///   ``AudioDecodingError/Kind/corrupt`` when the decoder rejects the stream's parameters.
    init(stream: UnsafeMutablePointer<AVStream>, codec: UnsafePointer<AVCodec>, limits: AudioLimits) throws(AudioDecodingError) {
        streamIndex = stream.pointee.index
        codecName = String(cString: avcodec_get_name(codec.pointee.id))
        guard let parameters = stream.pointee.codecpar else { throw .corrupt("the audio stream has no codec parameters") }
        declaredSampleRate = Int(parameters.pointee.sample_rate)
        declaredChannels = Int(parameters.pointee.ch_layout.nb_channels)
        try Resampler.validate(sampleRate: declaredSampleRate, channels: declaredChannels, limits: limits, allowUnknown: true)
        codecContext = avcodec_alloc_context3(codec)
        frame = av_frame_alloc()
        guard let context = codecContext, frame != nil else { throw .corrupt("out of memory") }
        let copied = avcodec_parameters_to_context(context, parameters)
        guard copied >= 0 else {
            throw .corrupt("the \(codecName) stream parameters are invalid: \(AudioDecodingError.ffmpegText(copied))")
        }
        context.pointee.pkt_timebase = stream.pointee.time_base
        context.pointee.thread_count = 1
        let opened = avcodec_open2(context, codec, nil)
        guard opened >= 0 else {
            throw .corrupt("the \(codecName) decoder could not be opened: \(AudioDecodingError.ffmpegText(opened))")
        }
    }

    deinit {
        av_frame_free(&frame)
        avcodec_free_context(&codecContext)
    }

    /// Sends one packet to the decoder, or `nil` to drain it at the end of the input; returns FFmpeg's result.
    func send(_ packet: UnsafeMutablePointer<AVPacket>?) -> Int32 {
        guard let codecContext else { return whisper_averror_eof() }
        return avcodec_send_packet(codecContext, packet)
    }

    /// Hands every frame the decoder has ready to `body`.
    /// - Returns: the result that ended the loop: `AVERROR(EAGAIN)`, `AVERROR_EOF` or a decoding error.
    func receiveFrames(_ body: (UnsafeMutablePointer<AVFrame>) throws(AudioDecodingError) -> Void) throws(AudioDecodingError) -> Int32 {
        guard let codecContext, let frame else { return whisper_averror_eof() }
        while true {
            let received = avcodec_receive_frame(codecContext, frame)
            guard received >= 0 else { return received }
            defer { av_frame_unref(frame) }
            try body(frame)
        }
    }
}
