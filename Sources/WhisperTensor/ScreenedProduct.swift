/// A bandwidth-bound product of which only the largest outputs must be exact, such as a vocabulary's logits when the
/// next token is the most likely one: every output is first computed from an 8-bit copy of the weights (half the bytes
/// of half precision), then those that could be the largest are recomputed from the layer's own weights.
///
/// An 8-bit weight is off by at most half its row's scale `s`, so an approximate output is within `s/2 · Σ|x|` of the
/// exact one. Where the CPU has AVX512-VNNI (``VNNIWeights``), the input rows are rounded to 8 bits too, each value by
/// at most `e`, which adds `s · e · Σ|q|` (`q` the row's 8-bit weights). Every output whose upper bound reaches the
/// largest lower bound is recomputed with the same kernel as the full product: the largest output is exact, bit for
/// bit. The others keep their approximation (within their bound of the exact value).
public struct ScreenedProduct: Sendable {
    /// The layer, whose weights give the exact outputs.
    public let exact: Linear
    /// The 8-bit copy: `q = round(w / s)` per weight, row-major or interleaved for VNNI.
    private let screen: Screen
    /// The scale `s` of each output row (``Linear/quantizedToInt8()``).
    private let scales: [Float]
    /// `Σ|q|` of each output row: how far rounding the inputs by one unit can move its sum.
    private let magnitudes: [Float]

    private enum Screen: Sendable {
        /// Row-major, for the AVX-512 `Float` kernels (``MatrixVector``).
        case rows([Int8])
        /// In blocks of eight outputs, for the AVX2 `Float` kernels.
        case packed(PackedInt8Weights)
        /// For the 8-bit kernels.
        case interleaved(VNNIWeights)
    }

    /// Screens `layer`'s outputs with an 8-bit copy of its weights; `nil` for a layer with a bias or already in 8 bits.
    public init?(_ layer: Linear) {
        self.init(layer, roundingInputs: VNNIWeights.isAvailable)
    }

    /// As ``init(_:)``, with the inputs rounded to bytes for ``VNNIWeights`` (only where the CPU has AVX512-VNNI) or not.
    init?(_ layer: Linear, roundingInputs: Bool) {
        precondition(!roundingInputs || VNNIWeights.isAvailable, "inputs rounded to bytes need AVX512-VNNI")
        guard layer.bias.isEmpty, !layer.storesInt8, case .int8(let values, let scales) = layer.quantizedToInt8().weight else {
            return nil
        }
        exact = layer
        self.scales = scales
        let inputs = layer.inputs
        magnitudes = (0..<layer.outputs).map { j in values[j * inputs..<(j + 1) * inputs].reduce(0) { $0 + abs(Float($1)) } }
        screen =
            if roundingInputs {
                .interleaved(values.withUnsafeBufferPointer { VNNIWeights(values: $0.baseAddress!, outputs: layer.outputs, inputs: inputs) })
            } else if MatrixVector.usesAVX512 {
                .rows(values)
            } else {
                .packed(values.withUnsafeBufferPointer { PackedInt8Weights(values: $0.baseAddress!, outputs: layer.outputs, inputs: inputs) })
            }
    }

    /// Bytes of the 8-bit copy and its per-row figures.
    public var screenBytes: Int {
        let copy = switch screen {
        case .rows(let values): values.count
        case .packed(let weights): weights.bytes
        case .interleaved(let weights): weights.bytes
        }
        return copy + (scales.count + magnitudes.count) * MemoryLayout<Float>.size
    }

    /// Whether the inputs are rounded to 8 bits too (``VNNIWeights``).
    public var roundsInputs: Bool {
        if case .interleaved = screen { true } else { false }
    }

    /// Writes `rows` output rows (stride `exact.outputs`) for `rows` input rows (stride `exact.inputs`, at most
    /// ``MatrixVector/maximumRows``): outputs in `alwaysExact`, and outside it each row's largest, are exact; the others
    /// screened. Outputs in `excluded` (which the caller discards) are `-∞` and take no part in finding the largest.
    /// - Returns: how many outputs were recomputed outside `alwaysExact`, over all rows.
    @discardableResult
    public func apply(
        _ input: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>, alwaysExact: Range<Int>,
        excluded: [Int] = []
    ) -> Int {
        let (inputs, outputs) = (exact.inputs, exact.outputs)
        // Per row, how far the inputs the 8-bit pass used are from `input` (at most).
        let inputErrors: [Float]
        switch screen {
        case .rows(let values):
            values.withUnsafeBufferPointer {
                MatrixVector.multiply($0.baseAddress!, outputs: outputs, inputs: inputs, by: input, rows: rows, into: output)
            }
            inputErrors = Array(repeating: 0, count: rows)
        case .packed(let weights):
            weights.multiply(input, rows: rows, into: output)
            inputErrors = Array(repeating: 0, count: rows)
        case .interleaved(let weights):
            inputErrors = weights.multiply(input, rows: rows, into: output)
        }
        // The always-exact outputs of every row in one pass over their weights, shared between the threads.
        nonisolated(unsafe) let (x, y) = (input, output)
        let first = alwaysExact.lowerBound
        MatrixVector.forEachChunk(of: alwaysExact.count, alignedTo: 16, weights: alwaysExact.count * inputs) { range in
            exactOutputs(first + range.lowerBound..<first + range.upperBound, x, rows: rows, into: y)
        }
        // Each row's bounds and candidates on whichever thread is free (a row's outputs are its own).
        var recomputed = [Int](repeating: 0, count: rows)
        recomputed.withUnsafeMutableBufferPointer { counts in
            nonisolated(unsafe) let counts = counts
            WorkerTeam.shared.forEach(rows) { row in
                counts[row] = screen(
                    x + row * inputs, into: y + row * outputs, alwaysExact: alwaysExact, excluded: excluded,
                    inputError: inputErrors[row])
            }
        }
        return recomputed.reduce(0, +)
    }

