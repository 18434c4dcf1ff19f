/// Signal comparison for decoded audio.
enum Signal {
    /// The highest normalised cross-correlation of `a` and `b` over lags (in samples) within `maxLag`, where
    /// `lag` > 0 means `b` is late. Most decoders compensate codec delay, so lags near zero are tried first;
    /// only when they correlate poorly does a coarse search (every 8th sample, lags in steps of 4) find the
    /// peak for a fine search to refine.
    static func bestCorrelation(_ a: [Float], _ b: [Float], maxLag: Int = 2400) -> (value: Double, lag: Int) {
        let nearZero = fineSearch(a, b, around: 0, radius: 16)
        guard nearZero.value < 0.99 else { return nearZero }
        var coarse = (value: -2.0, lag: 0)
        for lag in stride(from: -maxLag, through: maxLag, by: 4) {
            let value = correlation(a, b, lag: lag, step: 8)
            if value > coarse.value { coarse = (value, lag) }
        }
        let refined = fineSearch(a, b, around: coarse.lag, radius: 4)
        return refined.value > nearZero.value ? refined : nearZero
    }

    private static func fineSearch(_ a: [Float], _ b: [Float], around center: Int, radius: Int) -> (value: Double, lag: Int) {
        var best = (value: -2.0, lag: center)
        for lag in center - radius...center + radius {
            let value = correlation(a, b, lag: lag, step: 1)
            if value > best.value { best = (value, lag) }
        }
        return best
    }

    /// The normalised correlation of `a[i]` with `b[i + lag]` over their overlap, using every `step`th sample.
    static func correlation(_ a: [Float], _ b: [Float], lag: Int, step: Int) -> Double {
        let start = max(0, -lag)
        let end = min(a.count, b.count - lag)
        guard end - start > 16 else { return 0 }
        var product = 0.0
        var energyA = 0.0
        var energyB = 0.0
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                for index in stride(from: start, to: end, by: step) {
                    let x = Double(a[index])
                    let y = Double(b[index + lag])
                    product += x * y
                    energyA += x * x
                    energyB += y * y
                }
            }
        }
        guard energyA > 0, energyB > 0 else { return 0 }
        return product / (energyA * energyB).squareRoot()
    }

    static func peak(_ samples: [Float]) -> Float {
        samples.reduce(0) { max($0, abs($1)) }
    }
}
