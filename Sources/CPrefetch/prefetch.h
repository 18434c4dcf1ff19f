#ifndef WHISPER_PREFETCH_H
#define WHISPER_PREFETCH_H

/// Asks the CPU to start loading the cache line at `address` into every cache level (`prefetcht0`), for streams
/// that the hardware prefetcher follows too slowly. Swift has no prefetch intrinsic; this inlines to one instruction.
static inline __attribute__((always_inline)) void whisper_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

#endif
