/* convert.c - the CPU converter: swscale from the decoded format to RGB24,
 * by the frame's colour tags, with crop, scale and placement in one pass.
 *
 * Crop moves the source plane pointers (the corner on the chroma grid);
 * formats whose planes cannot be offset (palettes, bitstreams) are
 * converted whole to RGB24 first and cropped there.  When scaling, the
 * picture goes to planar GBR and is interleaved, where that gives the
 * same bytes as packed RGB24 (planar_is_exact): swscale has SIMD output
 * only for the planar form.  Colour: set_colour, as ffmpeg's scale filter.
 * vlbuild has no conversion matrices of its own. */
#include "video/convert.h"

#include <stdlib.h>
#include <string.h>

#include <libavutil/hwcontext.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "video/probe.h"

struct vl_convert {
    int out_w, out_h;
    enum vl_convert_interp interp;
    struct SwsContext *sws;
    struct SwsContext *sws_whole; /* to RGB at the source size, for formats not cropped in place */
    int planar;                   /* 1: scale to planar GBR, then interleave */
    uint8_t *planes;              /* G, B, R planes of one picture, planes_stride a row */
    size_t planes_size;
    int planes_stride;
    uint8_t *rows;                /* packed RGB24 rows at a 16-pixel stride (see vl_convert_frame) */
    size_t rows_size;
    uint8_t *whole;               /* the whole frame in RGB24 (convert_whole) */
    int src_w, src_h, src_fmt;    /* the frames the plan is for */
    int crop[4];                  /* x, y, w, h of the source used, stored pixels */
    int place[4];                 /* where it lands in the output */
    int convert_whole;            /* 1: convert the whole frame to RGB, then crop that */
    int colour_cs, colour_range;  /* the tags the contexts were last set for */
    int colour_dirty;             /* 1: set the contexts' colour before the next conversion */
};

int vl_convert_create(int out_w, int out_h, enum vl_convert_interp interp,
                      struct vl_convert **out, struct vl_error *err)
{
    *out = NULL;
    if (out_w < 1 || out_h < 1)
        return vl_error_set(err, "cannot convert to a %dx%d picture", out_w, out_h);
    struct vl_convert *c = calloc(1, sizeof *c);
    if (!c) abort();
    c->out_w = out_w, c->out_h = out_h, c->interp = interp;
    c->src_fmt = -1;
    *out = c;
    return 0;
}

/* Sets sws's conversion from YUV to the matrix and range f is tagged with,
 * as ffmpeg's scale filter does with its default in_color_matrix=auto
 * (libavfilter/vf_scale.c): swscale's coefficients of f->colorspace, BT.601
 * (SMPTE 170M) for an untagged stream and for values swscale has none for
 * (RGB, YCgCo), the same table for the output side; the input range from
 * f->color_range when tagged, else swscale's own choice (full range for the
 * yuvj formats, limited otherwise); the output range left as swscale has it.
 * Nothing is done about the transfer: no tone mapping. */
static void set_colour(struct SwsContext *sws, const AVFrame *f)
{
    int *inv, *table, src_full, dst_full, brightness, contrast, saturation;
    if (!sws || sws_getColorspaceDetails(sws, &inv, &src_full, &table, &dst_full, &brightness,
                                         &contrast, &saturation) < 0)
        return;
    inv = table = (int *)sws_getCoefficients(vl_probe_rgb_matrix(f->colorspace));
    if (f->color_range != AVCOL_RANGE_UNSPECIFIED) src_full = f->color_range == AVCOL_RANGE_JPEG;
    sws_setColorspaceDetails(sws, inv, src_full, table, dst_full, brightness, contrast,
                             saturation);
}

/* The interpolation; when scaling, chroma is interpolated at full output
 * width (without it, RGB output takes chroma at half width and a sharp
 * colour edge is off by up to 80 levels against convert-then-scale). */
static int sws_flags(enum vl_convert_interp interp, int scaling)
{
    int flags = interp == VL_CONVERT_AREA       ? SWS_AREA
                : interp == VL_CONVERT_BILINEAR ? SWS_BILINEAR
                                                : SWS_BICUBIC;
    return scaling ? flags | SWS_FULL_CHR_H_INT : flags;
}

