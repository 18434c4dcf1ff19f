import Foundation
import Testing
import WhisperTensor

/// Each operation against a straightforward double-precision implementation, within 1e-4.
@Suite struct TensorOperationTests {
    var random = Generator(seed: 7)

    struct Generator: RandomNumberGenerator {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state
        }
    }

    mutating func values(_ count: Int) -> [Float] {
        (0..<count).map { _ in Float.random(in: -1...1, using: &random) }
    }

    @Test mutating func linearMatchesNaiveProduct() {
        for rows in [1, 3] {  // one row takes the GEMV path
            let (inputs, outputs) = (17, 9)
            let x = Tensor(rows: rows, columns: inputs, values: values(rows * inputs))
            let layer = Linear(weight: values(inputs * outputs), bias: values(outputs), inputs: inputs, outputs: outputs)
            let y = layer(x)
            for r in 0..<rows {
                for o in 0..<outputs {
                    var expected = Double(layer.bias[o])
                    for i in 0..<inputs { expected += Double(x[r, i]) * Double(layer.weight[o * inputs + i]) }
                    #expect(abs(Double(y[r, o]) - expected) < 1e-4)
                }
            }
        }
    }

    @Test mutating func layerNormNormalisesRows() {
        let x = Tensor(rows: 2, columns: 64, values: values(128).map { $0 * 5 + 3 })
        let norm = LayerNorm(gamma: [Float](repeating: 1, count: 64), beta: [Float](repeating: 0, count: 64))
        let y = norm(x)
        for r in 0..<2 {
            let row = (0..<64).map { Double(y[r, $0]) }
            let mean = row.reduce(0, +) / 64
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 64
            #expect(abs(mean) < 1e-4)
            #expect(abs(variance - 1) < 1e-3)
        }
    }

    @Test func geluMatchesErfDefinition() {
        var data: [Float] = [-3, -1, -0.5, 0, 0.5, 1, 3]
        data.withUnsafeMutableBufferPointer { Activations.gelu($0) }
        for (x, y) in zip([-3.0, -1, -0.5, 0, 0.5, 1, 3], data) {
            #expect(abs(Double(y) - 0.5 * x * (1 + erf(x / 2.0.squareRoot()))) < 1e-5)
        }
    }

    @Test func softmaxIsStableForLargeLogits() {
        var data: [Float] = [1000, 1001, 1002, -.infinity]
        data.withUnsafeMutableBufferPointer { Activations.softmax($0.baseAddress!, rows: 1, width: 4) }
        let e = [exp(-2.0), exp(-1.0), 1]
        let total = e.reduce(0, +)
        for i in 0..<3 { #expect(abs(Double(data[i]) - e[i] / total) < 1e-6) }
        #expect(data[3] == 0)
    }

    @Test mutating func causalAttentionMatchesNaive() {
        let (rows, heads, headWidth) = (5, 2, 4)
        let width = heads * headWidth
        let q = values(rows * width), k = values(rows * width), v = values(rows * width)
        var output = [Float](repeating: 0, count: rows * width)
        var scores = [Float](repeating: 0, count: rows * rows)
        q.withUnsafeBufferPointer { qp in
            k.withUnsafeBufferPointer { kp in
                v.withUnsafeBufferPointer { vp in
                    Attention.multiHead(
                        query: .init(base: qp.baseAddress!, rows: rows, stride: width),
                        keys: .init(base: kp.baseAddress!, rows: rows, stride: width),
                        values: .init(base: vp.baseAddress!, rows: rows, stride: width),
                        output: &output, outputStride: width, heads: heads, headWidth: headWidth, causalOffset: 0,
                        scores: &scores)
                }
            }
        }
        for h in 0..<heads {
            for i in 0..<rows {
                var weights: [Double] = []
                for j in 0...i {
                    var dot = 0.0
                    for d in 0..<headWidth { dot += Double(q[i * width + h * headWidth + d]) * Double(k[j * width + h * headWidth + d]) }
                    weights.append(exp(dot / Double(headWidth).squareRoot()))
                }
                let total = weights.reduce(0, +)
                for d in 0..<headWidth {
                    var expected = 0.0
                    for j in 0...i { expected += weights[j] / total * Double(v[j * width + h * headWidth + d]) }
                    #expect(abs(Double(output[i * width + h * headWidth + d]) - expected) < 1e-4)
                }
            }
        }
    }

    @Test mutating func strideTwoConvolutionMatchesNaive() {
        let (inChannels, outChannels, frames) = (3, 4, 9)
        let conv = Convolution1D(
            weight: values(outChannels * inChannels * 3), bias: values(outChannels), inChannels: inChannels,
            outChannels: outChannels, kernel: 3, stride: 2, padding: 1)
        let input = values(inChannels * frames)  // channel-major [inChannels, frames]
        let y = input.withUnsafeBufferPointer { conv.apply($0.baseAddress!, frames: frames, frameStride: 1, channelStride: frames) }
        #expect(y.rows == 5)
        for t in 0..<y.rows {
            for o in 0..<outChannels {
                var expected = Double(conv.bias[o])
                for c in 0..<inChannels {
                    for k in 0..<3 {
                        let source = t * 2 + k - 1
                        if source >= 0 && source < frames {
                            expected += Double(conv.weight[(o * inChannels + c) * 3 + k]) * Double(input[c * frames + source])
                        }
                    }
                }
                #expect(abs(Double(y[t, o]) - expected) < 1e-4)
            }
        }
    }
}
