/* cpu_convert.c - the CPU table's converter entries: the converter of
 * src/video/convert.h (swscale), planned again whenever the picture's size,
 * format or the crop and placement change.  It converts any decoded format
 * the picture's AVFrame has; it needs that frame (a picture given only by
 * its planes is refused). */
#include "ops/cpu.h"

#include <stdlib.h>
#include <string.h>

#include "video/convert.h"

struct vl_ops_convert {
    struct vl_convert *conv;
    int crop[4], place[4]; /* of the last plan */
    int planned;
};

int vl_cpu_convert_new(struct vl_ops_ctx *ctx, int out_w, int out_h, enum vl_interp interp,
                       struct vl_ops_convert **out, struct vl_error *err)
{
    (void)ctx;
    enum vl_convert_interp ci = interp == VL_INTERP_AREA       ? VL_CONVERT_AREA
                                : interp == VL_INTERP_BILINEAR ? VL_CONVERT_BILINEAR
                                                               : VL_CONVERT_BICUBIC;
    struct vl_ops_convert *c = calloc(1, sizeof *c);
    if (!c) abort();
    if (vl_convert_create(out_w, out_h, ci, &c->conv, err) < 0) {
        free(c);
        return -1;
    }
    *out = c;
    return 0;
}

int vl_cpu_convert_takes(struct vl_ops_ctx *ctx, enum vl_picture_format format, enum vl_mem mem)
{
    (void)ctx;
    (void)format;
    return mem == VL_MEM_HOST;
}

int vl_cpu_convert(struct vl_ops_ctx *ctx, struct vl_ops_convert *c, const struct vl_picture *pic,
                   const int crop[4], const int place[4], struct vl_frame *dst,
                   struct vl_error *err)
{
    (void)ctx;
    if (pic->mem != VL_MEM_HOST || dst->mem != VL_MEM_HOST)
        return vl_error_set(err, "cpu ops: convert was given a picture or frame in device memory "
                                 "(the cpu table works on host memory only)");
    if (!pic->decoded)
        return vl_error_set(err, "cpu ops: convert needs the decoded frame, not only its planes");
    const AVFrame *f = pic->decoded;
    if (!c->planned || vl_convert_needs_plan(c->conv, f) ||
        memcmp(crop, c->crop, sizeof c->crop) || memcmp(place, c->place, sizeof c->place)) {
        vl_convert_plan(c->conv, f, crop, place);
        memcpy(c->crop, crop, sizeof c->crop);
        memcpy(c->place, place, sizeof c->place);
        c->planned = 1;
    }
    return vl_convert_frame(c->conv, f, dst->rgb, "picture", err);
}

void vl_cpu_convert_free(struct vl_ops_ctx *ctx, struct vl_ops_convert *c)
{
    (void)ctx;
    if (!c) return;
    vl_convert_free(c->conv);
    free(c);
}
