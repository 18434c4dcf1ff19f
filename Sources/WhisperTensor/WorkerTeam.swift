internal import CPrefetch
import Dispatch
import Foundation
import Synchronization

/// Threads that run the iterations of short parallel loops and stay awake for a while between loops.
///
/// A decoder step is some thirty short loops (its matrix-vector products and attention heads, split between the
/// cores). Handing each to `DispatchQueue.concurrentPerform` wakes a sleeping thread every time, which costs as much
/// as the smaller products themselves. The team's workers spin for up to
/// ``spinTime`` after a loop before they sleep, so a step wakes them about once (not while another process keeps
/// the cores busy, see ``serve()``; then each thread also keeps to a core of its own, ``CorePlacement``). The
/// encoder's products and attention run on the team too, as blocks of rows and (head, query block) items
/// (``Matrix/forEachRowBlock(_:_:)``).
///
/// One loop runs on the team at a time. A loop started from inside one (e.g. a session's attention heads inside the
/// loop over the sessions of a batched step) runs on its thread alone, as the outer loop already has every core; a
/// loop started by another thread while the team is busy goes to `concurrentPerform` or runs on that thread alone
/// (``Overflow``). Iterations are claimed one by
/// one as threads come free, so a worker that the OS preempts holds up only the iteration it is running.
public final class WorkerTeam: Sendable {
    /// The process's team: ``Matrix/threadCount`` threads with the caller's (read when the team is first used).
    public static let shared = WorkerTeam(workers: Matrix.threadCount - 1)

    /// How long a worker waits for the next loop, spinning, before it sleeps, in nanoseconds: longer than the gaps
    /// between a step's loops and between one step and the next, short enough not to hold a core that is idle.
    static let spinTime: UInt64 = 50_000

    /// One parallel loop: its body and the iterations claimed and finished so far.
    private final class Loop: Sendable {
        let iterations: Int
        let body: @Sendable (Int) -> Void
        let next = Atomic<Int>(0)
        let finished = Atomic<Int>(0)

        init(iterations: Int, body: @escaping @Sendable (Int) -> Void) {
            self.iterations = iterations
            self.body = body
        }

        /// Claims and runs iterations until none are left.
        func work() {
            while case let index = next.wrappingAdd(1, ordering: .relaxed).oldValue, index < iterations {
                body(index)
                finished.wrappingAdd(1, ordering: .releasing)
            }
        }
    }

    private let workers: Int
    /// The loop being run, while its caller waits for it.
    private let current = Atomic<Unmanaged<Loop>?>(nil)
    /// Counts published loops; a worker waits for it to change.
    private let generation = Atomic<Int>(0)
    /// Workers that may be reading ``current``: its caller returns only when none are.
    private let participants = Atomic<Int>(0)
    /// Whether a caller is using the team.
    private let busy = Atomic<Bool>(false)
    /// The thread of the caller using the team (`pthread_t`), while it is.
    private let caller = Atomic<UInt>(0)
    /// The workers' threads.
    private let workerThreads = Mutex<[pthread_t]>([])
    /// Workers asleep on ``wake``.
    private let sleepers = Atomic<Int>(0)
    private let wake = NSCondition()
    /// Whether more threads wanted to run than the machine has cores when a worker last looked (``serve()``).
    private let crowded = Atomic<Bool>(false)
    /// Cores apart for the caller and the workers while the machine is crowded, when they are one per CPU the
    /// process may use.
    private let placement: CorePlacement?

    private init(workers: Int) {
        self.workers = max(0, workers)
        placement = CorePlacement(threads: self.workers + 1)
        for index in 0..<self.workers {
            let thread = Thread { [unowned self] in self.serve(index + 1) }
            thread.name = "whisper-team-\(index + 1)"
            thread.start()
        }
    }

    /// Where a loop runs when another caller has the team.
    public enum Overflow: Sendable {
        /// On `DispatchQueue.concurrentPerform`: short loops (a decoder step's), which a second thread shortens.
        case dispatch
        /// On the calling thread alone: long loops (the encoder's). The team's caller and workers have the cores
        /// already; more threads would take turns with them for as long as the loop runs.
        case callingThread
    }

