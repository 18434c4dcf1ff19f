import Dispatch

/// A row-major matrix of `Float` with its own storage: `rows × columns` contiguous values.
public struct Tensor: Sendable {
    /// Number of rows.
    public let rows: Int
    /// Number of columns (the row stride).
    public let columns: Int
    /// The values, row after row.
    public var storage: [Float]

    /// A tensor of zeros.
    public init(rows: Int, columns: Int) {
        self.rows = rows
        self.columns = columns
        self.storage = [Float](repeating: 0, count: rows * columns)
    }

    /// A tensor whose values are left as the allocator gives them, for results that write every value before any is
    /// read (products, normalisations): a zero-filled 1,500 × 1,536 activation is a 9 MB pass of its own.
    public init(uninitializedRows rows: Int, columns: Int) {
        self.rows = rows
        self.columns = columns
        self.storage = [Float](unsafeUninitializedCapacity: rows * columns) { _, count in count = rows * columns }
    }

    /// A tensor over existing values; `values.count` must be `rows × columns`.
    public init(rows: Int, columns: Int, values: [Float]) {
        precondition(values.count == rows * columns, "tensor shape does not match its values")
        self.rows = rows
        self.columns = columns
        self.storage = values
    }

    /// The value at `row`, `column`.
    @inlinable
    public subscript(row: Int, column: Int) -> Float {
        get { storage[row * columns + column] }
        set { storage[row * columns + column] = newValue }
    }
}

extension Tensor {
    /// Applies exact GELU to every value, in place.
    public mutating func applyGELU() {
        storage.withUnsafeMutableBufferPointer { values in
            let parts = values.count >= Self.parallelElements ? Matrix.threadCount : 1
            guard parts > 1 else { return Activations.gelu(values) }
            // Chunks of whole vectors, so every element takes the same path as in one pass.
            let chunk = (values.count / parts + 15) & ~15
            nonisolated(unsafe) let base = values.baseAddress!
            let count = values.count
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                let start = min(count, part * chunk)
                Activations.gelu(UnsafeMutableBufferPointer(start: base + start, count: min(count, start + chunk) - start))
            }
        }
    }

    /// Elements from which element-wise functions are split between threads.
    static let parallelElements = 1 << 18
}
