import Foundation
import WhisperTensor

/// A word's place in a window, before it is attached to a segment.
struct WordTiming {
    var word: String
    var tokens: [Int]
    /// Seconds from the start of the window.
    var start: Double
    var end: Double
    var probability: Double
}

/// Word timing from cross-attention, as the reference does it: the alignment heads' attention over the audio,
/// normalised per frame, median-filtered, averaged, then a dynamic-time-warping path from tokens to frames.
struct WordAligner {
    static let medianFilterWidth = 7
    /// Encoder positions per second.
    static let positionsPerSecond = 50.0
    static let prependedPunctuation: Set<String> = ["\"", "'", "“", "¿", "(", "[", "{", "-"]
    static let appendedPunctuation: Set<String> = ["\"", "'", ".", "。", ",", "，", "!", "！", "?", "？", ":", "：", "”", ")", "]", "}", "、"]

    static let asciiPunctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

    let model: WhisperModel

    /// The alignment heads from `config.json`, or every head of the decoder's second half.
    var heads: [(layer: Int, head: Int)] {
        if !model.configuration.alignmentHeads.isEmpty { return model.configuration.alignmentHeads }
        let hyper = model.weights.hyper
        return (hyper.decoderLayers / 2..<hyper.decoderLayers).flatMap { layer in (0..<hyper.heads).map { (layer, $0) } }
    }

    /// Times the words of `textTokens` against `audio`, whose window holds `frames` mel frames of real audio.
    /// The decoder pass runs holding the model's ``ComputeGate``; `isCancelled` is polled while waiting for it.
    func align(
        audio: Tensor, startSequence: [Int], textTokens: [Int], frames: Int, language: String, isCancelled: () -> Bool
    ) throws(TranscriptionError) -> [WordTiming] {
        let special = model.specialTokens
        guard !textTokens.isEmpty else { return [] }
        let tokens = startSequence + [special.noTimestamps] + textTokens + [special.endOfText]
        let usedFrames = max(1, min(frames / 2, audio.rows))
        let selected = heads
        let rows = tokens.count
        // heads × tokens × usedFrames, each row renormalised over the frames that hold audio.
        var weights = [Float](repeating: 0, count: selected.count * rows * usedFrames)
        let logits = try model.gate.exclusive(.alignment, isCancelled: isCancelled) {
            var session = DecoderSession(weights: model.weights, audio: audio)
            return session.forward([tokens], logitsAt: Array(startSequence.count..<(startSequence.count + textTokens.count)),
                crossAttention: { layer, head, attention in
                    guard let slot = selected.firstIndex(where: { $0.layer == layer && $0.head == head }) else { return }
                    for t in 0..<rows {
                        let source = attention + t * audio.rows
                        var sum: Float = 0
                        for f in 0..<usedFrames { sum += source[f] }
                        let target = slot * rows * usedFrames + t * usedFrames
                        for f in 0..<usedFrames { weights[target + f] = source[f] / max(sum, 1e-20) }
                    }
                })[0]
        }
        let probabilities = zip(logits, textTokens).map { row, token in
            TokenDecoder.probability(of: token, in: Array(row[0..<special.endOfText]))
        }
        let matrix = Self.alignmentMatrix(weights, heads: selected.count, rows: rows, frames: usedFrames, skip: startSequence.count)
        let path = Self.dynamicTimeWarping(cost: matrix.map { -$0 }, rows: textTokens.count + 1, columns: usedFrames)

        let (words, wordTokens) = splitToWords(textTokens + [special.endOfText], language: language)
        guard wordTokens.count > 1 else { return [] }
        var boundaries = [0]
        for tokens in wordTokens.dropLast() { boundaries.append(boundaries.last! + tokens.count) }
        var jumpTimes: [Double] = []
        var previousRow = -1
        for (row, column) in path where row != previousRow {
            jumpTimes.append(Double(column) / Self.positionsPerSecond)
            previousRow = row
        }
        var timings: [WordTiming] = []
        for index in 0..<(boundaries.count - 1) {
            let (first, last) = (boundaries[index], boundaries[index + 1])
            let slice = probabilities[first..<min(last, probabilities.count)]
            timings.append(
                WordTiming(
                    word: words[index], tokens: wordTokens[index], start: jumpTimes[first], end: jumpTimes[last],
                    probability: slice.isEmpty ? 0 : slice.reduce(0, +) / Double(slice.count)))
        }
        return timings
    }

