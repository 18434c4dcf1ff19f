import Foundation

/// A whisper.cpp model file in the legacy ggml format.
///
/// Layout (little-endian): `u32 magic 0x67676d6c` ("lmgg" on disk), eleven `i32` hyper-parameters (`n_vocab`,
/// `n_audio_ctx`, `n_audio_state`, `n_audio_head`, `n_audio_layer`, `n_text_ctx`, `n_text_state`, `n_text_head`,
/// `n_text_layer`, `n_mels`, `ftype`), the mel filters (`i32 n_mel`, `i32 n_fft`, `n_mel·n_fft` f32), the vocabulary
/// (`i32 count`, then `u32 length` and raw bytes per token, special tokens left out), then tensors to the end of the
/// file: `i32 n_dims`, `i32 name length`, `i32 type`, `n_dims` `i32` extents innermost first, the name, the data.
/// Quantised types store blocks of 32 values along the innermost extent (ggml's `block_q8_0`, `block_q5_0`,
/// `block_q5_1`); they are dequantised to `Float` when read.
struct GGMLFile: RawTensorFile {
    /// `"ggml"` as a little-endian `u32`.
    static let magic: UInt32 = 0x6767_6d6c

    /// The header's hyper-parameters, as whisper.cpp names them.
    struct HyperParameters: Sendable, Equatable {
        var vocabularySize: Int
        var audioContext: Int
        var audioWidth: Int
        var audioHeads: Int
        var audioLayers: Int
        var textContext: Int
        var textWidth: Int
        var textHeads: Int
        var textLayers: Int
        var melBins: Int
        /// ggml's file type plus 1000 × the quantisation version (`2008` is q5_0, version 2).
        var fileType: Int

        /// The format name for ``ModelInfo/format``, e.g. `"ggml-q5_1"`, or `nil` for a file type this engine cannot read.
        var formatName: String? {
            switch fileType % 1000 {
            case 0: "ggml-f32"
            case 1: "ggml-f16"
            case 7: "ggml-q8_0"
            case 8: "ggml-q5_0"
            case 9: "ggml-q5_1"
            default: nil
            }
        }
    }

    /// ggml's tensor types this reader dequantises.
    enum TensorType: Int {
        case float32 = 0, float16 = 1, q5_0 = 6, q5_1 = 7, q8_0 = 8

        /// Values per block.
        var blockValues: Int { self == .float32 || self == .float16 ? 1 : 32 }

        /// Bytes per block: q8_0 is an f16 scale and 32 `i8`; q5_0 an f16 scale, 32 high bits and 16 bytes of nibbles;
        /// q5_1 adds an f16 minimum.
        var blockBytes: Int {
            switch self {
            case .float32: 4
            case .float16: 2
            case .q8_0: 34
            case .q5_0: 22
            case .q5_1: 24
            }
        }
    }

    /// One stored tensor.
    struct Tensor {
        /// Outermost extent first, extents of 1 dropped (whisper.cpp stores conv biases as `n × 1`).
        let shape: [Int]
        let count: Int
        let type: TensorType
        /// Byte range of the data in the file.
        let range: Range<Int>
    }

    let fileName: String
    let hyper: HyperParameters
    /// Token bytes as stored, ordinary tokens only.
    let vocabulary: [Data]
    private let tensors: [String: Tensor]
    private let data: Data

    /// Upper bound on any hyper-parameter, so a corrupt header cannot ask for absurd allocations.
    private static let largestHyperParameter = 1 << 20

    /// Parses the file's header, vocabulary and tensor index; tensor data stays in the (memory-mapped) file.
    init(url: URL) throws(ModelLoadingError) {
        var reader = try ByteReader(mapping: url)
        fileName = reader.fileName
        data = reader.data
        hyper = try Self.readHeader(&reader)
        guard hyper.formatName != nil else {
            throw ModelLoadingError(.unsupported, "\(fileName): ggml file type \(hyper.fileType % 1000) is not supported (f32, f16, q8_0, q5_0, q5_1 are)")
        }
        let melBins = try reader.i32()
        let frequencies = try reader.i32()
        guard (0...Self.largestHyperParameter).contains(melBins), (0...Self.largestHyperParameter).contains(frequencies) else {
            throw ModelLoadingError(.corrupt, "\(fileName): mel filter bank of \(melBins)×\(frequencies) is not plausible")
        }
        try reader.skip(melBins * frequencies * 4)
        let tokenCount = try reader.i32()
        guard (0...Self.largestHyperParameter).contains(tokenCount) else {
            throw ModelLoadingError(.corrupt, "\(fileName): vocabulary of \(tokenCount) tokens is not plausible")
        }
        var vocabulary: [Data] = []
        vocabulary.reserveCapacity(tokenCount)
        for _ in 0..<tokenCount {
            vocabulary.append(try reader.bytes(Int(try reader.u32())))
        }
        self.vocabulary = vocabulary
        tensors = try Self.readTensors(&reader, fileName: fileName)
    }