/* Interleaves planes G, B, R (stride gstride) of w x h into packed RGB24. */
static void interleave_gbr(const uint8_t *g, const uint8_t *b, const uint8_t *rp, int gstride,
                           int w, int h, uint8_t *dst, int dst_stride)
{
    for (int y = 0; y < h; y++) {
        const uint8_t *restrict gr = g + (size_t)y * gstride, *restrict br = b + (size_t)y * gstride,
                                *restrict rr = rp + (size_t)y * gstride;
        uint8_t *restrict d = dst + (size_t)y * dst_stride;
        for (int x = 0; x < w; x++) d[3 * x] = rr[x], d[3 * x + 1] = gr[x], d[3 * x + 2] = br[x];
    }
}

/* 1 when swscale gives the same bytes scaling sw x sh of fmt to dw x dh in
 * planar GBR (then interleaved) as in packed RGB24, checked once per
 * geometry on a picture of fixed pseudo-random bytes.  The two share every
 * step and their final yuv-to-RGB arithmetic (full-resolution chroma) is
 * the same, but swscale has SIMD code only for the planar one, which is
 * about twice as fast; for packed RGB24 it also picks special one- and
 * two-tap vertical paths (upscaling, near 1:1) that round differently, and
 * then this says no and the packed conversion is kept. */
static int planar_is_exact(int sw, int sh, enum AVPixelFormat fmt, int dw, int dh, int flags,
                           const AVFrame *colour)
{
    struct SwsContext *packed = sws_getContext(sw, sh, fmt, dw, dh, AV_PIX_FMT_RGB24, flags,
                                               NULL, NULL, NULL);
    struct SwsContext *planar = sws_getContext(sw, sh, fmt, dw, dh, AV_PIX_FMT_GBRP, flags,
                                               NULL, NULL, NULL);
    set_colour(packed, colour);
    set_colour(planar, colour);
    uint8_t *src[4] = {0};
    int src_stride[4];
    int size = packed && planar ? av_image_alloc(src, src_stride, sw + 64, sh + 2, fmt, 64) : -1;
    int exact = 0;
    if (size > 0) {
        uint64_t x = 0x9e3779b97f4a7c15ull; /* xorshift64: the same picture every time */
        for (int i = 0; i < size; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            src[0][i] = (uint8_t)(x >> 32);
        }
        int stride = (dw + 63) & ~63;
        size_t plane = (size_t)stride * dh + 256, rgb = (size_t)dw * 3 * dh;
        uint8_t *buf = malloc(3 * plane + 2 * rgb + (size_t)dw * 3 + 256);
        if (!buf) abort();
        uint8_t *out[4] = {buf, buf + plane, buf + 2 * plane}, *a = buf + 3 * plane, *b = a + rgb;
        int out_stride[4] = {stride, stride, stride}, a_stride[4] = {dw * 3};
        sws_scale(planar, (const uint8_t *const *)src, src_stride, 0, sh, out, out_stride);
        interleave_gbr(out[0], out[1], out[2], stride, dw, dh, b, dw * 3);
        sws_scale(packed, (const uint8_t *const *)src, src_stride, 0, sh, (uint8_t *[4]){a},
                  a_stride);
        exact = !memcmp(a, b, rgb);
        free(buf);
        av_freep(&src[0]);
    }
    sws_freeContext(packed);
    sws_freeContext(planar);
    return exact;
}

int vl_convert_needs_plan(const struct vl_convert *c, const AVFrame *f)
{
    return f->width != c->src_w || f->height != c->src_h || f->format != c->src_fmt;
}

void vl_convert_plan(struct vl_convert *c, const AVFrame *f, const int crop[4],
                     const int place[4])
{
    memcpy(c->crop, crop, sizeof c->crop);
    memcpy(c->place, place, sizeof c->place);
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get((enum AVPixelFormat)f->format);
    int cropped = c->crop[2] != f->width || c->crop[3] != f->height;
    c->convert_whole = cropped && (!d || (d->flags & (AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_BITSTREAM |
                                                      AV_PIX_FMT_FLAG_HWACCEL)));
    if (cropped && !c->convert_whole) { /* the corner on the chroma grid, as vf_crop does */
        c->crop[0] &= ~((1 << d->log2_chroma_w) - 1);
        c->crop[1] &= ~((1 << d->log2_chroma_h) - 1);
    }
    c->src_w = f->width, c->src_h = f->height, c->src_fmt = f->format;
    c->colour_dirty = 1; /* the contexts may be new */
    free(c->whole);
    c->whole = NULL;
    int scaling = c->crop[2] != c->place[2] || c->crop[3] != c->place[3];
    c->planar = scaling && planar_is_exact(c->crop[2], c->crop[3],
                                           c->convert_whole ? AV_PIX_FMT_RGB24
                                                            : (enum AVPixelFormat)f->format,
                                           c->place[2], c->place[3], sws_flags(c->interp, 1), f);
}

