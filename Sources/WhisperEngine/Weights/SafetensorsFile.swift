import Foundation

/// A `.safetensors` file: `u64` header length, a JSON header mapping each tensor name to its `dtype`, `shape` and
/// `data_offsets` (relative to the end of the header), then the data. F32, F16 and BF16 tensors are read.
struct SafetensorsFile: RawTensorFile {
    /// One stored tensor.
    struct Tensor {
        let shape: [Int]
        let element: RawNumbers.PlainElement
        /// Byte range of the data in the file.
        let range: Range<Int>
    }

    let fileName: String
    private let tensors: [String: Tensor]
    private let data: Data

    /// Headers larger than this are not plausible for a Whisper checkpoint.
    private static let largestHeader = 64 << 20

    /// Parses the header; tensor data stays in the (memory-mapped) file until asked for.
    init(url: URL) throws(ModelLoadingError) {
        var reader = try ByteReader(mapping: url)
        fileName = reader.fileName
        data = reader.data
        let entries = try Self.readHeader(&reader)
        let dataStart = reader.offset
        var tensors: [String: Tensor] = [:]
        for (name, entry) in entries {
            guard let element = Self.element(entry.dtype) else {
                throw ModelLoadingError(.unsupported, "\(fileName): tensor \(name) is \(entry.dtype) (F32, F16 and BF16 are supported)")
            }
            guard let bytes = RawNumbers.elementCount(entry.shape, times: element.size), entry.offsets.count == 2,
                entry.offsets[0] >= 0, entry.offsets[1] - entry.offsets[0] == bytes
            else {
                throw ModelLoadingError(.corrupt, "\(fileName): tensor \(name) has offsets \(entry.offsets) for shape \(entry.shape)")
            }
            guard entry.offsets[1] <= data.count - dataStart else {
                throw ModelLoadingError(.corrupt, "\(fileName): truncated: tensor \(name) ends past the end of the file")
            }
            tensors[name] = Tensor(shape: entry.shape, element: element, range: (dataStart + entry.offsets[0])..<(dataStart + entry.offsets[1]))
        }
        self.tensors = tensors
    }

    /// The format name of a safetensors file from its header alone, e.g. `"safetensors-bf16"` (the token
    /// embedding's type, or the commonest), or `nil` when the header cannot be read.
    static func formatName(of url: URL) -> String? {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return nil }
        defer { try? handle.close() }
        guard let lengthBytes = try? handle.read(upToCount: 8), lengthBytes.count == 8 else { return nil }
        let length = lengthBytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard length <= UInt64(largestHeader), let header = try? handle.read(upToCount: Int(length)) else { return nil }
        var reader = ByteReader(data: lengthBytes + header, fileName: url.lastPathComponent)
        guard let entries = try? readHeader(&reader) else { return nil }
        let dtype = entries["model.decoder.embed_tokens.weight"]?.dtype
            ?? Dictionary(grouping: entries.values, by: \.dtype).max { $0.value.count < $1.value.count }?.key
        return dtype.map { "safetensors-\($0.lowercased())" }
    }

    private struct HeaderEntry {
        let dtype: String
        let shape: [Int]
        let offsets: [Int]
    }

    private static func readHeader(_ reader: inout ByteReader) throws(ModelLoadingError) -> [String: HeaderEntry] {
        let length = try reader.u64()
        guard length <= UInt64(largestHeader) else {
            throw ModelLoadingError(.corrupt, "\(reader.fileName): header length \(length) is not plausible")
        }
        let header = try reader.bytes(Int(length))
        guard let object = try? JSONSerialization.jsonObject(with: header) as? [String: Any] else {
            throw ModelLoadingError(.corrupt, "\(reader.fileName): header is not a JSON object")
        }
        var entries: [String: HeaderEntry] = [:]
        for (name, value) in object where name != "__metadata__" {
            guard let fields = value as? [String: Any], let dtype = fields["dtype"] as? String, let shape = fields["shape"] as? [Int],
                let offsets = fields["data_offsets"] as? [Int]
            else {
                throw ModelLoadingError(.corrupt, "\(reader.fileName): header entry \(name) is malformed")
            }
            entries[name] = HeaderEntry(dtype: dtype, shape: shape, offsets: offsets)
        }
        return entries
    }

    private static func element(_ dtype: String) -> RawNumbers.PlainElement? {
        switch dtype {
        case "F32": .float32
        case "F16": .float16
        case "BF16": .bfloat16
        default: nil
        }
    }

    func rawShape(_ name: String) -> [Int]? { tensors[name]?.shape }

    func rawFloats(_ name: String) throws(ModelLoadingError) -> [Float] {
        guard let tensor = tensors[name] else {
            throw ModelLoadingError(.corrupt, "\(fileName): tensor \(name) is missing")
        }
        return data.withUnsafeBytes { raw in
            RawNumbers.floats(UnsafeRawBufferPointer(rebasing: raw[tensor.range]), count: tensor.shape.reduce(1, *), element: tensor.element)
        }
    }
}
