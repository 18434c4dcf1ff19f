internal import CFFmpeg

/// Silences FFmpeg's own logging to stderr; evaluated once, on first use, thread-safely (Swift global initialisation).
private let ffmpegLoggingSilenced: Void = av_log_set_level(AV_LOG_QUIET)

/// An opened FFmpeg demuxer over bytes in memory: a custom AVIO context (read and seek callbacks on a
/// ``MemoryReader``) and the format context probed from the content. Never touches the file system or network.
///
/// Frees every FFmpeg object it owns in `deinit`, on success and failure alike.
final class FFmpegInput {
    /// Demuxers accepted after probing: audio and audio/video containers. Anything else (images, subtitles,
    /// playlists such as HLS or concat that would open other resources) is rejected as unsupported.
    private static let acceptedFormats: Set<String> = [
        "aac", "ac3", "aiff", "amr", "amrnb", "amrwb", "ape", "asf", "au", "avi", "caf", "dts", "eac3", "flac",
        "flv", "loas", "matroska,webm", "mov,mp4,m4a,3gp,3g2,mj2", "mp3", "mpeg", "mpegts", "ogg", "truehd",
        "tta", "voc", "w64", "wav", "wv",
    ]
    private static let ioBufferSize = 64 * 1024
    /// The most bytes `avformat_find_stream_info` reads to learn the streams' parameters: enough for any audio
    /// stream's first packets, well short of a large upload.
    static let probeBytes = 2 * 1024 * 1024
    /// The most media time, in microseconds, `avformat_find_stream_info` reads for the same purpose.
    static let analyzeMicroseconds = 5_000_000
    /// The most streams a container may declare; uploads carry one audio stream, rarely a few more.
    static let maxStreams = 16

    /// Every audio decoder this FFmpeg has, as a `codec_whitelist`: no video, subtitle or data decoder is ever opened
    /// for an upload, neither by stream probing nor by decoding.
    static let audioDecoders: String = {
        var names: [String] = []
        var state: UnsafeMutableRawPointer?
        while let codec = av_codec_iterate(&state) {
            if av_codec_is_decoder(codec) != 0, codec.pointee.type == AVMEDIA_TYPE_AUDIO {
                names.append(String(cString: codec.pointee.name))
            }
        }
        return names.joined(separator: ",")
    }()

    private let reader: MemoryReader
    private var ioContext: UnsafeMutablePointer<AVIOContext>?
    private var formatContext: UnsafeMutablePointer<AVFormatContext>?
    /// FFmpeg's name for the probed container.
    private(set) var containerName = ""

    /// Probes and opens `bytes`.
    /// - Throws: ``AudioDecodingError/Kind/unsupportedFormat`` when probing finds no accepted container,
    ///   ``AudioDecodingError/Kind/corrupt`` when the container cannot be opened, or
    ///   ``AudioDecodingError/Kind/timedOut``.
    init(bytes: [UInt8], deadline: DecodeDeadline) throws(AudioDecodingError) {
        _ = ffmpegLoggingSilenced
        reader = MemoryReader(bytes: bytes, deadline: deadline)
        ioContext = try Self.makeIOContext(reader)
        let format = try probe()
        containerName = String(cString: format.pointee.name)
        guard Self.acceptedFormats.contains(containerName) else {
            throw .unsupportedFormat("the content was recognised as \(containerName), which is not an audio container")
        }
        try open(format)
    }

    deinit {
        avformat_close_input(&formatContext)
        if let ioContext {
            av_freep(&ioContext.pointee.buffer)
        }
        avio_context_free(&ioContext)
    }

    private static func makeIOContext(_ reader: MemoryReader) throws(AudioDecodingError) -> UnsafeMutablePointer<AVIOContext> {
        guard let buffer = av_malloc(ioBufferSize) else { throw .corrupt("out of memory") }
        guard
            let context = avio_alloc_context(
                buffer.assumingMemoryBound(to: UInt8.self), Int32(ioBufferSize), 0, reader.opaque,
                memoryReaderRead, nil, memoryReaderSeek
            )
        else {
            av_free(buffer)
            throw .corrupt("out of memory")
        }
        return context
    }

    /// Detects the container from the content alone (no file name is ever given to FFmpeg).
    private func probe() throws(AudioDecodingError) -> UnsafePointer<AVInputFormat> {
        var format: UnsafePointer<AVInputFormat>?
        let result = av_probe_input_buffer2(ioContext, &format, nil, nil, 0, 0)
        guard result >= 0, let format else {
            try reader.deadline.check()
            throw .unsupportedFormat("the content is not a recognised audio or video format (\(AudioDecodingError.ffmpegText(result)))")
        }
        return format
    }

