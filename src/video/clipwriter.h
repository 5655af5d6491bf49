/* clipwriter.h - clips written as Matroska, FFV1 (lossless) or H.264.
 *
 * Frames go in as RGB24; FFV1 stores them as RGB (bgr0, 8 bits), so a clip
 * decodes back to the exact same bytes.  FFV1 in 4:2:0 stores them as
 * yuv420p (yuv444p when a side is odd): lossless coding of a lossy colour
 * conversion, about half the encoding work; FFV1 in 4:2:2 likewise as yuv422p
 * (yuv444p at an odd width); the _10 codecs likewise in yuv420p10le and
 * yuv422p10le (yuv444p10le at odd sides).  H.264 (libx264, crf) stores 4:2:0
 * (4:4:4 when a side is odd, which 4:2:0 cannot hold).  The YUV clips carry
 * the colour tags given (and are converted from RGB by them); RGB clips are
 * untagged.  Frames are timed in milliseconds, Matroska's unit: one after
 * the other at the rate given, or at the times given (the _at functions).
 * The file appears under its name only when vl_clipwriter_close succeeds. */
#ifndef VL_VIDEO_CLIPWRITER_H
#define VL_VIDEO_CLIPWRITER_H

#include <stdint.h>

#include "util/error.h"

enum vl_clip_codec {
    VL_CLIP_FFV1,
    VL_CLIP_H264,
    VL_CLIP_FFV1_420,
    VL_CLIP_FFV1_422,
    VL_CLIP_FFV1_420_10, /* 10-bit: yuv420p10le */
    VL_CLIP_FFV1_422_10, /* 10-bit: yuv422p10le */
};

struct vl_clipwriter_opts {
    enum vl_clip_codec codec;
    int width, height;
    int fps_num, fps_den; /* frame rate; 0/0: 25/1 */
    int crf;              /* H.264 quality, 0-51 (0: lossless luma); -1: 18 */
    const char *preset;   /* libx264 preset; NULL: "medium" */
    int threads;          /* encoder threads; 0: 1 */
    /* colour tags of the YUV clips (all but FFV1), libavutil's names; NULL
     * or "unknown": untagged (BT.601 limited range); ignored for FFV1 (RGB) */
    const char *matrix, *primaries, *transfer, *range;
};

struct vl_clipwriter;

/* Starts a clip at a temporary name beside path; *out is freed by close or
 * abort.  Errors name the file; a missing encoder is a clear error. */
int vl_clipwriter_open(const char *path, const struct vl_clipwriter_opts *opts,
                       struct vl_clipwriter **out, struct vl_error *err);
/* Encodes one RGB24 frame (width*height*3 bytes, rows packed), one frame
 * after the previous one at the clip's rate. */
int vl_clipwriter_write(struct vl_clipwriter *w, const uint8_t *rgb, struct vl_error *err);
/* Encodes one RGB24 frame at pts seconds, rounded to the millisecond; a time
 * that rounds to the previous frame's or before it is moved 1 ms after it
 * (Matroska cannot hold two frames at one time). */
int vl_clipwriter_write_at(struct vl_clipwriter *w, const uint8_t *rgb, double pts,
                           struct vl_error *err);
/* The planes (Y, U, V) of the next frame of a 4:2:0 clip (FFV1_420 or
 * FFV1_420_10 at even sizes) or a 4:2:2 clip (FFV1_422 or FFV1_422_10 at
 * an even width; 10-bit samples 16-bit little-endian), to fill and pass on
 * with vl_clipwriter_submit: no RGB, no copy. */
int vl_clipwriter_next_planes(struct vl_clipwriter *w, uint8_t *plane[3], int stride[3],
                              struct vl_error *err);
/* Encodes the frame filled through vl_clipwriter_next_planes at pts
 * seconds, as vl_clipwriter_write_at times it. */
int vl_clipwriter_submit_at(struct vl_clipwriter *w, double pts, struct vl_error *err);
/* Flushes the encoder, finishes the file and renames it into place; frees
 * w whatever happens, and on failure deletes the temporary file. */
int vl_clipwriter_close(struct vl_clipwriter *w, struct vl_error *err);
/* Deletes the temporary file and frees w (NULL is fine). */
void vl_clipwriter_abort(struct vl_clipwriter *w);

#endif
