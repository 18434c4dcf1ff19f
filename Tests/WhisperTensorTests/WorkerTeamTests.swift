import Foundation
import Synchronization
import Testing
@testable import WhisperTensor

/// The team that runs the decoder's short parallel loops: every iteration exactly once, loops back to back or after
/// the workers went to sleep, from several threads at once and from inside a loop.
@Suite struct WorkerTeamTests {
    /// Counts how often each iteration ran.
    final class Tally: Sendable {
        let counts: Mutex<[Int]>
        init(_ count: Int) { counts = Mutex(Array(repeating: 0, count: count)) }
        func record(_ index: Int) { counts.withLock { $0[index] += 1 } }
        var allOnce: Bool { counts.withLock { $0.allSatisfy { $0 == 1 } } }
    }

    @Test func everyIterationRunsOnceInLoopsBackToBackAndAfterSleeping() {
        for round in 0..<2_000 {
            let iterations = 1 + round % 37
            let tally = Tally(iterations)
            WorkerTeam.shared.forEach(iterations) { tally.record($0) }
            #expect(tally.allOnce, "round \(round)")
            // Now and then long enough a pause for the workers to stop spinning and sleep.
            if round % 400 == 399 { Thread.sleep(forTimeInterval: 2 * Double(WorkerTeam.spinTime) / 1e9) }
        }
    }

    @Test(.enabled(if: Matrix.threadCount > 1)) func workersTakePartInLongLoops() {
        let threads = Mutex(Set<pthread_t>())
        WorkerTeam.shared.forEach(64) { _ in
            let start = DispatchTime.now().uptimeNanoseconds
            while DispatchTime.now().uptimeNanoseconds - start < 200_000 {}
            threads.withLock { _ = $0.insert(pthread_self()) }
        }
        #expect(threads.withLock { $0.count } > 1)
    }

    /// A long loop (the encoder's) started while another caller has the team runs on its own thread alone rather than
    /// spreading over `concurrentPerform`'s threads.
    @Test func loopsThatMustNotOverflowRunOnTheCallingThreadWhileTheTeamIsBusy() {
        let holding = Atomic<Bool>(false)
        let release = Atomic<Bool>(false)
        let holder = Thread {
            WorkerTeam.shared.forEach(2) { index in
                guard index == 0 else { return }
                holding.store(true, ordering: .releasing)
                while !release.load(ordering: .acquiring) { usleep(1_000) }
            }
        }
        holder.start()
        while !holding.load(ordering: .acquiring) { usleep(1_000) }
        let own = pthread_self()
        let tally = Tally(32)
        let strays = Mutex(0)
        WorkerTeam.shared.forEach(32, whenBusy: .callingThread) { index in
            let start = DispatchTime.now().uptimeNanoseconds
            while DispatchTime.now().uptimeNanoseconds - start < 200_000 {}
            tally.record(index)
            if pthread_self() != own { strays.withLock { $0 += 1 } }
        }
        release.store(true, ordering: .releasing)
        #expect(tally.allOnce)
        #expect(strays.withLock { $0 } == 0)
    }

    @Test func concurrentAndNestedLoopsRunEveryIterationOnce() {
        let outer = 8
        let inner = 16
        let tallies = (0..<outer).map { _ in Tally(inner) }
        // Several callers at once: one holds the team, the others run on `concurrentPerform`.
        DispatchQueue.concurrentPerform(iterations: 4) { caller in
            for _ in 0..<200 {
                let tally = Tally(inner)
                WorkerTeam.shared.forEach(inner) { tally.record($0) }
                #expect(tally.allOnce, "caller \(caller)")
            }
        }
        // A loop inside a loop runs on the outer iteration's thread alone: the outer loop has the cores already.
        let strays = Mutex(0)
        WorkerTeam.shared.forEach(outer) { o in
            let own = pthread_self()
            WorkerTeam.shared.forEach(inner) { i in
                tallies[o].record(i)
                if pthread_self() != own { strays.withLock { $0 += 1 } }
            }
        }
        #expect(tallies.allSatisfy { $0.allOnce })
        #expect(strays.withLock { $0 } == 0)
    }
}

