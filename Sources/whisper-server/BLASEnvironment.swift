import Foundation

/// OpenBLAS kernel selection for the CPU this runs on.
enum BLASEnvironment {
    /// Debian's OpenBLAS 0.3.21 does not recognise recent x86 CPUs and falls back to its slowest (Prescott, SSE3)
    /// kernels, several times slower; its Haswell kernels are correct on any CPU with AVX2 and FMA. OpenBLAS reads
    /// `OPENBLAS_CORETYPE` when it loads, before `main`, so when the variable is unset the process re-executes
    /// itself once with it set. An operator's own setting is always kept.
    static func selectCoreType() {
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil,
            let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let flagsLine = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return }
        let flags = Set(flagsLine.split(separator: " "))
        guard flags.contains("avx2"), flags.contains("fma") else { return }
        setenv("OPENBLAS_CORETYPE", "Haswell", 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // exec failed: carry on with the library's own choice.
    }
}
