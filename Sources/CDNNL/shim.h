#ifndef WHISPER_CDNNL_SHIM_H
#define WHISPER_CDNNL_SHIM_H
#include <oneapi/dnnl/dnnl.h>

/// OpenMP (libgomp), which Debian's oneDNN runs its threads on: the calling thread's team size for later calls.
void omp_set_num_threads(int count);

/// oneDNN's execution argument kinds (macros defined through other macros, which Swift does not import).
static const int whisper_dnnl_arg_src = DNNL_ARG_SRC;
static const int whisper_dnnl_arg_weights = DNNL_ARG_WEIGHTS;
static const int whisper_dnnl_arg_bias = DNNL_ARG_BIAS;
static const int whisper_dnnl_arg_dst = DNNL_ARG_DST;
static const int whisper_dnnl_arg_from = DNNL_ARG_FROM;
static const int whisper_dnnl_arg_to = DNNL_ARG_TO;
static const int whisper_dnnl_arg_scratchpad = DNNL_ARG_SCRATCHPAD;
#endif