    /// Screens one row whose always-exact outputs are written: the excluded outputs set to `-∞`, the others scaled
    /// and those that could be the largest recomputed. Returns how many were.
    private func screen(
        _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, alwaysExact: Range<Int>, excluded: [Int],
        inputError: Float
    ) -> Int {
        let (inputs, outputs) = (exact.inputs, exact.outputs)
        for j in excluded where !alwaysExact.contains(j) { y[j] = -.infinity }
        var norm: Float = 0
        for k in 0..<inputs { norm += abs(x[k]) }
        // An output is within `s · (halfSpread + Σ|q| · e)` of its approximation: half a step per weight times Σ|x|,
        // widened for the rounding of both sums (a few units in the last place of a few hundred terms), plus the
        // rounded inputs' error `e` per unit of the weights.
        let bound = Bound(halfSpread: norm * 0.5005, inputError: inputError * 1.0005)
        var recomputed = 0
        scales.withUnsafeBufferPointer { scales in
            magnitudes.withUnsafeBufferPointer { magnitudes in
                let (scales, magnitudes) = (scales.baseAddress!, magnitudes.baseAddress!)
                for part in [0..<alwaysExact.lowerBound, alwaysExact.upperBound..<outputs] {
                    let lowest = Self.scale(y, by: scales, magnitudes, part, less: bound)
                    guard lowest > -.infinity else { continue }
                    let threshold = lowest - 1e-4 * (abs(lowest) + 1)
                    Self.forEach(y, by: scales, magnitudes, part, plus: bound, reaching: threshold) { j in
                        exactOutputs(j..<j + 1, x, rows: 1, into: y)
                        recomputed += 1
                    }
                }
            }
        }
        return recomputed
    }

    /// How far an output may be from its approximation, in units of its row's scale: `halfSpread + magnitude · inputError`.
    private struct Bound {
        let halfSpread: Float
        let inputError: Float

        @inline(__always) func steps(_ magnitudes: Lanes) -> Lanes { halfSpread + magnitudes * inputError }
        @inline(__always) func steps(_ magnitude: Float) -> Float { halfSpread + magnitude * inputError }
    }

    /// Multiplies `y[j]` by `scales[j]` for `j` in `range` and returns the largest lower bound
    /// `y[j] − scales[j] · bound` (`-∞` for an empty range).
    private static func scale(
        _ y: UnsafeMutablePointer<Float>, by scales: UnsafePointer<Float>, _ magnitudes: UnsafePointer<Float>,
        _ range: Range<Int>, less bound: Bound
    ) -> Float {
        var best = Lanes(repeating: -.infinity)
        var j = range.lowerBound
        while j + laneCount <= range.upperBound {
            let s = scales.lanes(at: j)
            let value = y.lanes(at: j) * s
            y.store(value, at: j)
            best = pointwiseMax(best, value - s * bound.steps(magnitudes.lanes(at: j)))
            j += laneCount
        }
        var lowest = best.max()
        while j < range.upperBound {
            y[j] *= scales[j]
            lowest = max(lowest, y[j] - scales[j] * bound.steps(magnitudes[j]))
            j += 1
        }
        return lowest
    }

    /// Calls `body` with each `j` in `range` whose upper bound `y[j] + scales[j] · bound` reaches `threshold`.
    private static func forEach(
        _ y: UnsafePointer<Float>, by scales: UnsafePointer<Float>, _ magnitudes: UnsafePointer<Float>,
        _ range: Range<Int>, plus bound: Bound, reaching threshold: Float, _ body: (Int) -> Void
    ) {
        let limit = Lanes(repeating: threshold)
        func upper(_ lane: Int) -> Float { y[lane] + scales[lane] * bound.steps(magnitudes[lane]) }
        var j = range.lowerBound
        while j + laneCount <= range.upperBound {
            if any(y.lanes(at: j) + scales.lanes(at: j) * bound.steps(magnitudes.lanes(at: j)) .>= limit) {
                for lane in j..<j + laneCount where upper(lane) >= threshold { body(lane) }
            }
            j += laneCount
        }
        for lane in j..<range.upperBound where upper(lane) >= threshold { body(lane) }
    }

    /// Exact outputs `range` of `rows` input rows (`x` and `y` rows consecutive), with the full product's kernel: each
    /// output the same for one row or several.
    private func exactOutputs(_ range: Range<Int>, _ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        guard !range.isEmpty else { return }
        switch exact.weight {
        case .half(let values):
            values.withUnsafeBufferPointer {
                MatrixVector.kernel($0.baseAddress!, outputs: range, inputs: exact.inputs, input: x, rows: rows, output: y, outputStride: exact.outputs)
            }
        case .single(let values):
            values.withUnsafeBufferPointer {
                MatrixVector.kernel($0.baseAddress!, outputs: range, inputs: exact.inputs, input: x, rows: rows, output: y, outputStride: exact.outputs)
            }
        case .int8:
            preconditionFailure("a screened layer is not in 8 bits")
        }
    }
}