    /// Normalises each head's weights over tokens, median-filters over frames, averages the heads and keeps the
    /// rows that predict text tokens and end of text: `(text + 1) × frames`.
    static func alignmentMatrix(_ weights: [Float], heads: Int, rows: Int, frames: Int, skip: Int) -> [Float] {
        var normalised = weights
        for h in 0..<heads {
            let base = h * rows * frames
            for f in 0..<frames {
                var mean: Double = 0
                for t in 0..<rows { mean += Double(weights[base + t * frames + f]) }
                mean /= Double(rows)
                var variance: Double = 0
                for t in 0..<rows {
                    let d = Double(weights[base + t * frames + f]) - mean
                    variance += d * d
                }
                let std = max((variance / Double(rows)).squareRoot(), 1e-12)
                for t in 0..<rows { normalised[base + t * frames + f] = Float((Double(weights[base + t * frames + f]) - mean) / std) }
            }
        }
        let kept = rows - skip - 1
        var matrix = [Float](repeating: 0, count: kept * frames)
        var window = [Float](repeating: 0, count: medianFilterWidth)
        let half = medianFilterWidth / 2
        for h in 0..<heads {
            for r in 0..<kept {
                let row = h * rows * frames + (r + skip) * frames
                for f in 0..<frames {
                    for k in 0..<medianFilterWidth {
                        var index = f + k - half
                        if frames > half {
                            if index < 0 { index = -index }  // reflect padding
                            if index >= frames { index = 2 * (frames - 1) - index }
                        }
                        window[k] = normalised[row + min(max(index, 0), frames - 1)]
                    }
                    window.sort()
                    matrix[r * frames + f] += window[half] / Float(heads)
                }
            }
        }
        return matrix
    }

    /// The cheapest monotonic path through `cost` (`rows × columns`), as `(row, column)` pairs from the start.
    static func dynamicTimeWarping(cost: [Float], rows: Int, columns: Int) -> [(Int, Int)] {
        let width = columns + 1
        var total = [Float](repeating: .infinity, count: (rows + 1) * width)
        var trace = [Int8](repeating: -1, count: (rows + 1) * width)
        total[0] = 0
        for j in 1...columns {
            for i in 1...rows {
                let diagonal = total[(i - 1) * width + j - 1]
                let up = total[(i - 1) * width + j]
                let left = total[i * width + j - 1]
                let (best, step): (Float, Int8) =
                    diagonal < up && diagonal < left ? (diagonal, 0) : (up < diagonal && up < left ? (up, 1) : (left, 2))
                total[i * width + j] = cost[(i - 1) * columns + j - 1] + best
                trace[i * width + j] = step
            }
        }
        for j in 0..<width { trace[j] = 2 }
        for i in 0...rows { trace[i * width] = 1 }
        var path: [(Int, Int)] = []
        var i = rows
        var j = columns
        while i > 0 || j > 0 {
            path.append((i - 1, j - 1))
            switch trace[i * width + j] {
            case 0: i -= 1; j -= 1
            case 1: i -= 1
            default: j -= 1
            }
        }
        return path.reversed()
    }

    /// Splits tokens into words: at spaces and punctuation, or at every complete character for languages written
    /// without spaces.
    func splitToWords(_ tokens: [Int], language: String) -> (words: [String], tokens: [[Int]]) {
        let (pieces, pieceTokens) = splitOnCharacters(tokens)
        if ["zh", "ja", "th", "lo", "my", "yue"].contains(language) { return (pieces, pieceTokens) }
        var words: [String] = []
        var wordTokens: [[Int]] = []
        for (piece, tokens) in zip(pieces, pieceTokens) {
            // As Python's `piece.strip() in string.punctuation`: a run of ASCII punctuation in that order.
            let isPunctuation = Self.asciiPunctuation.contains(piece.trimmingWhitespace())
            if tokens[0] >= model.specialTokens.endOfText || piece.hasPrefix(" ") || isPunctuation || words.isEmpty {
                words.append(piece)
                wordTokens.append(tokens)
            } else {
                words[words.count - 1] += piece
                wordTokens[wordTokens.count - 1] += tokens
            }
        }
        return (words, wordTokens)
    }

    /// Groups tokens so that each group decodes to whole characters (multi-byte characters can span tokens).
    private func splitOnCharacters(_ tokens: [Int]) -> ([String], [[Int]]) {
        var pieces: [String] = []
        var groups: [[Int]] = []
        var current: [Int] = []
        for token in tokens {
            current.append(token)
            let text = token >= model.specialTokens.endOfText ? "" : model.tokenizer.decode(current)
            if !text.contains("\u{FFFD}") || current.count >= 4 {
                pieces.append(text)
                groups.append(current)
                current = []
            }
        }
        return (pieces, groups)
    }

    /// Moves leading punctuation onto the following word and trailing punctuation onto the preceding one.
    static func mergePunctuation(_ alignment: inout [WordTiming]) {
        guard alignment.count > 1 else { return }
        var i = alignment.count - 2
        var j = alignment.count - 1
        while i >= 0 {
            if alignment[i].word.hasPrefix(" ") && prependedPunctuation.contains(alignment[i].word.trimmingWhitespace()) {
                alignment[j].word = alignment[i].word + alignment[j].word
                alignment[j].tokens = alignment[i].tokens + alignment[j].tokens
                alignment[i].word = ""
                alignment[i].tokens = []
            } else {
                j = i
            }
            i -= 1
        }
        i = 0
        j = 1
        while j < alignment.count {
            if !alignment[i].word.hasSuffix(" ") && appendedPunctuation.contains(alignment[j].word) {
                alignment[i].word += alignment[j].word
                alignment[i].tokens += alignment[j].tokens
                alignment[j].word = ""
                alignment[j].tokens = []
            } else {
                i = j
            }
            j += 1
        }
    }
}
