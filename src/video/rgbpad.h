/* rgbpad.h - a padded copy of a packed RGB24 frame for swscale.
 *
 * swscale's SIMD loads read a few bytes past the end of their source (seen
 * with valgrind: 16-byte loads 12 bytes before the end of a frame).  From a
 * caller's exactly sized buffer those bytes are whatever lies beyond it, and
 * the converted frame, hence the encoded clip, then depends on the memory
 * allocator's history: concurrent jobs made H.264 clips differ run to run.
 * Converting from a zero-padded copy of ours keeps outputs byte-identical. */
#ifndef VL_RGBPAD_H
#define VL_RGBPAD_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define VL_SWS_PAD 64

/* Copies bytes of rgb into *buf (allocated on first use, bytes + VL_SWS_PAD,
 * the padding zero) and returns *buf; the caller frees *buf. */
static inline const uint8_t *vl_rgb_padded(uint8_t **buf, const uint8_t *rgb, size_t bytes)
{
    if (!*buf) {
        *buf = calloc(bytes + VL_SWS_PAD, 1);
        if (!*buf) abort();
    }
    memcpy(*buf, rgb, bytes);
    return *buf;
}

#endif
