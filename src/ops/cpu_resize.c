/* cpu_resize.c - RGB24 resizing on the CPU with libswscale.
 *
 * The SwsContext is cached in the job's context and rebuilt only when the
 * sizes or the interpolation change, so resizing a stream of same-sized
 * frames allocates nothing after the first call.
 *
 * Two details matter for exactness:
 * - swscale converts packed RGB through YUV unless the output is planar
 *   RGB, which costs a level or two of colour; we scale to GBRP (planar,
 *   staying in RGB) and interleave the planes back, so a same-size resize
 *   returns the input bytes and a flat colour stays that exact colour.
 * - swscale's SIMD loops may write a little past the last row, so it writes
 *   into scratch planes with slack, never into the caller's frame. */
#include "ops/cpu.h"

#include <stdlib.h>
#include <string.h>

#include <libavutil/pixfmt.h>
#include <libswscale/swscale.h>

#define PLANE_SLACK 256

struct vl_cpu_resize_state {
    struct SwsContext *sws;
    uint8_t *planes; /* G, B, R planes of the output, each plane_stride * height + slack */
    size_t planes_size;
};

static int sws_flags(enum vl_interp interp)
{
    /* full-precision chroma is moot in RGB; accurate rounding keeps flat
     * colours exact */
    int base = SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT | SWS_FULL_CHR_H_INP;
    switch (interp) {
    case VL_INTERP_AREA: return base | SWS_AREA;
    case VL_INTERP_BILINEAR: return base | SWS_BILINEAR;
    case VL_INTERP_BICUBIC: return base | SWS_BICUBIC;
    }
    return base | SWS_BICUBIC;
}

int vl_cpu_resize(struct vl_ops_ctx *ctx, const struct vl_frame *src, struct vl_frame *dst,
                  enum vl_interp interp, struct vl_error *err)
{
    if (src->width <= 0 || src->height <= 0 || dst->width <= 0 || dst->height <= 0)
        return vl_error_set(err, "resize: bad frame size %dx%d -> %dx%d", src->width,
                            src->height, dst->width, dst->height);
    if (src->width == dst->width && src->height == dst->height) {
        memcpy(dst->rgb, src->rgb, (size_t)src->width * src->height * 3);
        return 0;
    }
    if (!ctx->resize && !(ctx->resize = calloc(1, sizeof *ctx->resize))) abort();
    struct vl_cpu_resize_state *s = ctx->resize;
    s->sws = sws_getCachedContext(s->sws, src->width, src->height, AV_PIX_FMT_RGB24, dst->width,
                                  dst->height, AV_PIX_FMT_GBRP, sws_flags(interp), NULL, NULL,
                                  NULL);
    if (!s->sws)
        return vl_error_set(err, "resize: swscale cannot scale %dx%d to %dx%d", src->width,
                            src->height, dst->width, dst->height);
    int stride = (dst->width + 63) & ~63;
    size_t plane = (size_t)stride * dst->height + PLANE_SLACK;
    if (s->planes_size < 3 * plane) {
        free(s->planes);
        if (!(s->planes = malloc(3 * plane))) abort();
        s->planes_size = 3 * plane;
    }
    uint8_t *g = s->planes, *b = g + plane, *r = b + plane;
    uint8_t *out[4] = {g, b, r, NULL};
    int out_stride[4] = {stride, stride, stride, 0};
    const uint8_t *in[4] = {src->rgb, NULL, NULL, NULL};
    int in_stride[4] = {src->width * 3, 0, 0, 0};
    sws_scale(s->sws, in, in_stride, 0, src->height, out, out_stride);
    for (int y = 0; y < dst->height; y++) {
        const uint8_t *gr = g + (size_t)y * stride, *br = b + (size_t)y * stride,
                      *rr = r + (size_t)y * stride;
        uint8_t *d = dst->rgb + (size_t)y * dst->width * 3;
        for (int x = 0; x < dst->width; x++, d += 3) d[0] = rr[x], d[1] = gr[x], d[2] = br[x];
    }
    return 0;
}

void vl_cpu_resize_free(struct vl_cpu_resize_state *s)
{
    if (!s) return;
    sws_freeContext(s->sws);
    free(s->planes);
    free(s);
}
