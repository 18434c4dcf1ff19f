import Foundation

/// Decodes audio or video files held in memory to 16 kHz mono Float32 samples, within ``AudioLimits``.
///
/// The container is recognised from the content (FFmpeg probing), never from a file name, and read through
/// a custom in-memory AVIO reader: no temporary files. Plain PCM WAV at 16 kHz (mono or stereo) takes a
/// pure-Swift path; everything else (FLAC, MP3, MP4/M4A, MPEG, Ogg Vorbis/Opus, WebM, other WAV) goes through
/// FFmpeg. A decoder holds only its limits, so one value can be shared by any number of concurrent decodes.
///
/// ```swift
/// let audio = try AudioDecoder().decode(uploadBytes)
/// print(audio.duration, audio.codecName)   // 12.5 "mp3"
/// ```
public struct AudioDecoder: Sendable {
    /// The bounds every decode is held to.
    public let limits: AudioLimits

    /// Creates a decoder.
    /// - Parameter limits: The bounds every decode is held to.
    public init(limits: AudioLimits = AudioLimits()) {
        self.limits = limits
    }

    /// Decodes an audio or video file held in memory.
    /// - Parameter bytes: The whole file, in any supported container.
    /// - Returns: The best audio stream as 16 kHz mono samples, all finite (NaN and infinity become 0).
    /// - Throws: ``AudioDecodingError`` with a kind that says why: ``AudioDecodingError/Kind/empty``,
    ///   ``AudioDecodingError/Kind/tooLarge``, ``AudioDecodingError/Kind/unsupportedFormat``,
    ///   ``AudioDecodingError/Kind/corrupt``, ``AudioDecodingError/Kind/noAudioStream``,
    ///   ``AudioDecodingError/Kind/tooLong``, ``AudioDecodingError/Kind/tooShort`` or ``AudioDecodingError/Kind/timedOut``.
    public func decode(_ bytes: [UInt8]) throws(AudioDecodingError) -> DecodedAudio {
        guard !bytes.isEmpty else { throw .empty }
        guard bytes.count <= limits.maxInputBytes else { throw .tooLarge(limit: limits.maxInputBytes) }
        var audio: DecodedAudio
        if let wav = WAVReader(bytes) {
            audio = try wav.decode(limits: limits)
        } else {
            audio = try decodeWithFFmpeg(bytes)
        }
        // Floating-point sources (float WAV, damaged streams) can carry NaN or infinity, which would poison every
        // feature computed from them: they become silence.
        if audio.samples.contains(where: { !$0.isFinite }) {
            audio.samples = audio.samples.map { $0.isFinite ? $0 : 0 }
        }
        guard audio.duration >= limits.minDuration else { throw .tooShort(duration: audio.duration, limit: limits.minDuration) }
        return audio
    }

    /// Reads a file and decodes it like ``decode(_:)``, reading at most one byte more than ``AudioLimits/maxInputBytes``.
    /// - Parameter url: A local file URL.
    /// - Returns: The best audio stream as 16 kHz mono samples.
    /// - Throws: ``AudioDecodingError``; a file that cannot be read is ``AudioDecodingError/Kind/corrupt``
    ///   (the message names the system error, not the path).
    public func decode(contentsOf url: URL) throws(AudioDecodingError) -> DecodedAudio {
        let bytes: [UInt8]
        do {
            let handle = try FileHandle(forReadingFrom: url)
            defer { try? handle.close() }
            bytes = [UInt8](try handle.read(upToCount: limits.maxInputBytes + 1) ?? Data())
        } catch {
            let code = ((error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError)?.code
            let reason = code.map { String(cString: strerror(Int32($0))) } ?? "unreadable"
            throw .corrupt("the audio file could not be read (\(reason))")
        }
        return try decode(bytes)
    }
}
