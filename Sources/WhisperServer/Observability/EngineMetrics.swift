import WhisperEngine

/// The engine's own counters (``WhisperModel/computeActivity``) in Prometheus text, appended to `/metrics`: how the
/// cores' time splits between work that batching cannot shrink (encoder windows, prompts) and batched decoder steps,
/// and how many transcriptions each decoder pass advanced.
///
/// They are read from the engine when scraped rather than recorded as they happen: the engine counts under the lock
/// it takes anyway, and its counters cover the whole process, as its cores do.
public enum EngineMetrics {
    /// The exposition lines of `activity`: ``WhisperMetrics/Name/engineSeconds`` for every kind of work (zero when
    /// none ran yet) and the ``WhisperMetrics/Name/decoderPassSessions`` histogram.
    public static func render(_ activity: ComputeActivity) -> String {
        let seconds = WhisperMetrics.Name.engineSeconds
        let sessions = WhisperMetrics.Name.decoderPassSessions
        var lines = [
            "# HELP \(seconds) Seconds of the engine's cores per kind of work (half the cores count half).",
            "# TYPE \(seconds) counter",
        ]
        for work in ComputeWork.allCases {
            lines.append("\(seconds){work=\"\(work.rawValue)\"} \(activity.seconds[work, default: 0])")
        }
        lines += [
            "# HELP \(sessions) Transcriptions advanced by each decoder pass.",
            "# TYPE \(sessions) histogram",
        ]
        var cumulative = 0
        for (bound, count) in zip(ComputeActivity.sessionBuckets, activity.decoderPassesBySessions) {
            cumulative += count
            lines.append("\(sessions)_bucket{le=\"\(bound)\"} \(cumulative)")
        }
        lines += [
            "\(sessions)_bucket{le=\"+Inf\"} \(activity.decoderPasses)",
            "\(sessions)_sum \(activity.decoderPassSessions)",
            "\(sessions)_count \(activity.decoderPasses)",
        ]
        return lines.joined(separator: "\n") + "\n"
    }
}
