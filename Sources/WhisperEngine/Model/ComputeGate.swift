import Dispatch
import Synchronization
import WhisperTensor

/// Runs the engine's heavy work one piece at a time on every core, combining the single-token decoder steps of
/// concurrent transcriptions into batched passes.
///
/// The encoder is compute-bound, a decoder step bandwidth-bound: reading the weights once for eight sequences costs
/// little more than for one. So encoder windows and prompts hold the gate (``exclusive(_:isCancelled:_:)``), and a
/// decoder step queues for it (``step(_:tokens:model:isCancelled:)``): whoever gets the gate runs every queued step of
/// its model as one pass (leader/follower combining), then wakes their owners. Logit rules, beam bookkeeping and text
/// run outside the gate and overlap.
///
/// Two ready pieces of work next to each other in the queue (exclusive work, or exclusive work and a batched step)
/// hold the gate together, each on half the cores (``Matrix/withThreadLimit(_:_:)``; results do not depend on it): an
/// encoder on one core does more work per core than on two, which wait for each other at every product and run the
/// element-wise passes between them alone. The place one leaves goes to the next ready piece, a step included, so
/// decode loops keep advancing while windows are encoded. A lone piece of work has all the cores.
///
/// A decode loop runs inside ``decoding(model:_:)``, which counts it as active. Steps of a model are ready once every
/// active loop of that model has queued one (the others are only choosing their next token, well under a millisecond
/// away), so concurrent loops advance together instead of the first one back running alone. A lone transcription
/// never waits for company: its step is ready at once. The gate goes to the first ready waiter in arrival order.
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
        /// Threads holding the gate: one, or two exclusive holders sharing the cores. Invariant: when none holds it, no
        /// queued waiter is ready.
        var holders = 0
        /// Holders running on a share of the cores.
        var sharing = 0
        /// Exclusive waiters granted a share of the cores, until they collect it.
        var shared: Set<UInt64> = []
        var nextID: UInt64 = 1
        var queue: [Waiter] = []
        /// Decode loops running per model, whether stepping or choosing tokens.
        var active: [ObjectIdentifier: Int] = [:]
        /// Results of steps a leader ran, until their owners collect them.
        var results: [UInt64: StepResult] = [:]
        /// What the work that held the gate has done so far.
        var activity = ComputeActivity()

        /// Exclusive work is always ready; steps of a model once every active loop of it has queued one.
        func isReady(_ waiter: Waiter) -> Bool {
            guard let model = waiter.step?.model else { return true }
            return queue.count { $0.step?.model == model } >= active[model, default: 0]
        }

        /// Hands the gate to the first ready waiter (removed from the queue), if any and if none holds it; two ready
        /// waiters (when ``ComputeGate/sharesCores``) both on a share of the cores, unless both are steps of one model
        /// (one pass runs those), and the first ready waiter to a lone sharing holder, the place the other left: a batched
        /// decoder step runs beside an encoder window instead of waiting for the whole gate.
        mutating func dispatch() -> [Waiter] {
            guard let index = queue.firstIndex(where: isReady) else { return [] }
            if holders == 1 && sharing == 1 { return [grantShare(at: index)] }
            guard holders == 0 else { return [] }
            let first = queue[index]
            if ComputeGate.sharesCores,
                let next = queue[(index + 1)...].firstIndex(where: {
                    isReady($0) && (first.step == nil || $0.step == nil || first.step?.model != $0.step?.model)
                })
            {
                let second = grantShare(at: next)
                return [grantShare(at: index), second]
            }
            holders = 1
            return [queue.remove(at: index)]
        }

        private mutating func grantShare(at index: Int) -> Waiter {
            holders += 1
            sharing += 1
            shared.insert(queue[index].id)
            return queue.remove(at: index)
        }
    }

    /// Whether exclusive work may run two at a time on a share of the cores each: with several cores, where each
    /// product's thread count is the calling thread's own (``Matrix/allowsConcurrentProducts``).
    static var sharesCores: Bool { Matrix.allowsConcurrentProducts && Matrix.processThreadCount > 1 }

    private let state = Mutex(State())
    /// How often a thread waiting for the gate checks whether its transcription was cancelled.
    private static let cancellationPoll = DispatchTimeInterval.milliseconds(20)

    /// Runs `body` holding the gate, after the ready work queued before it; on half the cores when another piece of
    /// work holds it too. Its time counts in ``activity`` as `work`.
    /// - Throws: ``TranscriptionError/Kind/cancelled`` when `isCancelled` turns true while waiting.
    func exclusive<Result>(
        _ work: ComputeWork, isCancelled: () -> Bool, _ body: () -> Result
    ) throws(TranscriptionError) -> Result {
        let own = enqueue(step: nil)
        for other in own.granted where other.id != own.waiter.id { other.wake.signal() }
        if !own.granted.contains(where: { $0.id == own.waiter.id }) {
            try wait(own.waiter.id, wake: own.waiter.wake, isCancelled: isCancelled)
        }
        let sharing = state.withLock { $0.shared.remove(own.waiter.id) != nil }
        let start = ContinuousClock.now
        defer { release(sharing: sharing, after: (work, ContinuousClock.now - start)) }
        guard sharing else { return body() }
        return Matrix.withThreadLimit(Matrix.threadCount / 2, body)
    }

    /// What the work that held this gate has done so far.
    var activity: ComputeActivity { state.withLock { $0.activity } }

    /// Waiters queued for the gate.
    var queuedCount: Int { state.withLock { $0.queue.count } }

    /// Runs a decode loop of `model`: while `body` runs, the model's steps wait until this loop has queued one too.
    /// `body` must step only through ``step(_:tokens:model:isCancelled:)`` and never wait for anything else.
    func decoding<Result>(
        model: ObjectIdentifier, _ body: () throws(TranscriptionError) -> Result
    ) throws(TranscriptionError) -> Result {
        state.withLock { $0.active[model, default: 0] += 1 }
        defer {
            let next: [Waiter] = state.withLock { state in
                state.active[model]! -= 1
                if state.active[model] == 0 { state.active[model] = nil }
                return state.dispatch()
            }
            for waiter in next { waiter.wake.signal() }
        }
        return try body()
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
            let own = enqueue(step: PendingStep(model: model, session: pointer, tokens: tokens))
            for other in own.granted where other.id != own.waiter.id { other.wake.signal() }
            if own.granted.contains(where: { $0.id == own.waiter.id }) { return lead(own.waiter) }
            try wait(own.waiter.id, wake: own.waiter.wake, isCancelled: isCancelled)
            // Woken: a leader ran the step, or the gate was handed over and this thread leads.
            if let result = state.withLock({ $0.results.removeValue(forKey: own.waiter.id) }) { return result }
            return lead(own.waiter)
        }
    }

    /// Queues a waiter and hands the gate to whoever is ready for it (maybe this one). A step that completes its
    /// model's batch takes the gate itself and leads, the batch's earlier steps staying queued.
    private func enqueue(step: PendingStep?) -> (waiter: Waiter, granted: [Waiter]) {
        let wake = DispatchSemaphore(value: 0)
        return state.withLock { state in
            let waiter = Waiter(id: state.nextID, step: step, wake: wake)
            state.nextID += 1
            state.queue.append(waiter)
            var granted = state.dispatch()
            guard let model = step?.model,
                let earlier = granted.firstIndex(where: { $0.id != waiter.id && $0.step?.model == model })
            else { return (waiter, granted) }
            // This step leads instead, in the earlier one's place (and share of the cores); that one stays queued.
            state.queue.append(granted[earlier])
            if state.shared.remove(granted[earlier].id) != nil { state.shared.insert(waiter.id) }
            granted[earlier] = waiter
            return (waiter, granted)
        }
    }

    /// Holding the gate: runs `own` with every queued step of its model, hands the others their results, releases.
    private func lead(_ own: Waiter) -> StepResult {
        let model = own.step!.model
        let followers: [Waiter] = state.withLock { state in
            let taken = state.queue.filter { $0.step?.model == model && $0.id != own.id }
            state.queue.removeAll { $0.step?.model == model }
            return taken
        }
        let steps = ([own] + followers).map { $0.step! }
        let sharing = state.withLock { $0.shared.remove(own.id) != nil }
        let pass = { DecoderSession.step(steps.map(\.session), tokens: steps.map(\.tokens)) }
        let start = ContinuousClock.now
        let logits = sharing ? Matrix.withThreadLimit(Matrix.threadCount / 2, pass) : pass()
        let elapsed = ContinuousClock.now - start
        let batched = steps.count > 1
        state.withLock { state in
            for (follower, logits) in zip(followers, logits.dropFirst()) {
                state.results[follower.id] = StepResult(logits: logits, batched: batched)
            }
            state.activity.recordDecoderPass(sessions: steps.count)
        }
        for follower in followers { follower.wake.signal() }
        release(sharing: sharing, after: (.decoderStep, elapsed))
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

    /// Gives up this thread's hold on the gate, counting the time of the work done holding it, and hands it on to
    /// whoever is ready.
    private func release(sharing: Bool, after work: (kind: ComputeWork, elapsed: Duration)) {
        let next: [Waiter] = state.withLock { state in
            state.activity.record(work.kind, elapsed: work.elapsed, sharedCores: sharing)
            state.holders -= 1
            if sharing { state.sharing -= 1 }
            return state.dispatch()
        }
        for waiter in next { waiter.wake.signal() }
    }
}
