import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
import WhisperEngine

/// Runs blocking inference on a dedicated pool of worker threads behind a bounded FIFO queue.
///
/// - At most `workers` jobs run at once; at most `queueSize` more wait. One more is refused with 429 and `Retry-After`.
/// - A waiting job whose client goes away leaves the queue at once; a running one is told to stop through
///   ``InferenceJobControl/isCancelled`` and frees its worker when the engine notices.
/// - A job still unfinished at its deadline answers 504.
///
/// ```swift
/// let text = try await scheduler.run(deadline: .now + .seconds(60)) { control in
///     try model.transcribe(samples, isCancelled: { control.isCancelled }).text
/// }
/// ```
public final class InferenceScheduler: Service, Sendable {
    /// Counts at one instant.
    public struct Snapshot: Sendable, Equatable {
        /// Jobs on a worker.
        public var running: Int
        /// Jobs waiting for a worker.
        public var waiting: Int
        /// Worker threads.
        public var workers: Int
        /// Waiting places.
        public var queueSize: Int
        /// Whether a new job would be refused.
        public var isFull: Bool { running + waiting >= workers + queueSize }
    }

    private struct State {
        var running = 0
        var waiting: [InferenceJob] = []
        /// Moving average of job durations, for `Retry-After`.
        var averageJobSeconds = 2.0
    }

    private let workers: Int
    private let queueSize: Int
    private let pool: NIOThreadPool
    private let timerLoop: any EventLoop
    private let state = Mutex(State())
    private let metrics: WhisperMetrics?

    /// Creates a scheduler and starts its worker threads.
    /// - Parameters:
    ///   - workers: jobs run at once, each on its own thread.
    ///   - queueSize: jobs allowed to wait.
    ///   - eventLoopGroup: where deadline timers fire.
    ///   - metrics: where queue depth and queue wait are recorded, or `nil`.
    public init(
        workers: Int, queueSize: Int, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        metrics: WhisperMetrics? = nil
    ) {
        self.metrics = metrics
        self.workers = max(1, workers)
        self.queueSize = max(0, queueSize)
        self.pool = NIOThreadPool(numberOfThreads: self.workers)
        // The engine's compute gate runs one transcription's matrix products at a time (decoder steps batched), so
        // each gets every core.
        WhisperModel.threadsPerTranscription = System.coreCount
        self.timerLoop = eventLoopGroup.any()
        pool.start()
    }

    /// Stops the worker threads once the jobs already submitted have finished.
    public func shutdown() async throws {
        try await pool.shutdownGracefully()
    }

    /// Keeps the workers until graceful shutdown, then stops them once running jobs end.
    public func run() async throws {
        try? await gracefulShutdown()
        try await shutdown()
    }

    /// Current counts.
    public var snapshot: Snapshot {
        state.withLock { Snapshot(running: $0.running, waiting: $0.waiting.count, workers: workers, queueSize: queueSize) }
    }

    /// Runs `work` on a worker, waiting in the queue first if every worker is busy.
    /// - Parameters:
    ///   - deadline: when the request must be answered by; afterwards it fails with 504.
    ///   - timeoutSeconds: the configured timeout, for the 504 message.
    ///   - work: blocking work; it should poll ``InferenceJobControl/isCancelled``.
    /// - Returns: what `work` returns.
    /// - Throws: 429 when the queue is full, 504 at the deadline, `CancellationError` when the task is cancelled,
    ///   or what `work` throws.
    public func run<Value: Sendable>(
        deadline: ContinuousClock.Instant, timeoutSeconds: Double,
        _ work: @escaping @Sendable (InferenceJobControl) throws -> Value
    ) async throws -> Value {
        let (stream, continuation) = AsyncThrowingStream<Value, any Error>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let ticket = try submit(deadline: deadline, timeoutSeconds: timeoutSeconds, work) { result in
            continuation.yield(with: result)
            continuation.finish()
        }
        return try await withTaskCancellationHandler {
            var iterator = stream.makeAsyncIterator()
            guard let value = try await iterator.next() else { throw CancellationError() }
            return value
        } onCancel: {
            ticket.cancel()
        }
    }

