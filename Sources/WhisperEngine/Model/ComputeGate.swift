import Dispatch
import Synchronization

/// Runs the engine's heavy work one piece at a time on every core, combining the single-token decoder steps of
/// concurrent transcriptions into batched passes.
///
/// The encoder is compute-bound: two encoders sharing the cores finish no sooner than one after the other. A decoder
/// step is bandwidth-bound: reading the weights once for eight sequences costs little more than for one. So each
/// encoder window and prompt holds the gate alone (``exclusive(isCancelled:_:)``), and a decoder step queues for it
/// (``step(_:tokens:model:isCancelled:)``): whoever gets the gate runs every queued step of its model as one pass
/// (leader/follower combining), then wakes their owners. Logit rules, beam bookkeeping and text run outside the gate
/// and overlap. A lone transcription never waits for company; waiting is FIFO.
final class ComputeGate: Sendable {
    /// The process's gate: every model's transcriptions share the cores.
    static let shared = ComputeGate()

    /// A decoder step's outcome: its sequences' logits, and whether other sessions' steps ran in the same pass.
    struct StepResult: Sendable {
        var logits: [[Float]]
        var batched: Bool
    }

    /// A decoder step waiting for the gate. The session lives on its owner's stack; the owner stays blocked in
    /// ``ComputeGate/step(_:tokens:model:isCancelled:)`` until the step has run or left the queue, so the leader may
    /// use the pointer meanwhile.
    private struct PendingStep: @unchecked Sendable {
        let model: ObjectIdentifier
        let session: UnsafeMutablePointer<DecoderSession>
        let tokens: [Int]
    }

    private struct Waiter: Sendable {
        let id: UInt64
        /// The step to run, or `nil` for exclusive work.
        let step: PendingStep?
        let wake: DispatchSemaphore
    }

    private struct State: Sendable {
        /// Whether some thread holds the gate. Invariant: a non-empty queue implies `busy`.
        var busy = false
        var nextID: UInt64 = 1
        var queue: [Waiter] = []
        /// Results of steps a leader ran, until their owners collect them.
        var results: [UInt64: StepResult] = [:]
    }

    private let state = Mutex(State())
    /// How often a thread waiting for the gate checks whether its transcription was cancelled.
    private static let cancellationPoll = DispatchTimeInterval.milliseconds(20)

    /// Runs `body` holding the gate, after the work queued before it.
    /// - Throws: ``TranscriptionError/Kind/cancelled`` when `isCancelled` turns true while waiting.
    func exclusive<Result>(isCancelled: () -> Bool, _ body: () -> Result) throws(TranscriptionError) -> Result {
        let wake = DispatchSemaphore(value: 0)
        let waiting: UInt64? = state.withLock { state in
            guard state.busy else {
                state.busy = true
                return nil
            }
            let id = state.nextID
            state.nextID += 1
            state.queue.append(Waiter(id: id, step: nil, wake: wake))
            return id
        }
        if let waiting { try wait(waiting, wake: wake, isCancelled: isCancelled) }
        defer { release() }
        return body()
    }

    /// Advances `session` by one token per sequence, in one pass with every other step of the same model waiting
    /// for the gate. A sequence's logits are the same as when it steps alone.
    /// - Parameters:
    ///   - tokens: one token per sequence of `session`.
    ///   - model: sessions are batched only with sessions of the same model.
    /// - Throws: ``TranscriptionError/Kind/cancelled`` when `isCancelled` turns true while waiting.
    func step(
        _ session: inout DecoderSession, tokens: [Int], model: ObjectIdentifier, isCancelled: () -> Bool
    ) throws(TranscriptionError) -> StepResult {
        try withUnsafeMutablePointer(to: &session) { pointer throws(TranscriptionError) in
            let wake = DispatchSemaphore(value: 0)
            let own = Waiter(id: 0, step: PendingStep(model: model, session: pointer, tokens: tokens), wake: wake)
            let waiting: Waiter? = state.withLock { state in
                guard state.busy else {
                    state.busy = true
                    return nil
                }
                let waiter = Waiter(id: state.nextID, step: own.step, wake: wake)
                state.nextID += 1
                state.queue.append(waiter)
                return waiter
            }
            guard let waiting else { return lead(own) }
            try wait(waiting.id, wake: wake, isCancelled: isCancelled)
            // Woken: a leader ran the step, or the gate was handed over and this thread leads.
            if let result = state.withLock({ $0.results.removeValue(forKey: waiting.id) }) { return result }
            return lead(waiting)
        }
    }

    /// Holding the gate: runs `own` with every queued step of its model, hands the others their results, releases.
    private func lead(_ own: Waiter) -> StepResult {
        let model = own.step!.model
        let followers: [Waiter] = state.withLock { state in
            let taken = state.queue.filter { $0.step?.model == model }
            state.queue.removeAll { $0.step?.model == model }
            return taken
        }
        let steps = ([own] + followers).map { $0.step! }
        let logits = DecoderSession.step(steps.map(\.session), tokens: steps.map(\.tokens))
        let batched = steps.count > 1
        state.withLock { state in
            for (follower, logits) in zip(followers, logits.dropFirst()) {
                state.results[follower.id] = StepResult(logits: logits, batched: batched)
            }
        }
        for follower in followers { follower.wake.signal() }
        release()
        return StepResult(logits: logits[0], batched: batched)
    }

    /// Blocks until `wake` is signalled. If `isCancelled` turns true while the waiter is still queued, it leaves the
    /// queue and throws; once a leader has taken its step or the gate was handed to it, it waits for that instead.
    private func wait(_ id: UInt64, wake: DispatchSemaphore, isCancelled: () -> Bool) throws(TranscriptionError) {
        while wake.wait(timeout: .now() + Self.cancellationPoll) == .timedOut {
            guard isCancelled() else { continue }
            let left = state.withLock { state in
                guard let index = state.queue.firstIndex(where: { $0.id == id }) else { return false }
                state.queue.remove(at: index)
                return true
            }
            if left { throw TranscriptionError(.cancelled, "transcription cancelled") }
            wake.wait()
            return
        }
    }

    /// Hands the gate to the first waiter, or frees it.
    private func release() {
        let next: DispatchSemaphore? = state.withLock { state in
            guard !state.queue.isEmpty else {
                state.busy = false
                return nil
            }
            return state.queue.removeFirst().wake
        }
        next?.signal()
    }
}
