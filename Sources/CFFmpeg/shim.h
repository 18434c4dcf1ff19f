#ifndef WHISPER_CFFMPEG_SHIM_H
#define WHISPER_CFFMPEG_SHIM_H
#include <errno.h>
#include <stdio.h>
#include <libavformat/avformat.h>
#include <libavformat/avio.h>
#include <libavcodec/avcodec.h>
#include <libavutil/avutil.h>
#include <libavutil/channel_layout.h>
#include <libavutil/error.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>

/* Function-like and compound macros are not visible to Swift: each gets a prefixed inline shim. */

/** AVERROR(EAGAIN): the decoder wants more input before it can output a frame. */
static inline int whisper_averror_eagain(void) { return AVERROR(EAGAIN); }

/** AVERROR(EINVAL): returned by the seek callback for an impossible position. */
static inline int whisper_averror_einval(void) { return AVERROR(EINVAL); }

/** AVERROR_EOF: end of the input or of the decoder's output. */
static inline int whisper_averror_eof(void) { return AVERROR_EOF; }

/** AVERROR_DECODER_NOT_FOUND: FFmpeg knows the stream but has no decoder for its codec. */
static inline int whisper_averror_decoder_not_found(void) { return AVERROR_DECODER_NOT_FOUND; }

/** AVSEEK_SIZE: the whence value with which FFmpeg asks the seek callback for the total size. */
static inline int whisper_avseek_size(void) { return AVSEEK_SIZE; }

/** AVSEEK_FORCE: a flag FFmpeg may OR into whence; it carries no meaning for an in-memory reader. */
static inline int whisper_avseek_force(void) { return AVSEEK_FORCE; }

/** AV_CHANNEL_LAYOUT_MONO, a compound literal in C. */
static inline AVChannelLayout whisper_channel_layout_mono(void) {
    AVChannelLayout layout = AV_CHANNEL_LAYOUT_MONO;
    return layout;
}

/** av_err2str without its compound literal: writes FFmpeg's text for `error` into `buffer`. */
static inline void whisper_av_strerror(int error, char *buffer, size_t size) {
    if (av_strerror(error, buffer, size) < 0) {
        snprintf(buffer, size, "FFmpeg error %d", error);
    }
}

#endif
