import Foundation

/// Element-wise and row-wise functions used by the transformer.
public enum Activations {
    /// Exact GELU, `x · Φ(x) = 0.5 · x · (1 + erf(x / √2))`, in place.
    public static func gelu(_ values: UnsafeMutableBufferPointer<Float>) {
        let inverseRoot2: Float = 0.70710678118654752
        for i in values.indices {
            let x = values[i]
            values[i] = 0.5 * x * (1 + erf(x * inverseRoot2))
        }
    }

    /// Softmax of each of `rows` rows of `width` values (row stride `stride`), in place, subtracting the row maximum first.
    public static func softmax(_ values: UnsafeMutablePointer<Float>, rows: Int, width: Int, stride: Int? = nil) {
        let stride = stride ?? width
        for row in 0..<rows {
            let x = values + row * stride
            var maximum = -Float.infinity
            for j in 0..<width where x[j] > maximum { maximum = x[j] }
            var sum: Float = 0
            for j in 0..<width {
                let e = expf(x[j] - maximum)
                x[j] = e
                sum += e
            }
            let inverse = 1 / sum
            for j in 0..<width { x[j] *= inverse }
        }
    }

    /// Log-softmax of one row, in place; returns the log of the normaliser.
    @discardableResult
    public static func logSoftmax(_ values: UnsafeMutableBufferPointer<Float>) -> Float {
        var maximum = -Float.infinity
        for x in values where x > maximum { maximum = x }
        var sum: Float = 0
        for x in values { sum += expf(x - maximum) }
        let logNormaliser = maximum + logf(sum)
        for i in values.indices { values[i] -= logNormaliser }
        return logNormaliser
    }

    /// `target[i] += source[i]` for `count` values.
    public static func add(_ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { target[i] += source[i] }
    }
}
