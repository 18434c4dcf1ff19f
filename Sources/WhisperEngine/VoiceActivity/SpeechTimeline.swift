/// The speech regions of a recording cut out and joined end to end, and the way back from a time in the joined
/// audio to the same moment in the original.
struct SpeechTimeline {
    /// One region's place in the joined audio.
    struct Chunk {
        /// Start in the joined audio, in seconds.
        var joinedStart: Double
        /// Start in the original audio, in seconds.
        var originalStart: Double
        /// Length in seconds.
        var duration: Double
    }

    /// The joined audio: the regions' samples, in order.
    let samples: [Float]
    let chunks: [Chunk]

    /// Cuts `regions` out of `original` and joins them.
    init(original: [Float], regions: [SpeechRegion]) {
        let rate = Double(LogMelSpectrogram.sampleRate)
        var samples: [Float] = []
        var chunks: [Chunk] = []
        for region in regions {
            let first = max(0, min(original.count, Int((region.start * rate).rounded())))
            let last = max(first, min(original.count, Int((region.end * rate).rounded())))
            guard last > first else { continue }
            chunks.append(
                Chunk(joinedStart: Double(samples.count) / rate, originalStart: Double(first) / rate, duration: Double(last - first) / rate))
            samples.append(contentsOf: original[first..<last])
        }
        self.samples = samples
        self.chunks = chunks
    }

    /// The original time of `time` in the joined audio. A time on the seam between two chunks belongs to the later
    /// chunk when it starts something, to the earlier one when it ends something (`isEnd`).
    func originalTime(_ time: Double, isEnd: Bool = false) -> Double {
        guard var chunk = chunks.first else { return time }
        for candidate in chunks {
            let seam = candidate.joinedStart
            if isEnd ? time > seam + 1e-9 : time >= seam - 1e-9 { chunk = candidate } else { break }
        }
        return chunk.originalStart + min(max(0, time - chunk.joinedStart), chunk.duration)
    }

    /// The segment with its times and its words' times moved to the original timeline.
    func mapped(_ segment: Segment) -> Segment {
        var segment = segment
        segment.start = originalTime(segment.start).roundedToCentiseconds
        segment.end = originalTime(segment.end, isEnd: true).roundedToCentiseconds
        segment.seek = Int((originalTime(Double(segment.seek) * Transcriber.frameDuration) / Transcriber.frameDuration).rounded())
        segment.words = segment.words?.map { word in
            var word = word
            word.start = originalTime(word.start).roundedToCentiseconds
            word.end = originalTime(word.end, isEnd: true).roundedToCentiseconds
            return word
        }
        return segment
    }

    /// The removed text's times moved to the original timeline.
    func mapped(_ filtered: FilteredText) -> FilteredText {
        var filtered = filtered
        filtered.start = originalTime(filtered.start).roundedToCentiseconds
        filtered.end = originalTime(filtered.end, isEnd: true).roundedToCentiseconds
        return filtered
    }
}
