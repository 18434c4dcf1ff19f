internal import CFFmpeg

extension AudioDecoder {
    /// Demuxes and decodes `bytes` with FFmpeg: probe, pick the best audio stream, decode every packet,
    /// convert to 16 kHz mono. Damaged packets are skipped as the `ffmpeg` tool skips them; a read error
    /// ends the input early, keeping the audio decoded so far (a truncated stream yields its decodable part).
    func decodeWithFFmpeg(_ bytes: [UInt8]) throws(AudioDecodingError) -> DecodedAudio {
        let deadline = DecodeDeadline(timeout: limits.decodeTimeout)
        let input = try FFmpegInput(bytes: bytes, deadline: deadline)
        let (stream, codec) = try input.selectBestAudioStream()
        let decoder = try FFmpegStreamDecoder(stream: stream, codec: codec, limits: limits)
        let resampler = Resampler(limits: limits)
        if let seconds = input.statedDuration(of: stream) { resampler.reserve(seconds: seconds) }
        var packet = av_packet_alloc()
        defer { av_packet_free(&packet) }
        guard let packet else { throw .corrupt("out of memory") }

        var lastError: Int32?
        func record(_ result: Int32) {
            if result < 0, result != whisper_averror_eagain(), result != whisper_averror_eof() { lastError = result }
        }
        while true {
            try deadline.check()
            let read = input.readPacket(into: packet)
            if read < 0 {
                try deadline.check()
                record(read)
                break
            }
            defer { av_packet_unref(packet) }
            guard packet.pointee.stream_index == decoder.streamIndex else { continue }
            let sent = decoder.send(packet)
            record(sent)
            if sent >= 0 {
                record(try decoder.receiveFrames(resampler.append))
            }
        }
        record(decoder.send(nil))
        record(try decoder.receiveFrames(resampler.append))
        try resampler.flush()

        guard !resampler.samples.isEmpty || lastError == nil else {
            throw .corrupt("no audio could be decoded from the \(input.containerName) data: \(AudioDecodingError.ffmpegText(lastError ?? 0))")
        }
        let source = resampler.sourceFormat ?? (decoder.declaredSampleRate, decoder.declaredChannels)
        return DecodedAudio(
            samples: resampler.samples,
            containerName: input.containerName,
            codecName: decoder.codecName,
            sourceSampleRate: source.sampleRate,
            sourceChannels: source.channels
        )
    }
}