    private func open(_ format: UnsafePointer<AVInputFormat>) throws(AudioDecodingError) {
        formatContext = avformat_alloc_context()
        guard let allocated = formatContext else { throw .corrupt("out of memory") }
        allocated.pointee.pb = ioContext
        allocated.pointee.interrupt_callback = AVIOInterruptCB(callback: memoryReaderInterrupt, opaque: reader.opaque)
        var options: OpaquePointer?
        defer { av_dict_free(&options) }
        // No demuxer may open further resources (files, URLs) named inside the content.
        av_dict_set(&options, "protocol_whitelist", "none", 0)
        // Stream probing reads a bounded prefix and opens audio decoders only.
        av_dict_set(&options, "probesize", String(Self.probeBytes), 0)
        av_dict_set(&options, "analyzeduration", String(Self.analyzeMicroseconds), 0)
        av_dict_set(&options, "max_streams", String(Self.maxStreams), 0)
        av_dict_set(&options, "codec_whitelist", Self.audioDecoders, 0)
        let opened = avformat_open_input(&formatContext, nil, format, &options)
        guard opened >= 0, let context = formatContext else {
            try reader.deadline.check()
            throw .corrupt("the \(containerName) data could not be opened: \(AudioDecodingError.ffmpegText(opened))")
        }
        discardStreamsOtherThanAudio(context)
        let found = avformat_find_stream_info(context, nil)
        try reader.deadline.check()
        guard found >= 0 || context.pointee.nb_streams > 0 else {
            throw .corrupt("the \(containerName) data has no readable streams: \(AudioDecodingError.ffmpegText(found))")
        }
    }

    /// Marks every stream the header declares as video, subtitles, data or attachment as discarded, before the streams
    /// are probed: the demuxer then skips their packets, and no decoder reads them (streams of unknown type stay, as
    /// probing may find audio in them).
    private func discardStreamsOtherThanAudio(_ context: UnsafeMutablePointer<AVFormatContext>) {
        guard let streams = context.pointee.streams else { return }
        for index in 0..<Int(context.pointee.nb_streams) {
            guard let stream = streams[index], let parameters = stream.pointee.codecpar else { continue }
            let type = parameters.pointee.codec_type
            if type != AVMEDIA_TYPE_AUDIO && type != AVMEDIA_TYPE_UNKNOWN {
                stream.pointee.discard = AVDISCARD_ALL
            }
        }
    }

    /// Picks the stream FFmpeg ranks best among the audio streams, and its decoder; every other stream is discarded
    /// so the demuxer skips its packets.
    /// - Throws: ``AudioDecodingError/Kind/noAudioStream`` or, without a decoder, ``AudioDecodingError/Kind/unsupportedFormat``.
    func selectBestAudioStream() throws(AudioDecodingError) -> (stream: UnsafeMutablePointer<AVStream>, codec: UnsafePointer<AVCodec>) {
        guard let context = formatContext else { throw .corrupt("the input is not open") }
        var codec: UnsafePointer<AVCodec>?
        let index = av_find_best_stream(context, AVMEDIA_TYPE_AUDIO, -1, -1, &codec, 0)
        if index == whisper_averror_decoder_not_found() {
            throw .unsupportedFormat("the \(containerName) data holds audio in a codec that cannot be decoded")
        }
        guard index >= 0, let codec, let streams = context.pointee.streams, let stream = streams[Int(index)] else {
            throw .noAudioStream("the \(containerName) data holds no audio stream")
        }
        for other in 0..<Int(context.pointee.nb_streams) where other != Int(index) {
            streams[other]?.pointee.discard = AVDISCARD_ALL
        }
        return (stream, codec)
    }

    /// The duration in seconds that the container states for `stream` (or for the whole input), if it states one.
    func statedDuration(of stream: UnsafeMutablePointer<AVStream>) -> Double? {
        let timeBase = stream.pointee.time_base
        if stream.pointee.duration > 0, timeBase.num > 0, timeBase.den > 0 {
            return Double(stream.pointee.duration) * Double(timeBase.num) / Double(timeBase.den)
        }
        if let context = formatContext, context.pointee.duration > 0 {
            return Double(context.pointee.duration) / Double(AV_TIME_BASE)
        }
        return nil
    }

    /// Reads the next packet into `packet`; returns FFmpeg's result (0, `AVERROR_EOF` or another error).
    func readPacket(into packet: UnsafeMutablePointer<AVPacket>) -> Int32 {
        guard let context = formatContext else { return whisper_averror_eof() }
        return av_read_frame(context, packet)
    }
}
