import Foundation

/// The encodings a Realtime session accepts in `input_audio_buffer.append`, with their conversion to the engine's
/// 16 kHz mono `Float` samples.
///
/// - `audio/pcm` (`pcm16`): 16-bit little-endian mono PCM at 24 kHz, as OpenAI defines it; 16 kHz is accepted too.
/// - `audio/pcmu` (`g711_ulaw`) and `audio/pcma` (`g711_alaw`): G.711 at 8 kHz.
public struct RealtimeAudioFormat: Sendable, Equatable {
    /// The sample encoding.
    public enum Encoding: String, Sendable, Equatable {
        case pcm16
        case muLaw = "g711_ulaw"
        case aLaw = "g711_alaw"
    }

    /// The sample encoding.
    public var encoding: Encoding
    /// Samples per second.
    public var rate: Int

    /// OpenAI's default: PCM16 at 24 kHz.
    public static let pcm24k = RealtimeAudioFormat(encoding: .pcm16, rate: 24_000)

    /// The GA name of the encoding (`audio/pcm`, `audio/pcmu`, `audio/pcma`).
    public var mimeType: String {
        switch encoding {
        case .pcm16: "audio/pcm"
        case .muLaw: "audio/pcmu"
        case .aLaw: "audio/pcma"
        }
    }

    /// Bytes per sample in the encoded stream.
    public var bytesPerSample: Int { encoding == .pcm16 ? 2 : 1 }

    /// The format named by a GA `audio.input.format` object.
    /// - Throws: a message naming the unsupported type or rate.
    public static func fromGA(type: String, rate: Int?) throws(RealtimeProtocolError) -> RealtimeAudioFormat {
        switch type {
        case "audio/pcm":
            let rate = rate ?? 24_000
            guard rate == 24_000 || rate == 16_000 else {
                throw .invalidValue("session.audio.input.format.rate", "unsupported rate \(rate): use 24000 (or 16000)")
            }
            return RealtimeAudioFormat(encoding: .pcm16, rate: rate)
        case "audio/pcmu": return RealtimeAudioFormat(encoding: .muLaw, rate: 8_000)
        case "audio/pcma": return RealtimeAudioFormat(encoding: .aLaw, rate: 8_000)
        default:
            throw .invalidValue("session.audio.input.format.type", "unsupported audio format '\(type)': use audio/pcm, audio/pcmu or audio/pcma")
        }
    }

    /// The format named by the earlier `input_audio_format` string.
    public static func fromBeta(_ name: String) throws(RealtimeProtocolError) -> RealtimeAudioFormat {
        switch name {
        case "pcm16": return .pcm24k
        case "g711_ulaw": return RealtimeAudioFormat(encoding: .muLaw, rate: 8_000)
        case "g711_alaw": return RealtimeAudioFormat(encoding: .aLaw, rate: 8_000)
        default:
            throw .invalidValue("session.input_audio_format", "unsupported input_audio_format '\(name)': use pcm16, g711_ulaw or g711_alaw")
        }
    }

    /// Decodes encoded bytes to samples in [-1, 1] at ``rate``.
    /// - Throws: when PCM16 bytes are not a whole number of samples.
    public func samples(from bytes: [UInt8]) throws(RealtimeProtocolError) -> [Float] {
        switch encoding {
        case .pcm16:
            guard bytes.count % 2 == 0 else {
                throw .invalidValue("audio", "pcm16 audio must be a whole number of 2-byte samples, got \(bytes.count) bytes")
            }
            var samples = [Float](repeating: 0, count: bytes.count / 2)
            for index in samples.indices {
                let value = Int16(bitPattern: UInt16(bytes[2 * index]) | UInt16(bytes[2 * index + 1]) << 8)
                samples[index] = Float(value) / 32768
            }
            return samples
        case .muLaw:
            return bytes.map { Float(Self.muLawTable[Int($0)]) / 32768 }
        case .aLaw:
            return bytes.map { Float(Self.aLawTable[Int($0)]) / 32768 }
        }
    }

    /// G.711 µ-law expansion (ITU-T G.711), all 256 codes.
    static let muLawTable: [Int16] = (0..<256).map { code in
        let value = ~UInt8(code)
        let sign = value & 0x80
        let exponent = Int((value >> 4) & 0x07)
        let mantissa = Int(value & 0x0F)
        let magnitude = ((mantissa << 3) + 0x84) << exponent - 0x84
        return Int16(sign != 0 ? -magnitude : magnitude)
    }

    /// G.711 A-law expansion (ITU-T G.711), all 256 codes.
    static let aLawTable: [Int16] = (0..<256).map { code in
        let value = UInt8(code) ^ 0x55
        let sign = value & 0x80
        let exponent = Int((value >> 4) & 0x07)
        let mantissa = Int(value & 0x0F)
        let magnitude = exponent == 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1)
        return Int16(sign != 0 ? magnitude : -magnitude)
    }
}
