import Synchronization

/// Counts open Realtime sessions against the cap, and which of them are behind real time, for admission and metrics.
final class RealtimeSessionLimiter: Sendable {
    private struct State {
        var open = 0
        var behind: Set<String> = []
    }

    /// Sessions allowed at once.
    let capacity: Int
    private let state = Mutex(State())
    private let metrics: WhisperMetrics?

    init(capacity: Int, metrics: WhisperMetrics?) {
        self.capacity = capacity
        self.metrics = metrics
    }

    /// Takes a place for a new session; `false` when every place is taken.
    func reserve() -> Bool {
        let count: Int? = state.withLock { state in
            guard state.open < capacity else { return nil }
            state.open += 1
            return state.open
        }
        if let count { metrics?.setRealtimeSessions(count) } else { metrics?.recordRealtimeRejection() }
        return count != nil
    }

    /// Gives a place back (the connection closed).
    func release() {
        let count = state.withLock { state in
            state.open = max(0, state.open - 1)
            return state.open
        }
        metrics?.setRealtimeSessions(count)
    }

    /// Sessions open now.
    var openSessions: Int { state.withLock { $0.open } }

    /// Records whether a session is behind real time.
    func setBehind(_ sessionID: String, _ behind: Bool) {
        let count: Int? = state.withLock { state in
            let changed = behind ? state.behind.insert(sessionID).inserted : state.behind.remove(sessionID) != nil
            return changed ? state.behind.count : nil
        }
        if let count { metrics?.setRealtimeSessionsBehind(count) }
    }
}
