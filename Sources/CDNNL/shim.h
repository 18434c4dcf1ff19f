#ifndef WHISPER_CDNNL_SHIM_H
#define WHISPER_CDNNL_SHIM_H
#include <oneapi/dnnl/dnnl.h>

/// OpenMP (libgomp), which Debian's oneDNN runs its threads on: the calling thread's team size for later calls.
void omp_set_num_threads(int count);
#endif