int vl_convert_planar(const struct vl_convert *c)
{
    return c->planar;
}

/* Points src at the crop rectangle of f's planes. */
static void crop_planes(const struct vl_convert *c, const AVFrame *f, const uint8_t *src[4])
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get((enum AVPixelFormat)f->format);
    int rgb = (d->flags & AV_PIX_FMT_FLAG_RGB) != 0;
    for (int p = 0; p < 4; p++) {
        src[p] = f->data[p];
        if (!f->data[p]) continue;
        int k = 0;
        while (k < d->nb_components && d->comp[k].plane != p) k++;
        if (k == d->nb_components) continue;
        int chroma = !rgb && (k == 1 || k == 2);
        int x = chroma ? c->crop[0] >> d->log2_chroma_w : c->crop[0];
        int y = chroma ? c->crop[1] >> d->log2_chroma_h : c->crop[1];
        src[p] += (ptrdiff_t)y * f->linesize[p] + (ptrdiff_t)x * d->comp[k].step;
    }
}

/* Blackens what lies outside the placed picture of an RGB24 image. */
static void blacken_outside(uint8_t *img, int w, int h, const int place[4])
{
    if (place[0] == 0 && place[1] == 0 && place[2] == w && place[3] == h) return;
    size_t row = (size_t)w * 3;
    memset(img, 0, (size_t)place[1] * row);
    for (int y = place[1]; y < place[1] + place[3]; y++) {
        uint8_t *line = img + (size_t)y * row;
        memset(line, 0, (size_t)place[0] * 3);
        memset(line + (size_t)(place[0] + place[2]) * 3, 0, (size_t)(w - place[0] - place[2]) * 3);
    }
    memset(img + (size_t)(place[1] + place[3]) * row, 0, (size_t)(h - place[1] - place[3]) * row);
}

