internal import CAffinity

/// A core of its own for each of a ``WorkerTeam``'s threads (its caller and its workers), when the team has one thread
/// per CPU the process may use.
///
/// While another busy process shares the machine, more threads want to run than there are cores, and the scheduler
/// may put two of the team's threads on one core and leave the intruder a core to itself: a loop then runs on half the
/// team's share of the machine. Pinned apart, the team's threads each share at most their own core with the intruder,
/// and the thread that gets less of its core takes fewer of the loop's iterations (`tools/bench_contention.sh`
/// measures the difference; figures in docs/performance.md).
struct CorePlacement: Sendable {
    /// The CPUs the process may use (the affinity it started with), as the kernel's mask words.
    private let everyCore: [UInt]
    /// One CPU per team thread: the caller's first, then one per worker.
    private let ownCores: [[UInt]]

    /// Mask words: 1,024 CPUs.
    private static let words = 16

    /// The placement for `threads` threads, one on each CPU the calling thread may use; `nil` unless there are as many
    /// (with CPUs to spare, which ones the team should keep to is the scheduler's call).
    init?(threads: Int) {
        guard threads > 1, let mask = Self.affinityMask() else { return nil }
        let cpus = Self.cpus(in: mask)
        guard cpus.count == threads else { return nil }
        everyCore = mask
        ownCores = cpus.map { cpu in
            var own = [UInt](repeating: 0, count: Self.words)
            own[cpu / UInt.bitWidth] = 1 << (cpu % UInt.bitWidth)
            return own
        }
    }

    /// The CPUs the calling thread may run on, in increasing order (empty if the kernel does not say).
    static func allowedCPUs() -> [Int] { affinityMask().map(cpus(in:)) ?? [] }

    private static func affinityMask() -> [UInt]? {
        var mask = [UInt](repeating: 0, count: words)
        return whisper_get_affinity(&mask, mask.count) > 0 ? mask : nil
    }

    private static func cpus(in mask: [UInt]) -> [Int] {
        (0..<mask.count * UInt.bitWidth).filter { mask[$0 / UInt.bitWidth] >> ($0 % UInt.bitWidth) & 1 == 1 }
    }

    /// Lets the calling thread run only on the core of team thread `index` (0: the caller).
    func pin(thread index: Int) {
        ownCores[index].withUnsafeBufferPointer { _ = whisper_set_affinity($0.baseAddress, $0.count) }
    }

    /// Lets the calling thread run on every CPU the process may use again.
    func release() {
        everyCore.withUnsafeBufferPointer { _ = whisper_set_affinity($0.baseAddress, $0.count) }
    }
}
