#ifndef WHISPER_AFFINITY_H
#define WHISPER_AFFINITY_H

#include <stddef.h>
#include <sys/syscall.h>
#include <unistd.h>

/// The CPUs the calling thread may run on, as a bit mask of `words` words (CPU n is bit n % 64 of word n / 64).
/// Returns the bytes the kernel wrote, or -1. (glibc's `CPU_SET` family are macros, which Swift cannot call.)
static inline long whisper_get_affinity(unsigned long *mask, size_t words) {
    return syscall(SYS_sched_getaffinity, 0, words * sizeof(unsigned long), mask);
}

/// Lets the calling thread run only on the CPUs of `mask` (`words` words, as above). Returns 0, or -1.
static inline long whisper_set_affinity(const unsigned long *mask, size_t words) {
    return syscall(SYS_sched_setaffinity, 0, words * sizeof(unsigned long), mask);
}

#endif