    /// A submitted job, to cancel it.
    public struct Ticket: Sendable {
        fileprivate let job: InferenceJob
        fileprivate let scheduler: InferenceScheduler

        /// Stops the job: it leaves the queue, or its worker is told to stop; its completion gets `CancellationError`.
        public func cancel() {
            scheduler.stop(job, reason: .cancelled)
        }
    }

    /// Submits `work` without waiting for it; `completion` is called exactly once, from any thread.
    /// - Throws: 429 with `Retry-After` when the queue is full.
    public func submit<Value: Sendable>(
        deadline: ContinuousClock.Instant, timeoutSeconds: Double,
        _ work: @escaping @Sendable (InferenceJobControl) throws -> Value,
        completion: @escaping @Sendable (Result<Value, any Error>) -> Void
    ) throws(OpenAIError) -> Ticket {
        let control = InferenceJobControl(deadline: deadline)
        let once = CompleteOnce(completion)
        let pool = self.pool
        let submitted = ContinuousClock.now
        let metrics = self.metrics
        let job = InferenceJob(control: control, timeoutSeconds: timeoutSeconds) { [self] in
            pool.submit { _ in
                let started = ContinuousClock.now
                metrics?.recordQueueWait(seconds: (started - submitted).seconds)
                var result = Result {
                    if control.isCancelled { throw CancellationError() }
                    return try work(control)
                }
                if case .failure = result, let reason = control.stopReason {
                    result = .failure(Self.error(for: reason, timeoutSeconds: timeoutSeconds))
                }
                once.complete(result)
                self.finished(after: ContinuousClock.now - started)
            }
        } fail: { error in
            once.complete(.failure(error))
        }

        let admitted: Bool? = state.withLock { state in
            if state.running < workers {
                state.running += 1
                return true
            }
            if state.waiting.count < queueSize {
                state.waiting.append(job)
                return false
            }
            return nil
        }
        guard let startNow = admitted else { throw .queueFull(retryAfter: retryAfterSeconds()) }
        if !startNow { recordQueueDepth() }
        let timer = timerLoop.scheduleTask(in: .nanoseconds(Int64(max(0, (deadline - .now).seconds) * 1e9))) { [self] in
            self.stop(job, reason: .deadline)
        }
        once.onComplete { timer.cancel() }
        if startNow { job.start() }
        return Ticket(job: job, scheduler: self)
    }

    /// Seconds a refused client should wait: the expected time for the queue ahead to drain, 1…600.
    public func retryAfterSeconds() -> Int {
        let (waiting, average) = state.withLock { ($0.waiting.count, $0.averageJobSeconds) }
        let estimate = average * Double(waiting + 1) / Double(workers)
        return Int(min(600, max(1, estimate.rounded(.up))))
    }

    fileprivate func stop(_ job: InferenceJob, reason: InferenceJobControl.StopReason) {
        guard job.control.stop(reason) else { return }
        // A waiting job leaves the queue now; a running one answers now and frees its worker when the engine stops.
        state.withLock { state in state.waiting.removeAll { $0 === job } }
        recordQueueDepth()
        job.fail(Self.error(for: reason, timeoutSeconds: job.timeoutSeconds))
    }

    private func finished(after duration: Duration) {
        let next: InferenceJob? = state.withLock { state in
            state.averageJobSeconds = 0.8 * state.averageJobSeconds + 0.2 * duration.seconds
            guard !state.waiting.isEmpty else {
                state.running -= 1
                return nil
            }
            return state.waiting.removeFirst()
        }
        if next != nil { recordQueueDepth() }
        next?.start()
    }

    private func recordQueueDepth() {
        guard let metrics else { return }
        metrics.setQueueDepth(state.withLock { $0.waiting.count })
    }

    private static func error(for reason: InferenceJobControl.StopReason, timeoutSeconds: Double) -> any Error {
        switch reason {
        case .cancelled: CancellationError()
        case .deadline: OpenAIError.timeout(seconds: timeoutSeconds)
        }
    }
}
