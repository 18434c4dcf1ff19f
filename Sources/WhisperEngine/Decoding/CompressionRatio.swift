internal import CZlib

/// How repetitive a text is: its UTF-8 size divided by its zlib-compressed size (as the reference computes it).
enum CompressionRatio {
    static func of(_ text: String) -> Double {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { return 0 }
        var capacity = compressBound(uLong(bytes.count))
        var compressed = [UInt8](repeating: 0, count: Int(capacity))
        let status = compress2(&compressed, &capacity, bytes, uLong(bytes.count), Z_DEFAULT_COMPRESSION)
        guard status == Z_OK, capacity > 0 else { return 0 }
        return Double(bytes.count) / Double(capacity)
    }
}
