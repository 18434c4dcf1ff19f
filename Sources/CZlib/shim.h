#ifndef WHISPER_CZLIB_SHIM_H
#define WHISPER_CZLIB_SHIM_H
#include <zlib.h>
#endif
