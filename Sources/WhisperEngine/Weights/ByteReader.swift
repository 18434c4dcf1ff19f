import Foundation
import WhisperTensor

/// Bounds-checked little-endian reads over a file's bytes; running past the end is a ``ModelLoadingError`` naming the file.
struct ByteReader {
    let data: Data
    let fileName: String
    var offset = 0

    init(data: Data, fileName: String) {
        self.data = data
        self.fileName = fileName
    }

    /// Reads a whole file, memory-mapped so that weights are paged in only as they are converted.
    init(mapping url: URL) throws(ModelLoadingError) {
        do {
            self.init(data: try Data(contentsOf: url, options: .alwaysMapped), fileName: url.lastPathComponent)
        } catch {
            throw ModelLoadingError(.missingFile, "\(url.lastPathComponent): cannot be read")
        }
    }

    /// Bytes left after the read position.
    var remaining: Int { data.count - offset }

    mutating func skip(_ count: Int) throws(ModelLoadingError) {
        guard count >= 0, count <= data.count - offset else {
            throw ModelLoadingError(.corrupt, "\(fileName): truncated at byte \(offset) (needs \(count) more, file has \(data.count))")
        }
        offset += count
    }

    mutating func u8() throws(ModelLoadingError) -> UInt8 {
        let start = offset
        try skip(1)
        return data[data.startIndex + start]
    }

    mutating func u16() throws(ModelLoadingError) -> UInt16 {
        let start = offset
        try skip(2)
        return data.withUnsafeBytes { UInt16(littleEndian: $0.loadUnaligned(fromByteOffset: start, as: UInt16.self)) }
    }

    mutating func u32() throws(ModelLoadingError) -> UInt32 {
        let start = offset
        try skip(4)
        return data.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: start, as: UInt32.self)) }
    }

    mutating func i32() throws(ModelLoadingError) -> Int {
        Int(Int32(bitPattern: try u32()))
    }

    mutating func u64() throws(ModelLoadingError) -> UInt64 {
        let start = offset
        try skip(8)
        return data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: start, as: UInt64.self)) }
    }

    /// `count` raw bytes.
    mutating func bytes(_ count: Int) throws(ModelLoadingError) -> Data {
        let start = offset
        try skip(count)
        return data[(data.startIndex + start)..<(data.startIndex + start + count)]
    }

    /// A CTranslate2 string: `u16` length including a trailing NUL, then the bytes.
    mutating func string() throws(ModelLoadingError) -> String {
        let length = Int(try u16())
        let bytes = try bytes(length)
        return String(decoding: bytes.prefix(max(0, length - 1)), as: UTF8.self)
    }
}

/// Little-endian number decoding shared by the weight formats.
enum RawNumbers {
    /// The number of elements of `shape` (times `scale`), or `nil` when an extent is negative or the product overflows,
    /// as a corrupt header's would.
    static func elementCount(_ shape: [Int], times scale: Int = 1) -> Int? {
        var count = scale
        for extent in shape {
            guard extent >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: extent)
            if overflow { return nil }
            count = product
        }
        return count
    }

    /// Widens IEEE half-precision bits.
    static func half(_ bits: UInt16) -> Float { Float(Float16(bitPattern: bits)) }

    /// Widens bfloat16 bits (the upper half of a `Float`).
    static func bfloat(_ bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) }

    /// `count` little-endian values of a plain element type, widened to `Float`.
    static func floats(_ source: UnsafeRawBufferPointer, count: Int, element: PlainElement) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { out, initialised in
            switch element {
            case .float32:
                for i in 0..<count { out[i] = Float(bitPattern: UInt32(littleEndian: source.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))) }
            case .float16:
                // F16C conversion, eight values per instruction, at any alignment (the files are little-endian, as
                // are x86 and arm64).
                if let base = source.baseAddress, count > 0 {
                    MatrixVector.widen(halfPrecisionBytes: base, count: count, into: out.baseAddress!)
                }
            case .bfloat16:
                for i in 0..<count { out[i] = bfloat(UInt16(littleEndian: source.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))) }
            }
            initialised = count
        }
    }

    /// Floating-point element types stored as-is by every format.
    enum PlainElement {
        case float32, float16, bfloat16

        var size: Int { self == .float32 ? 4 : 2 }
    }
}
