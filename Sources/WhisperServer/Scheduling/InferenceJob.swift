import Synchronization

/// What a running job can ask: whether it should stop (client gone, deadline passed).
///
/// ``isCancelled`` is cheap and thread-safe: the engine polls it between decoding steps.
public final class InferenceJobControl: Sendable {
    /// Why a job was stopped.
    public enum StopReason: Sendable, Equatable {
        /// The client went away or the request's task was cancelled.
        case cancelled
        /// The request's deadline passed.
        case deadline
    }

    /// When the request must be answered by.
    public let deadline: ContinuousClock.Instant
    private let reason = Mutex<StopReason?>(nil)

    init(deadline: ContinuousClock.Instant) {
        self.deadline = deadline
    }

    /// Whether the work should stop now.
    public var isCancelled: Bool {
        if reason.withLock({ $0 }) != nil { return true }
        if ContinuousClock.now >= deadline {
            stop(.deadline)
            return true
        }
        return false
    }

    /// Seconds left before the deadline (0 when passed).
    public var remainingSeconds: Double {
        max(0, (deadline - ContinuousClock.now).seconds)
    }

    /// Why the job was stopped, if it was.
    public var stopReason: StopReason? { reason.withLock { $0 } }

    /// Records the first reason to stop; later ones are ignored.
    @discardableResult
    func stop(_ newReason: StopReason) -> Bool {
        reason.withLock { current in
            guard current == nil else { return false }
            current = newReason
            return true
        }
    }
}

/// One request's place in the scheduler: waiting, then running on a worker, then done.
final class InferenceJob: Sendable {
    enum Phase: Sendable { case waiting, running, finished }

    let control: InferenceJobControl
    let timeoutSeconds: Double
    /// Starts the work on a worker thread.
    let start: @Sendable () -> Void
    /// Ends the request with an error, once (later results are dropped).
    let fail: @Sendable (any Error) -> Void

    init(
        control: InferenceJobControl, timeoutSeconds: Double, start: @escaping @Sendable () -> Void,
        fail: @escaping @Sendable (any Error) -> Void
    ) {
        self.control = control
        self.timeoutSeconds = timeoutSeconds
        self.start = start
        self.fail = fail
    }
}

/// Calls a completion handler exactly once, whoever finishes first (worker, deadline or cancellation).
final class CompleteOnce<Value: Sendable>: Sendable {
    private struct State {
        var handler: (@Sendable (Result<Value, any Error>) -> Void)?
        var cleanups: [@Sendable () -> Void] = []
    }

    private let state: Mutex<State>

    init(_ handler: @escaping @Sendable (Result<Value, any Error>) -> Void) {
        self.state = Mutex(State(handler: handler))
    }

    /// Runs `cleanup` on completion, or now if already complete.
    func onComplete(_ cleanup: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { state in
            guard state.handler != nil else { return true }
            state.cleanups.append(cleanup)
            return false
        }
        if runNow { cleanup() }
    }

    func complete(_ result: Result<Value, any Error>) {
        let (handler, cleanups) = state.withLock { state in
            defer { state = State(handler: nil) }
            return (state.handler, state.cleanups)
        }
        guard let handler else { return }
        cleanups.forEach { $0() }
        handler(result)
    }
}
