import Foundation

/// A parsed CTranslate2 `model.bin`: named variables with shapes and typed raw data.
///
/// Format (version 6, little-endian): `u32 version`, `string spec`, `u32 revision`, `u32 count`, then per variable
/// `string name`, `u8 rank`, `u32 dims[rank]`, `u8 dtype`, `u32 bytes`, data; then `u32 aliases` and pairs of strings.
/// Strings are `u16 length` (with the trailing NUL) and bytes.
struct CTranslate2File {
    /// CTranslate2's data types.
    enum DataType: UInt8 {
        case float32 = 0, int8 = 1, int16 = 2, int32 = 3, float16 = 4, bfloat16 = 5

        var size: Int {
            switch self {
            case .float32, .int32: 4
            case .int8: 1
            case .int16, .float16, .bfloat16: 2
            }
        }
    }

    /// One stored variable.
    struct Variable {
        let shape: [Int]
        let type: DataType
        /// Byte range of the data in the file.
        let range: Range<Int>

        var count: Int { shape.reduce(1, *) }
    }

    let specName: String
    let specRevision: Int
    private(set) var variables: [String: Variable] = [:]
    private let data: Data
    private let fileName: String

    static let supportedVersions: ClosedRange<UInt32> = 5...6

    /// Parses the file's index; variable data stays in the (memory-mapped) file until asked for.
    init(url: URL) throws(ModelLoadingError) {
        fileName = url.lastPathComponent
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw ModelLoadingError(.missingFile, "\(url.lastPathComponent): cannot be read")
        }
        var reader = ByteReader(data: data, fileName: fileName)
        let version = try reader.u32()
        guard Self.supportedVersions.contains(version) else {
            throw ModelLoadingError(.unsupported, "\(fileName): CTranslate2 binary version \(version) is not supported (5–6 are)")
        }
        specName = try reader.string()
        specRevision = Int(try reader.u32())
        guard specName == "WhisperSpec" else {
            throw ModelLoadingError(.unsupported, "\(fileName): holds a \(specName), not a Whisper model")
        }
        let count = try reader.u32()
        for _ in 0..<count {
            let name = try reader.string()
            let rank = Int(try reader.u8())
            var shape: [Int] = []
            for _ in 0..<rank { shape.append(Int(try reader.u32())) }
            let rawType = try reader.u8()
            guard let type = DataType(rawValue: rawType) else {
                throw ModelLoadingError(.unsupported, "\(fileName): variable \(name) has unknown data type \(rawType)")
            }
            let byteCount = Int(try reader.u32())
            guard byteCount == shape.reduce(1, *) * type.size else {
                throw ModelLoadingError(.corrupt, "\(fileName): variable \(name) has \(byteCount) bytes for shape \(shape)")
            }
            let start = reader.offset
            try reader.skip(byteCount)
            variables[name] = Variable(shape: shape, type: type, range: start..<start + byteCount)
        }
        let aliasCount = try reader.u32()
        for _ in 0..<aliasCount {
            let alias = try reader.string()
            let target = try reader.string()
            guard let variable = variables[target] else {
                throw ModelLoadingError(.corrupt, "\(fileName): alias \(alias) points to missing \(target)")
            }
            variables[alias] = variable
        }
    }

    /// The variable's shape, or an error naming it when missing.
    func shape(_ name: String) throws(ModelLoadingError) -> [Int] {
        try variable(name).shape
    }

    /// Whether a variable exists.
    func contains(_ name: String) -> Bool { variables[name] != nil }

    /// The variable as `Float`s (float16/bfloat16 widened, int8 dequantised with its `…_scale` companion).
    func floats(_ name: String, shape expected: [Int]? = nil) throws(ModelLoadingError) -> [Float] {
        let variable = try variable(name)
        if let expected, expected != variable.shape {
            throw ModelLoadingError(.corrupt, "\(fileName): \(name) has shape \(variable.shape), expected \(expected)")
        }
        let count = variable.count
        var result = [Float](repeating: 0, count: count)
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let source = UnsafeRawBufferPointer(rebasing: raw[variable.range])
            result.withUnsafeMutableBufferPointer { out in
                switch variable.type {
                case .float32:
                    for i in 0..<count { out[i] = Float(bitPattern: UInt32(littleEndian: source.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))) }
                case .float16:
                    for i in 0..<count {
                        let bits = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))
                        out[i] = Float(Float16(bitPattern: bits))
                    }
                case .bfloat16:
                    for i in 0..<count {
                        let bits = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))
                        out[i] = Float(bitPattern: UInt32(bits) << 16)
                    }
                case .int8:
                    for i in 0..<count { out[i] = Float(source.load(fromByteOffset: i, as: Int8.self)) }
                case .int16:
                    for i in 0..<count { out[i] = Float(Int16(littleEndian: source.loadUnaligned(fromByteOffset: i * 2, as: Int16.self))) }
                case .int32:
                    for i in 0..<count { out[i] = Float(Int32(littleEndian: source.loadUnaligned(fromByteOffset: i * 4, as: Int32.self))) }
                }
            }
        }
        if variable.type == .int8, contains(name + "_scale") {
            try dequantise(&result, name: name, shape: variable.shape)
        }
        return result
    }

    /// An integer scalar (such as `encoder/num_heads`).
    func integer(_ name: String) throws(ModelLoadingError) -> Int {
        let values = try floats(name)
        guard values.count == 1 else {
            throw ModelLoadingError(.corrupt, "\(fileName): \(name) is not a scalar")
        }
        return Int(values[0])
    }

    private func variable(_ name: String) throws(ModelLoadingError) -> Variable {
        guard let variable = variables[name] else {
            throw ModelLoadingError(.corrupt, "\(fileName): variable \(name) is missing")
        }
        return variable
    }

    /// int8 rows are stored as `round(w · scale)`, with one scale per output row in `<name>_scale`.
    private func dequantise(_ values: inout [Float], name: String, shape: [Int]) throws(ModelLoadingError) {
        let scales = try floats(name + "_scale")
        guard let rows = shape.first, rows > 0, scales.count == rows || scales.count == 1 else {
            throw ModelLoadingError(.corrupt, "\(fileName): \(name)_scale does not match \(name)")
        }
        let width = values.count / rows
        for row in 0..<rows {
            let inverse = 1 / scales[scales.count == 1 ? 0 : row]
            for j in 0..<width { values[row * width + j] *= inverse }
        }
    }
}

/// Bounds-checked little-endian reads over a file's bytes.
private struct ByteReader {
    let data: Data
    let fileName: String
    var offset = 0

    init(data: Data, fileName: String) {
        self.data = data
        self.fileName = fileName
    }

    mutating func skip(_ count: Int) throws(ModelLoadingError) {
        guard count >= 0, offset + count <= data.count else {
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

    mutating func string() throws(ModelLoadingError) -> String {
        let length = Int(try u16())
        let start = offset
        try skip(length)
        let bytes = data[(data.startIndex + start)..<(data.startIndex + start + max(0, length - 1))]
        return String(decoding: bytes, as: UTF8.self)
    }
}
