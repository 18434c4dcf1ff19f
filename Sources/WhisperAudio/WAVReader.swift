/// A pure-Swift decoder for the commonest upload: a plain PCM WAV file already at 16 kHz, mono or stereo
/// (format tags 1 PCM 8/16/24/32-bit, 3 IEEE float 32-bit, and `WAVE_FORMAT_EXTENSIBLE` with either).
///
/// It reproduces FFmpeg's result for such files (the same sample scaling, stereo mixed to (L + R) / 2, a data
/// size of 0 or 0xFFFFFFFF meaning "up to the end") without a demuxer, decoder or resampler. Any other WAV
/// (another rate, more channels, unusual channel masks, compressed formats) is left to FFmpeg.
struct WAVReader {
    private enum Encoding {
        case unsigned8, signed16, signed24, signed32, float32

        var codecName: String {
            switch self {
            case .unsigned8: "pcm_u8"
            case .signed16: "pcm_s16le"
            case .signed24: "pcm_s24le"
            case .signed32: "pcm_s32le"
            case .float32: "pcm_f32le"
            }
        }
    }

    private static let formatPCM: UInt16 = 1
    private static let formatFloat: UInt16 = 3
    private static let formatExtensible: UInt16 = 0xFFFE
    /// The 14 bytes that follow the format tag in a `WAVE_FORMAT_EXTENSIBLE` sub-format GUID.
    private static let extensibleGUIDTail: [UInt8] = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71]
    private static let frontCenter: UInt32 = 0x4
    private static let frontLeftRight: UInt32 = 0x3

    private let bytes: [UInt8]
    private let encoding: Encoding
    private let channels: Int
    private let data: Range<Int>

    /// Parses the RIFF header; `nil` unless `bytes` is a WAV file this reader decodes exactly like FFmpeg.
    init?(_ bytes: [UInt8]) {
        guard bytes.count >= 12, bytes[0..<4].elementsEqual("RIFF".utf8), bytes[8..<12].elementsEqual("WAVE".utf8) else { return nil }
        var offset = 12
        var format: (encoding: Encoding, channels: Int)?
        while offset + 8 <= bytes.count {
            let size = Int(Self.uint32(bytes, offset + 4))
            let body = offset + 8
            if bytes[offset..<offset + 4].elementsEqual("fmt ".utf8) {
                format = Self.parseFormat(bytes, body, size)
                guard format != nil else { return nil }
            } else if bytes[offset..<offset + 4].elementsEqual("data".utf8) {
                guard let format else { return nil }
                let declaredEnd = size == 0 || size == 0xFFFF_FFFF ? bytes.count : body + size
                self.bytes = bytes
                self.encoding = format.encoding
                self.channels = format.channels
                self.data = body..<min(declaredEnd, bytes.count)
                return
            }
            offset = body + size + (size & 1)
        }
        return nil
    }

    /// Converts the data chunk to 16 kHz mono.
    /// - Throws: ``AudioDecodingError/Kind/tooLong`` before allocating anything when the data exceeds the limit.
    func decode(limits: AudioLimits) throws(AudioDecodingError) -> DecodedAudio {
        let width = channels * bytesPerSample
        let frames = data.count / width
        guard Double(frames) / Double(DecodedAudio.sampleRate) <= limits.maxDuration else { throw .tooLong(limit: limits.maxDuration) }
        let samples = [Float](unsafeUninitializedCapacity: frames) { output, initialized in
            bytes.withUnsafeBytes { raw in
                let source = UnsafeRawBufferPointer(rebasing: raw[data])
                switch encoding {
                case .unsigned8: mix(source, frames, into: output) { (Float($0.load(as: UInt8.self)) - 128) * 0x1p-7 }
                case .signed16: mix(source, frames, into: output) { Float(Int16(littleEndian: $0.loadUnaligned(as: Int16.self))) * 0x1p-15 }
                case .signed24:
                    mix(source, frames, into: output) { pointer in
                        let value = Int32(pointer.load(fromByteOffset: 0, as: UInt8.self)) << 8
                            | Int32(pointer.load(fromByteOffset: 1, as: UInt8.self)) << 16
                            | Int32(pointer.load(fromByteOffset: 2, as: UInt8.self)) << 24
                        return Float(value >> 8) * 0x1p-23
                    }
                case .signed32: mix(source, frames, into: output) { Float(Int32(littleEndian: $0.loadUnaligned(as: Int32.self))) * 0x1p-31 }
                case .float32: mix(source, frames, into: output) { Float(bitPattern: UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self))) }
                }
            }
            initialized = frames
        }
        return DecodedAudio(
            samples: samples,
            containerName: "wav",
            codecName: encoding.codecName,
            sourceSampleRate: DecodedAudio.sampleRate,
            sourceChannels: channels
        )
    }

    private var bytesPerSample: Int {
        switch encoding {
        case .unsigned8: 1
        case .signed16: 2
        case .signed24: 3
        case .signed32, .float32: 4
        }
    }

    /// Writes one mono sample per frame: the sample itself, or the mean of a stereo pair.
    @inline(__always)
    private func mix(
        _ source: UnsafeRawBufferPointer,
        _ frames: Int,
        into output: UnsafeMutableBufferPointer<Float>,
        sample: (UnsafeRawPointer) -> Float
    ) {
        guard let base = source.baseAddress else { return }
        let size = bytesPerSample
        if channels == 1 {
            for index in 0..<frames { output[index] = sample(base + index * size) }
        } else {
            for index in 0..<frames {
                let left = base + index * 2 * size
                output[index] = (sample(left) + sample(left + size)) * 0.5
            }
        }
    }

    /// Reads a `fmt ` chunk body; `nil` unless it describes 16 kHz mono or stereo PCM this reader handles.
    private static func parseFormat(_ bytes: [UInt8], _ body: Int, _ size: Int) -> (encoding: Encoding, channels: Int)? {
        guard size >= 16, body + size <= bytes.count else { return nil }
        var tag = uint16(bytes, body)
        let channels = Int(uint16(bytes, body + 2))
        let sampleRate = uint32(bytes, body + 4)
        let blockAlign = Int(uint16(bytes, body + 12))
        let bits = Int(uint16(bytes, body + 14))
        if tag == formatExtensible {
            guard size >= 40, bytes[body + 26..<body + 40].elementsEqual(extensibleGUIDTail) else { return nil }
            let mask = uint32(bytes, body + 20)
            guard mask == 0 || mask == (channels == 1 ? frontCenter : frontLeftRight) else { return nil }
            tag = uint16(bytes, body + 24)
        }
        guard sampleRate == DecodedAudio.sampleRate, (1...2).contains(channels), blockAlign == channels * bits / 8 else { return nil }
        switch (tag, bits) {
        case (formatPCM, 8): return (.unsigned8, channels)
        case (formatPCM, 16): return (.signed16, channels)
        case (formatPCM, 24): return (.signed24, channels)
        case (formatPCM, 32): return (.signed32, channels)
        case (formatFloat, 32): return (.float32, channels)
        default: return nil
        }
    }

    private static func uint16(_ bytes: [UInt8], _ offset: Int) -> UInt16 {
        UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }

    private static func uint32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        UInt32(uint16(bytes, offset)) | UInt32(uint16(bytes, offset + 2)) << 16
    }
}
