internal import CFFmpeg

/// The state behind FFmpeg's custom AVIO callbacks: bytes in memory and a read position.
///
/// FFmpeg receives it as an unretained opaque pointer, so its owner (``FFmpegInput``) must outlive every
/// FFmpeg object that holds that pointer. It is deliberately not `Sendable`: each decode creates its own
/// reader and uses it on one thread only, so concurrent decodes share nothing.
final class MemoryReader {
    private let bytes: [UInt8]
    private var position = 0
    /// Checked by FFmpeg's interrupt callback during blocking demuxer calls.
    let deadline: DecodeDeadline

    init(bytes: [UInt8], deadline: DecodeDeadline) {
        self.bytes = bytes
        self.deadline = deadline
    }

    /// The opaque pointer handed to FFmpeg; valid while `self` is alive.
    var opaque: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

    static func from(_ opaque: UnsafeMutableRawPointer?) -> MemoryReader? {
        guard let opaque else { return nil }
        return Unmanaged<MemoryReader>.fromOpaque(opaque).takeUnretainedValue()
    }

    /// Copies up to `capacity` bytes into `buffer`; returns the count copied or `AVERROR_EOF` at the end.
    func read(into buffer: UnsafeMutablePointer<UInt8>, capacity: Int) -> Int32 {
        let count = min(capacity, bytes.count - position)
        guard count > 0 else { return whisper_averror_eof() }
        bytes.withUnsafeBufferPointer { source in
            guard let base = source.baseAddress else { return }
            buffer.update(from: base + position, count: count)
        }
        position += count
        return Int32(count)
    }

    /// Moves the read position as `fseek` would, or answers the total size for `AVSEEK_SIZE`.
    func seek(offset: Int64, whence: Int32) -> Int64 {
        let mode = whence & ~whisper_avseek_force()
        if mode == whisper_avseek_size() { return Int64(bytes.count) }
        let base: Int64
        switch mode {
        case SEEK_SET: base = 0
        case SEEK_CUR: base = Int64(position)
        case SEEK_END: base = Int64(bytes.count)
        default: return Int64(whisper_averror_einval())
        }
        let (target, overflow) = base.addingReportingOverflow(offset)
        guard !overflow, target >= 0, target <= Int64(bytes.count) else { return Int64(whisper_averror_einval()) }
        position = Int(target)
        return target
    }
}

/// AVIO `read_packet` callback.
func memoryReaderRead(_ opaque: UnsafeMutableRawPointer?, _ buffer: UnsafeMutablePointer<UInt8>?, _ size: Int32) -> Int32 {
    guard let reader = MemoryReader.from(opaque), let buffer, size > 0 else { return whisper_averror_einval() }
    return reader.read(into: buffer, capacity: Int(size))
}

/// AVIO `seek` callback.
func memoryReaderSeek(_ opaque: UnsafeMutableRawPointer?, _ offset: Int64, _ whence: Int32) -> Int64 {
    guard let reader = MemoryReader.from(opaque) else { return Int64(whisper_averror_einval()) }
    return reader.seek(offset: offset, whence: whence)
}

/// `AVIOInterruptCB` callback: non-zero stops FFmpeg's blocking calls once the deadline has passed.
func memoryReaderInterrupt(_ opaque: UnsafeMutableRawPointer?) -> Int32 {
    guard let reader = MemoryReader.from(opaque) else { return 1 }
    return reader.deadline.hasPassed ? 1 : 0
}