    /// Calls `body` for each of `0..<iterations`, spread over the caller's thread and the team's workers (on the
    /// caller's thread alone under a thread limit of one, ``Matrix/withThreadLimit(_:_:)``), and returns when every
    /// call has returned.
    public func forEach(_ iterations: Int, whenBusy overflow: Overflow = .dispatch, _ body: @Sendable (Int) -> Void) {
        guard iterations > 1, workers > 0, Matrix.threadCount > 1 else {
            for index in 0..<iterations { body(index) }
            return
        }
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            if overflow == .callingThread || isTeamThread(pthread_self()) {
                for index in 0..<iterations { body(index) }
            } else {
                DispatchQueue.concurrentPerform(iterations: iterations, execute: body)
            }
            return
        }
        caller.store(pthread_self(), ordering: .relaxed)
        let pinned = crowded.load(ordering: .relaxed) ? placement : nil
        pinned?.pin(thread: 0)
        defer {
            pinned?.release()
            caller.store(0, ordering: .relaxed)
            busy.store(false, ordering: .releasing)
        }
        withoutActuallyEscaping(body) { body in
            let loop = Loop(iterations: iterations, body: body)
            current.store(Unmanaged.passUnretained(loop), ordering: .sequentiallyConsistent)
            generation.wrappingAdd(1, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                wake.lock()
                wake.broadcast()
                wake.unlock()
            }
            loop.work()
            Self.wait { loop.finished.load(ordering: .acquiring) == iterations }
            // Workers that loaded the loop before it was withdrawn finish looking at it before it goes.
            current.store(nil, ordering: .sequentiallyConsistent)
            Self.wait { participants.load(ordering: .sequentiallyConsistent) == 0 }
            withExtendedLifetime(loop) {}
        }
    }

    /// Spins until `condition` holds, yielding the core now and then in case the thread it waits for was preempted.
    private static func wait(until condition: () -> Bool) {
        var spins = 0
        while !condition() {
            spins += 1
            if spins & 1023 == 0 { sched_yield() } else { whisper_pause() }
        }
    }

    /// Whether `thread` is running one of the team's loops: its caller's or a worker.
    private func isTeamThread(_ thread: pthread_t) -> Bool {
        caller.load(ordering: .relaxed) == thread || workerThreads.withLock { $0.contains(thread) }
    }

    /// A worker's life (team thread `index`): wait for a loop (spinning, then asleep), help run it, repeat. While more
    /// threads want to run than the machine has cores (another busy process, say), a spinning worker would only take
    /// turns with them for its core: it then sleeps straight after each loop, and the team's threads keep to cores of
    /// their own (``CorePlacement``).
    private func serve(_ index: Int) {
        workerThreads.withLock { $0.append(pthread_self()) }
        var seen = 0
        var spinTime = Self.spinTime
        var lastLook: UInt64 = 0
        var pinned = false
        while true {
            var spins = 0
            var deadline: UInt64 = 0
            while generation.load(ordering: .acquiring) == seen {
                spins += 1
                if spins & 255 != 0 {
                    whisper_pause()
                    continue
                }
                let now = DispatchTime.now().uptimeNanoseconds
                if deadline == 0 { deadline = now + spinTime }
                guard now >= deadline else { continue }
                wake.lock()
                sleepers.wrappingAdd(1, ordering: .sequentiallyConsistent)
                while generation.load(ordering: .sequentiallyConsistent) == seen { wake.wait() }
                sleepers.wrappingSubtract(1, ordering: .sequentiallyConsistent)
                wake.unlock()
            }
            seen = generation.load(ordering: .acquiring)
            participants.wrappingAdd(1, ordering: .sequentiallyConsistent)
            if let loop = current.load(ordering: .sequentiallyConsistent) {
                loop.takeUnretainedValue().work()
            }
            participants.wrappingSubtract(1, ordering: .sequentiallyConsistent)

            let now = DispatchTime.now().uptimeNanoseconds
            guard now - lastLook >= Self.contentionLookInterval else { continue }
            lastLook = now
            let isCrowded = (Self.runnableThreads() ?? 0) > ProcessInfo.processInfo.activeProcessorCount
            crowded.store(isCrowded, ordering: .relaxed)
            spinTime = isCrowded ? 0 : Self.spinTime
            if let placement, isCrowded != pinned {
                if isCrowded { placement.pin(thread: index) } else { placement.release() }
                pinned = isCrowded
            }
        }
    }

    /// Nanoseconds between a worker's looks at how many threads want to run (some 8 decoder steps, or 2 of the
    /// encoder's products).
    static let contentionLookInterval: UInt64 = 15_000_000

    /// Threads on the machine that are running or waiting for a core now (`/proc/loadavg`), this one included.
    static func runnableThreads() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return nil }
        // "0.52 0.58 0.59 3/245 12345": the fourth field is runnable/total.
        let fields = text.split(separator: " ")
        guard fields.count > 3, let slash = fields[3].firstIndex(of: "/") else { return nil }
        return Int(fields[3][..<slash])
    }
}
