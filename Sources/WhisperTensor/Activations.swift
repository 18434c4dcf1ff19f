import Foundation

/// Element-wise and row-wise functions used by the transformer, vectorised (see ``VectorMath``).
public enum Activations {
    /// GELU, `x · Φ(x) = 0.5 · x · (1 + erf(x / √2))`, in place (erf to within 2e-7).
    public static func gelu(_ values: UnsafeMutableBufferPointer<Float>) {
        guard let x = values.baseAddress else { return }
        VectorMath.gelu(x, count: values.count)
    }

    /// Softmax of each of `rows` rows of `width` values (row stride `stride`), in place, subtracting the row maximum first.
    /// With `sums`, the rows are left unnormalised, `e^(x − max)`, and each row's sum is written to `sums[row]`: for
    /// callers that divide a smaller result by the sums instead.
    public static func softmax(
        _ values: UnsafeMutablePointer<Float>, rows: Int, width: Int, stride: Int? = nil,
        unnormalisedSums sums: UnsafeMutablePointer<Float>? = nil
    ) {
        VectorMath.softmax(values, rows: rows, width: width, stride: stride ?? width, sums: sums)
    }

    /// Log-softmax of one row, in place; returns the log of the normaliser.
    @discardableResult
    public static func logSoftmax(_ values: UnsafeMutableBufferPointer<Float>) -> Float {
        guard let x = values.baseAddress else { return 0 }
        let maximum = VectorMath.maximum(x, count: values.count)
        let logNormaliser = maximum + logf(VectorMath.sumOfExponentials(x, count: values.count, shift: maximum, storing: false))
        VectorMath.scale(x, count: values.count, by: 1, adding: -logNormaliser)
        return logNormaliser
    }

    /// The largest of `count` values (−∞ for none).
    public static func maximum(_ values: UnsafeMutablePointer<Float>, count: Int) -> Float {
        VectorMath.maximum(values, count: count)
    }

    /// `log Σ exp(values[i])` over `count` values, computed from the maximum (−∞ when all are −∞).
    public static func logSumExp(_ values: UnsafeMutablePointer<Float>, count: Int) -> Float {
        let maximum = VectorMath.maximum(values, count: count)
        guard maximum > -.infinity else { return -.infinity }
        return maximum + logf(VectorMath.sumOfExponentials(values, count: count, shift: maximum, storing: false))
    }

    /// `target[i] += source[i]` for `count` values.
    public static func add(_ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>, count: Int) {
        var j = 0
        while j + laneCount <= count {
            target.store(target.lanes(at: j) + source.lanes(at: j), at: j)
            j += laneCount
        }
        while j < count {
            target[j] += source[j]
            j += 1
        }
    }
}
