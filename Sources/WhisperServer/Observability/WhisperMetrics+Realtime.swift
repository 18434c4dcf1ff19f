import CoreMetrics
import Metrics

extension WhisperMetrics.Name {
    /// Gauge: Realtime transcription sessions open.
    public static let realtimeSessions = "whisper_realtime_sessions"
    /// Counter: seconds of audio received by Realtime sessions.
    public static let realtimeAudioSeconds = "whisper_realtime_audio_seconds_total"
    /// Counter: turns (items) transcribed by Realtime sessions, by `outcome` (`completed`, `failed`).
    public static let realtimeTurns = "whisper_realtime_turns_total"
    /// Histogram (seconds): from the end of the audio a pass covered to the delta it released.
    public static let realtimeDeltaLatency = "whisper_realtime_delta_latency_seconds"
    /// Gauge: Realtime sessions whose untranscribed audio is more than the allowed lag behind real time.
    public static let realtimeSessionsBehind = "whisper_realtime_sessions_behind"
    /// Counter: seconds of audio dropped because a session fell too far behind.
    public static let realtimeDroppedSeconds = "whisper_realtime_dropped_audio_seconds_total"
    /// Counter: Realtime sessions refused at the upgrade because the session cap was reached.
    public static let realtimeRejections = "whisper_realtime_rejections_total"
}

extension WhisperMetrics {
    /// Sets the number of open Realtime sessions.
    public func setRealtimeSessions(_ count: Int) {
        Gauge(label: Name.realtimeSessions, dimensions: [], factory: factory).record(count)
    }

    /// Sets the number of Realtime sessions behind real time.
    public func setRealtimeSessionsBehind(_ count: Int) {
        Gauge(label: Name.realtimeSessionsBehind, dimensions: [], factory: factory).record(count)
    }

    /// Records seconds of audio received by a Realtime session.
    public func recordRealtimeAudio(seconds: Double) {
        guard seconds.isFinite, seconds > 0 else { return }
        FloatingPointCounter(label: Name.realtimeAudioSeconds, dimensions: [], factory: factory).increment(by: seconds)
    }

    /// Counts one finished turn.
    public func recordRealtimeTurn(outcome: String) {
        Counter(label: Name.realtimeTurns, dimensions: [("outcome", outcome)], factory: factory).increment()
    }

    /// Records the latency of one delta.
    public func recordRealtimeDeltaLatency(seconds: Double) {
        CoreMetrics.Timer(label: Name.realtimeDeltaLatency, dimensions: [], factory: factory)
            .recordNanoseconds(Int64((max(0, seconds) * 1e9).rounded()))
    }

    /// Records audio dropped by a session that fell behind.
    public func recordRealtimeDropped(seconds: Double) {
        guard seconds.isFinite, seconds > 0 else { return }
        FloatingPointCounter(label: Name.realtimeDroppedSeconds, dimensions: [], factory: factory).increment(by: seconds)
    }

    /// Counts a session refused at the cap.
    public func recordRealtimeRejection() {
        Counter(label: Name.realtimeRejections, dimensions: [], factory: factory).increment()
    }
}