int vl_convert_frame(struct vl_convert *c, const AVFrame *f, uint8_t *base, const char *path,
                     struct vl_error *err)
{
    if ((int)f->colorspace != c->colour_cs || (int)f->color_range != c->colour_range)
        c->colour_dirty = 1;
    const uint8_t *src[4] = {0};
    int src_stride[4] = {0};
    enum AVPixelFormat src_fmt = (enum AVPixelFormat)f->format;
    if (c->convert_whole) {
        c->sws_whole = sws_getCachedContext(c->sws_whole, f->width, f->height, src_fmt, f->width,
                                            f->height, AV_PIX_FMT_RGB24, SWS_BICUBIC, NULL, NULL,
                                            NULL);
        if (!c->sws_whole)
            return vl_error_set(err, "%s: cannot convert %dx%d frames to RGB", path, f->width,
                                f->height);
        if (c->colour_dirty) set_colour(c->sws_whole, f);
        if (!c->whole && !(c->whole = malloc((size_t)f->width * (f->height + 1) * 3 + 256)))
            abort();
        uint8_t *dst[4] = {c->whole};
        int stride[4] = {f->width * 3};
        sws_scale(c->sws_whole, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst,
                  stride);
        src[0] = c->whole + ((size_t)c->crop[1] * f->width + c->crop[0]) * 3;
        src_stride[0] = f->width * 3;
        src_fmt = AV_PIX_FMT_RGB24;
    } else {
        crop_planes(c, f, src);
        memcpy(src_stride, f->linesize, sizeof src_stride);
    }
    int scaling = c->crop[2] != c->place[2] || c->crop[3] != c->place[3];
    c->sws = sws_getCachedContext(c->sws, c->crop[2], c->crop[3], src_fmt, c->place[2],
                                  c->place[3], c->planar ? AV_PIX_FMT_GBRP : AV_PIX_FMT_RGB24,
                                  sws_flags(c->interp, scaling), NULL, NULL, NULL);
    if (!c->sws)
        return vl_error_set(err, "%s: cannot convert %dx%d frames to RGB", path, f->width,
                            f->height);
    if (c->colour_dirty) {
        set_colour(c->sws, f);
        c->colour_cs = f->colorspace, c->colour_range = f->color_range, c->colour_dirty = 0;
    }
    /* rows written past their end land in the black bars (blackened after)
     * or in the slack after the picture */
    uint8_t *dst[4] = {base + ((size_t)c->place[1] * c->out_w + c->place[0]) * 3};
    int stride[4] = {c->out_w * 3};
    if (c->planar) {
        int ps = (c->place[2] + 63) & ~63;
        size_t plane = (size_t)ps * c->place[3] + 256; /* slack: SIMD rows overrun */
        if (c->planes_size < 3 * plane || c->planes_stride != ps) {
            free(c->planes);
            if (!(c->planes = malloc(3 * plane))) abort();
            c->planes_size = 3 * plane, c->planes_stride = ps;
        }
        uint8_t *pl[4] = {c->planes, c->planes + plane, c->planes + 2 * plane};
        int pstride[4] = {ps, ps, ps};
        sws_scale(c->sws, src, src_stride, 0, c->crop[3], pl, pstride);
        interleave_gbr(pl[0], pl[1], pl[2], ps, c->place[2], c->place[3], dst[0], stride[0]);
    } else if (c->place[2] % 16) {
        /* swscale's yuv420p converters write both rows of a pair in blocks
         * of 8 pixels, so the tail of the first row, computed from chroma
         * padding the decoder left uninitialised, overwrites the head of
         * the second: convert at a 16-pixel stride and copy the rows. */
        int ps = ((c->place[2] + 15) & ~15) * 3;
        size_t need = (size_t)ps * (c->place[3] + 1) + 256;
        if (c->rows_size < need) {
            free(c->rows);
            if (!(c->rows = malloc(need))) abort();
            c->rows_size = need;
        }
        sws_scale(c->sws, src, src_stride, 0, c->crop[3], (uint8_t *[4]){c->rows}, (int[4]){ps});
        av_image_copy_plane(dst[0], stride[0], c->rows, ps, c->place[2] * 3, c->place[3]);
    } else {
        sws_scale(c->sws, src, src_stride, 0, c->crop[3], dst, stride);
    }
    blacken_outside(base, c->out_w, c->out_h, c->place);
    return 0;
}

void vl_convert_free(struct vl_convert *c)
{
    if (!c) return;
    sws_freeContext(c->sws);
    sws_freeContext(c->sws_whole);
    free(c->planes), free(c->rows), free(c->whole);
    free(c);
}

void vl_convert_picture(const AVFrame *f, struct vl_picture *pic)
{
    memset(pic, 0, sizeof *pic);
    enum AVPixelFormat fmt = (enum AVPixelFormat)f->format;
    pic->mem = VL_MEM_HOST;
    if (fmt == AV_PIX_FMT_CUDA && f->hw_frames_ctx) {
        fmt = ((const AVHWFramesContext *)(const void *)f->hw_frames_ctx->data)->sw_format;
        pic->mem = VL_MEM_DEVICE;
    } else {
        pic->decoded = f;
    }
    pic->format = fmt == AV_PIX_FMT_YUV420P || fmt == AV_PIX_FMT_YUVJ420P ? VL_PICTURE_YUV420P
                  : fmt == AV_PIX_FMT_YUV420P10LE                         ? VL_PICTURE_YUV420P10
                  : fmt == AV_PIX_FMT_NV12                                ? VL_PICTURE_NV12
                  : fmt == AV_PIX_FMT_P010LE || fmt == AV_PIX_FMT_P016LE  ? VL_PICTURE_P016
                                                                          : VL_PICTURE_OTHER;
    for (int i = 0; i < 3; i++) pic->plane[i] = f->data[i], pic->stride[i] = f->linesize[i];
    pic->width = f->width, pic->height = f->height;
    /* set_colour's choices */
    pic->matrix = vl_probe_rgb_matrix(f->colorspace);
    pic->full_range = f->color_range != AVCOL_RANGE_UNSPECIFIED
                          ? f->color_range == AVCOL_RANGE_JPEG
                          : fmt == AV_PIX_FMT_YUVJ420P || fmt == AV_PIX_FMT_YUVJ422P ||
                                fmt == AV_PIX_FMT_YUVJ444P || fmt == AV_PIX_FMT_YUVJ440P ||
                                fmt == AV_PIX_FMT_YUVJ411P;
}
