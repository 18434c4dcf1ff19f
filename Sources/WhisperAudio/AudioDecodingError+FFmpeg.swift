internal import CFFmpeg

extension AudioDecodingError {
    /// FFmpeg's text for an `AVERROR` code (`av_err2str`), such as "Invalid data found when processing input".
    static func ffmpegText(_ code: Int32) -> String {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 256) { buffer in
            guard let base = buffer.baseAddress else { return "FFmpeg error \(code)" }
            whisper_av_strerror(code, base, buffer.count)
            return String(cString: base)
        }
    }
}
