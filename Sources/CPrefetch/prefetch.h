#ifndef WHISPER_PREFETCH_H
#define WHISPER_PREFETCH_H

/// Asks the CPU to start loading the cache line at `address` into every cache level (`prefetcht0`), for streams
/// that the hardware prefetcher follows too slowly. Swift has no prefetch intrinsic; this inlines to one instruction.
static inline __attribute__((always_inline)) void whisper_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

/// Tells the CPU that the calling thread is spinning on a value another thread will change (`pause`): the loop
/// yields execution resources and leaves it without a memory-order mis-speculation.
static inline __attribute__((always_inline)) void whisper_pause(void) {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
}

#endif
