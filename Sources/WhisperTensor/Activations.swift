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

    /// The largest of `count` values (−∞ for none).
    public static func maximum(_ values: UnsafeMutablePointer<Float>, count: Int) -> Float {
        VectorMath.maximum(values, count: count)
    }

    /// The index of the first of the largest of `count` values (0 when all are −∞ or there are none).
    public static func argmax(_ values: UnsafePointer<Float>, count: Int) -> Int {
        let maximum = VectorMath.maximum(values, count: count)
        for i in 0..<count where values[i] == maximum { return i }
        return 0
    }

    /// `log Σ exp(values[i])` over `count` values, computed from the maximum (−∞ when all are −∞); a value minus it
    /// is that value's log-probability under the softmax.
    public static func logSumExp(_ values: UnsafePointer<Float>, count: Int) -> Float {
        let maximum = VectorMath.maximum(values, count: count)
        guard maximum > -.infinity else { return -.infinity }
        // Not storing: the values are only read.
        let sum = VectorMath.sumOfExponentials(UnsafeMutablePointer(mutating: values), count: count, shift: maximum, storing: false)
        return maximum + logf(sum)
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
