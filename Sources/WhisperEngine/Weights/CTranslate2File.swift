import Foundation

/// A parsed CTranslate2 `model.bin`: named variables with shapes and typed raw data.
///
/// Format (version 6, little-endian): `u32 version`, `string spec`, `u32 revision`, `u32 count`, then per variable
/// `string name`, `u8 rank`, `u32 dims[rank]`, `u8 dtype`, `u32 bytes`, data; then `u32 aliases` and pairs of strings.
/// Strings are `u16 length` (with the trailing NUL) and bytes.
struct CTranslate2File: TensorSource {
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
    let fileName: String

    static let supportedVersions: ClosedRange<UInt32> = 5...6

    /// Parses the file's index; variable data stays in the (memory-mapped) file until asked for.
    init(url: URL) throws(ModelLoadingError) {
        var reader = try ByteReader(mapping: url)
        fileName = reader.fileName
        data = reader.data
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
            guard byteCount == RawNumbers.elementCount(shape, times: type.size) else {
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
    func floats(_ name: String) throws(ModelLoadingError) -> [Float] {
        let variable = try variable(name)
        let count = variable.count
        var result = data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> [Float] in
            let source = UnsafeRawBufferPointer(rebasing: raw[variable.range])
            switch variable.type {
            case .float32: return RawNumbers.floats(source, count: count, element: .float32)
            case .float16: return RawNumbers.floats(source, count: count, element: .float16)
            case .bfloat16: return RawNumbers.floats(source, count: count, element: .bfloat16)
            case .int8: return (0..<count).map { Float(source.load(fromByteOffset: $0, as: Int8.self)) }
            case .int16:
                return (0..<count).map { Float(Int16(littleEndian: source.loadUnaligned(fromByteOffset: $0 * 2, as: Int16.self))) }
            case .int32:
                return (0..<count).map { Float(Int32(littleEndian: source.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self))) }
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
