#ifndef WHISPER_VNNI_H
#define WHISPER_VNNI_H

/// Sixteen 32-bit lanes; Swift sees `SIMD16<Int32>`.
typedef int whisper_int32x16 __attribute__((ext_vector_type(16)));
typedef int whisper_m512i __attribute__((vector_size(64)));

/// `vpdpbusd`: each 32-bit lane of `sums` plus the four products of the unsigned bytes of `unsignedBytes` with the
/// signed bytes of `signedBytes` in the same lane. LLVM does not form this instruction from Swift's vector code; this
/// wrapper inlines to it in Swift code compiled for a CPU with AVX512-VNNI (callers check the CPU).
static inline __attribute__((always_inline, target("avx512f,avx512vnni")))
whisper_int32x16 whisper_dot_bytes(whisper_int32x16 sums, whisper_int32x16 unsignedBytes, whisper_int32x16 signedBytes) {
    return (whisper_int32x16)__builtin_ia32_vpdpbusd512(
        (whisper_m512i)sums, (whisper_m512i)unsignedBytes, (whisper_m512i)signedBytes);
}

#endif