    /// Whether the file starts with ggml's magic number.
    static func hasMagic(_ url: URL) -> Bool {
        guard let bytes = prefix(of: url, count: 4), bytes.count == 4 else { return false }
        return bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) } == magic
    }

    /// The hyper-parameters of a ggml file, reading only its first 48 bytes; `nil` when they cannot be read.
    static func header(of url: URL) -> HyperParameters? {
        guard let bytes = prefix(of: url, count: 48) else { return nil }
        var reader = ByteReader(data: bytes, fileName: url.lastPathComponent)
        return try? readHeader(&reader)
    }

    private static func prefix(of url: URL, count: Int) -> Data? {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return nil }
        defer { try? handle.close() }
        return try? handle.read(upToCount: count)
    }

    private static func readHeader(_ reader: inout ByteReader) throws(ModelLoadingError) -> HyperParameters {
        let magic = try reader.u32()
        guard magic == Self.magic else {
            throw ModelLoadingError(.unsupported, "\(reader.fileName): not a ggml file (magic 0x\(String(magic, radix: 16)))")
        }
        var values: [Int] = []
        for _ in 0..<11 { values.append(try reader.i32()) }
        guard values[0..<10].allSatisfy({ (1...largestHyperParameter).contains($0) }), values[10] >= 0 else {
            throw ModelLoadingError(.corrupt, "\(reader.fileName): implausible hyper-parameters \(values)")
        }
        return HyperParameters(
            vocabularySize: values[0], audioContext: values[1], audioWidth: values[2], audioHeads: values[3],
            audioLayers: values[4], textContext: values[5], textWidth: values[6], textHeads: values[7],
            textLayers: values[8], melBins: values[9], fileType: values[10])
    }

    private static func readTensors(_ reader: inout ByteReader, fileName: String) throws(ModelLoadingError) -> [String: Tensor] {
        var tensors: [String: Tensor] = [:]
        while reader.remaining > 0 {
            let rank = try reader.i32()
            let nameLength = try reader.i32()
            let rawType = try reader.i32()
            guard (1...4).contains(rank), (1...4096).contains(nameLength) else {
                throw ModelLoadingError(.corrupt, "\(fileName): tensor header at byte \(reader.offset - 12) is malformed")
            }
            var extents: [Int] = []
            for _ in 0..<rank { extents.append(try reader.i32()) }
            let name = String(decoding: try reader.bytes(nameLength), as: UTF8.self)
            guard let type = TensorType(rawValue: rawType) else {
                throw ModelLoadingError(.unsupported, "\(fileName): tensor \(name) has ggml type \(rawType), which is not supported")
            }
            // Counted as f32 bytes so that every type's byte size is known not to overflow.
            guard extents.allSatisfy({ $0 >= 1 }), let floatBytes = RawNumbers.elementCount(extents, times: 4) else {
                throw ModelLoadingError(.corrupt, "\(fileName): tensor \(name) has extents \(extents)")
            }
            let count = floatBytes / 4
            guard extents[0] % type.blockValues == 0 else {
                throw ModelLoadingError(.corrupt, "\(fileName): tensor \(name) rows of \(extents[0]) do not fill \(type) blocks")
            }
            let start = reader.offset
            try reader.skip(count / type.blockValues * type.blockBytes)
            let shape = extents.reversed().filter { $0 != 1 }
            tensors[name] = Tensor(shape: shape.isEmpty ? [1] : shape, count: count, type: type, range: start..<reader.offset)
        }
        return tensors
    }

    func rawShape(_ name: String) -> [Int]? { tensors[name]?.shape }

    func rawFloats(_ name: String) throws(ModelLoadingError) -> [Float] {
        guard let tensor = tensors[name] else {
            throw ModelLoadingError(.corrupt, "\(fileName): tensor \(name) is missing")
        }
        return data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> [Float] in
            let source = UnsafeRawBufferPointer(rebasing: raw[tensor.range])
            switch tensor.type {
            case .float32: return RawNumbers.floats(source, count: tensor.count, element: .float32)
            case .float16: return RawNumbers.floats(source, count: tensor.count, element: .float16)
            case .q8_0, .q5_0, .q5_1: return Self.dequantise(source, count: tensor.count, type: tensor.type)
            }
        }
    }

    /// Expands quantised blocks as ggml's `dequantize_row_*` do.
    private static func dequantise(_ source: UnsafeRawBufferPointer, count: Int, type: TensorType) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { out, initialised in
            func half(_ offset: Int) -> Float { RawNumbers.half(UInt16(littleEndian: source.loadUnaligned(fromByteOffset: offset, as: UInt16.self))) }
            for block in 0..<(count / 32) {
                let base = block * type.blockBytes
                let values = block * 32
                switch type {
                case .q8_0:
                    let scale = half(base)
                    for j in 0..<32 { out[values + j] = Float(source.load(fromByteOffset: base + 2 + j, as: Int8.self)) * scale }
                case .q5_0, .q5_1:
                    // Low four bits of value j in nibble j (first half) or j−16 (second half); fifth bit j in `qh`.
                    let scale = half(base)
                    let minimum = type == .q5_1 ? half(base + 2) : 0
                    let bitsOffset = type == .q5_1 ? base + 4 : base + 2
                    let high = UInt32(littleEndian: source.loadUnaligned(fromByteOffset: bitsOffset, as: UInt32.self))
                    let offset: Int32 = type == .q5_1 ? 0 : 16
                    for j in 0..<16 {
                        let nibbles = source[bitsOffset + 4 + j]
                        let low = Int32(nibbles & 0x0F) | Int32((high >> UInt32(j)) & 1) << 4
                        let upper = Int32(nibbles >> 4) | Int32((high >> UInt32(j + 16)) & 1) << 4
                        out[values + j] = Float(low - offset) * scale + minimum
                        out[values + j + 16] = Float(upper - offset) * scale + minimum
                    }
                case .float32, .float16:
                    break
                }
            }
            initialised = count
        }
    }
}
