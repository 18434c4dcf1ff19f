import Foundation

/// What the CPU must offer, and the matrix libraries' and allocator's settings for it.
enum BLASEnvironment {
    /// The engine's kernels are compiled for x86-64 with AVX2, FMA and F16C (Haswell, 2013, and later).
    static let requiredFlags = ["avx2", "fma", "f16c"]

    /// Exits with a one-line error on an x86 CPU without ``requiredFlags`` (rather than dying on an illegal
    /// instruction), then picks OpenBLAS's kernels.
    ///
    /// Debian's OpenBLAS 0.3.21 does not recognise recent x86 CPUs and falls back to its slowest (Prescott, SSE3)
    /// kernels, several times slower; its Haswell kernels are correct on any CPU with AVX2 and FMA. Its idle threads
    /// also spin, yielding, for about 2²⁸ cycles after each call, stealing the core the decoder's own threads need
    /// between the encoder's products; `OPENBLAS_THREAD_TIMEOUT=4` puts them to sleep at once. oneDNN's OpenMP
    /// threads likewise spin after each product against the threads that run the encoder's attention and the
    /// decoder; `OMP_WAIT_POLICY=PASSIVE` makes them sleep, and products are as fast. glibc gives every thread that
    /// allocates its own heap and keeps freed encoder activations in each, so a server's peak RSS grows with its
    /// workers and the kernels' helper threads; `MALLOC_ARENA_MAX=2` bounds the heaps. The libraries
    /// read these variables when they load, before `main`, so when one is unset the process re-executes itself once
    /// with it set. An operator's own settings are always kept.
    static func prepare() {
        #if arch(x86_64)
        guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let flagsLine = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        let missing = requiredFlags.filter { !flags.contains($0) }
        guard missing.isEmpty else {
            FileHandle.standardError.write(
                Data("error: this CPU lacks \(missing.joined(separator: ", ")), which whisper-server's kernels need\n".utf8))
            exit(1)
        }
        let defaults = [
            "OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_THREAD_TIMEOUT": "4", "OMP_WAIT_POLICY": "PASSIVE",
            "MALLOC_ARENA_MAX": "2",
        ]
        let unset = defaults.filter { ProcessInfo.processInfo.environment[$0.key] == nil }
        guard !unset.isEmpty else { return }
        for (name, value) in unset { setenv(name, value, 1) }
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // exec failed: carry on with the library's own choice.
        #endif
    }
}
