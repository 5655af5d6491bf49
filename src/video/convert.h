/* convert.h - decoded frames to RGB24: colour matrix and range, crop,
 * scale and placement in one pass.
 *
 * The converter is the half of the reader that turns a decoded picture
 * into RGB; decoding stays in reader.c.  One is created per job for the
 * output picture's size and interpolation, planned for the frames' size,
 * format and geometry (again only when those change), then converts frame
 * after frame.  The matrix and range come from each frame's own tags, as
 * ffmpeg's scale filter takes them (docs/video.md, "Colour"); the transfer
 * is never acted on (no tone mapping).  This is the CPU converter, on
 * swscale; a device converter is meant to implement the same four calls
 * with the same bytes or stated tolerances.
 *
 * Output: out_w x out_h packed RGB24, full range, rows of out_w * 3 bytes,
 * the cropped source scaled into the placement rectangle and black around
 * it.  The destination must have VL_CONVERT_SLACK(out_w) writable bytes
 * past the picture's end (swscale's SIMD rows overrun a little). */
#ifndef VL_VIDEO_CONVERT_H
#define VL_VIDEO_CONVERT_H

#include <stddef.h>
#include <stdint.h>

#include <libavutil/frame.h>

#include "ops/ops.h"
#include "util/error.h"

#define VL_CONVERT_SLACK(out_w) VL_OPS_CONVERT_SLACK(out_w)

/* The interpolation when the output size differs from the crop's; the
 * values are the reader's enum vl_reader_interp. */
enum vl_convert_interp {
    VL_CONVERT_BICUBIC,
    VL_CONVERT_BILINEAR,
    VL_CONVERT_AREA,
};

struct vl_convert;

/* A converter to out_w x out_h RGB24 with interp; *out is freed by
 * vl_convert_free.  Errors on a size below 1. */
int vl_convert_create(int out_w, int out_h, enum vl_convert_interp interp,
                      struct vl_convert **out, struct vl_error *err);
/* Plans conversion of frames like f (size and pixel format): crop[4] is
 * the x, y, w, h of the stored picture to use (its corner is rounded down
 * to the chroma grid, as libavfilter's crop does), place[4] where it lands
 * in the output.  Call again when the frames' size or format change. */
void vl_convert_plan(struct vl_convert *c, const AVFrame *f, const int crop[4],
                     const int place[4]);
/* 1 when frames of f's size and format need vl_convert_plan first. */
int vl_convert_needs_plan(const struct vl_convert *c, const AVFrame *f);
/* Converts f into dst (out_w * out_h * 3 bytes plus the slack) by f's
 * colour tags; errors name path (no conversion from f's format). */
int vl_convert_frame(struct vl_convert *c, const AVFrame *f, uint8_t *dst, const char *path,
                     struct vl_error *err);
/* 1 when the plan scales through planar GBR then interleaves (the same
 * bytes as packed RGB24, faster; docs/transforms.md, "Planar detour"). */
int vl_convert_planar(const struct vl_convert *c);
/* Describes decoded frame f for an operations table's converter (ops.h):
 * its layout (a CUDA hardware frame's by its frames context, in device
 * memory), planes, and the matrix and range this converter would use for
 * it (its colour tags, else the defaults above); `decoded` is f for a host
 * frame. */
void vl_convert_picture(const AVFrame *f, struct vl_picture *pic);
/* Frees everything (NULL is fine). */
void vl_convert_free(struct vl_convert *c);

#endif