extension WorkerTeamTests {
    /// The count the workers read to stop spinning beside another busy process: at least the reading thread itself.
    @Test func runnableThreadsCountsTheCaller() throws {
        let runnable = try #require(WorkerTeam.runnableThreads())
        #expect(runnable >= 1)
    }
}

/// Beside another busy process the team's threads keep to cores of their own (``CorePlacement``), and go back to every
/// core once the machine is quiet.
@Suite struct CorePlacementTests {
    @Test func pinsTheCallingThreadToItsOwnCoreAndReleasesIt() {
        let cpus = CorePlacement.allowedCPUs()
        #expect(!cpus.isEmpty)
        #expect(CorePlacement(threads: cpus.count + 1) == nil)
        #expect(CorePlacement(threads: 1) == nil)
        guard cpus.count > 1, let placement = CorePlacement(threads: cpus.count) else { return }
        #expect(cpus.count == 2 || CorePlacement(threads: 2) == nil)
        // On a thread of its own, so that a failure leaves no test thread pinned.
        let seen = Mutex<[[Int]]>([])
        let done = DispatchSemaphore(value: 0)
        Thread {
            for index in [0, cpus.count - 1] {
                placement.pin(thread: index)
                seen.withLock { $0.append(CorePlacement.allowedCPUs()) }
            }
            placement.release()
            seen.withLock { $0.append(CorePlacement.allowedCPUs()) }
            done.signal()
        }.start()
        done.wait()
        #expect(seen.withLock { $0 } == [[cpus[0]], [cpus[cpus.count - 1]], cpus])
    }

    @Test(.enabled(if: Matrix.threadCount > 1 && CorePlacement(threads: Matrix.threadCount) != nil))
    func theTeamKeepsToCoresOfItsOwnWhileTheMachineIsCrowded() {
        let everyCPU = CorePlacement.allowedCPUs()
        /// Runs loops until one has each of its threads on every CPU (`pinned` false) or each on one CPU of its own
        /// (`pinned` true), for at most 5 s; returns whether one did.
        func loopsUntil(pinned: Bool) -> Bool {
            let deadline = DispatchTime.now().uptimeNanoseconds + 5_000_000_000
            while DispatchTime.now().uptimeNanoseconds < deadline {
                let placements = Mutex<[pthread_t: [Int]]>([:])
                WorkerTeam.shared.forEach(16) { _ in
                    let start = DispatchTime.now().uptimeNanoseconds
                    while DispatchTime.now().uptimeNanoseconds - start < 200_000 {}
                    let cpus = CorePlacement.allowedCPUs()
                    placements.withLock { $0[pthread_self()] = cpus }
                }
                let seen = placements.withLock { Array($0.values) }
                guard seen.count > 1 else { continue }
                if pinned ? seen.allSatisfy({ $0.count == 1 }) && Set(seen).count == seen.count
                    : seen.allSatisfy({ $0 == everyCPU })
                {
                    return true
                }
            }
            return false
        }
        // As many spinning threads as cores: the machine has more threads that want to run than cores.
        let stop = Atomic<Bool>(false)
        let hogs = ProcessInfo.processInfo.activeProcessorCount
        let stopped = DispatchSemaphore(value: 0)
        for _ in 0..<hogs {
            Thread {
                while !stop.load(ordering: .relaxed) {}
                stopped.signal()
            }.start()
        }
        let pinnedWhileCrowded = loopsUntil(pinned: true)
        stop.store(true, ordering: .relaxed)
        for _ in 0..<hogs { stopped.wait() }
        #expect(pinnedWhileCrowded)
        #expect(loopsUntil(pinned: false))
    }
}
