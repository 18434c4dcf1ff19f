#ifndef WHISPER_CBLAS_SHIM_H
#define WHISPER_CBLAS_SHIM_H
#include <cblas.h>
#endif
