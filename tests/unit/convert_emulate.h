/* convert_emulate.h - the CUDA table's converter (src/cuda/convert.cu, the
 * steps of src/ops/kern/picture.h) run on the host, and the test pictures
 * its tests convert: the host test holds the emulation against the CPU
 * table, the GPU test holds the device against the emulation, bit for bit. */
#ifndef VL_TEST_CONVERT_EMULATE_H
#define VL_TEST_CONVERT_EMULATE_H

#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>

#include "ops/kern/picture.h"
#include "resample_emulate.h"

/* picture-like planes: gradients, a hard-edged box, mild noise; chroma
 * smooth with one saturated patch */
static inline void vl_test_fill_picture(AVFrame *f, uint64_t seed)
{
    int wide = f->format == AV_PIX_FMT_YUV420P10LE, nv12 = f->format == AV_PIX_FMT_NV12;
    int w = f->width, h = f->height, cw = (w + 1) / 2, ch = (h + 1) / 2;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            int n = (int)(seed >> 61) - 4;
            int box = x > w / 3 && x < w / 2 && y > h / 4 && y < 3 * h / 4;
            int v = box ? 220 : 20 + x * 200 / (w > 1 ? w - 1 : 1) + n;
            v = v < 16 ? 16 : v > 235 ? 235 : v;
            if (wide) ((uint16_t *)(f->data[0] + (size_t)y * f->linesize[0]))[x] = (uint16_t)(v * 4 + (n & 3));
            else f->data[0][(size_t)y * f->linesize[0] + x] = (uint8_t)v;
        }
    for (int y = 0; y < ch; y++)
        for (int x = 0; x < cw; x++) {
            int patch = x > cw / 2 && y > ch / 2;
            int u = patch ? 60 : 128 + (x * 40 / (cw > 1 ? cw - 1 : 1)) - 20;
            int v = patch ? 200 : 128 + (y * 30 / (ch > 1 ? ch - 1 : 1)) - 15;
            if (wide) {
                ((uint16_t *)(f->data[1] + (size_t)y * f->linesize[1]))[x] = (uint16_t)(u * 4);
                ((uint16_t *)(f->data[2] + (size_t)y * f->linesize[2]))[x] = (uint16_t)(v * 4);
            } else if (nv12) {
                f->data[1][(size_t)y * f->linesize[1] + 2 * x] = (uint8_t)u;
                f->data[1][(size_t)y * f->linesize[1] + 2 * x + 1] = (uint8_t)v;
            } else {
                f->data[1][(size_t)y * f->linesize[1] + x] = (uint8_t)u;
                f->data[2][(size_t)y * f->linesize[2] + x] = (uint8_t)v;
            }
        }
}

/* the CUDA converter's steps (kern/picture.h) on the host */
static inline void vl_test_convert_emulate(const struct vl_picture *pic, const int crop[4], const int place[4],
                    enum vl_interp interp, struct vl_frame *dst)
{
    int f = (int)pic->format, x0 = crop[0] & ~1, y0 = crop[1] & ~1, w = crop[2], h = crop[3];
    int pw = place[2], ph = place[3], cwin[4];
    vl_kern_chroma_window(x0, y0, w, h, pic->width, pic->height, cwin);
    int cw = cwin[2], ch = cwin[3];
    struct vl_kern_yuv_coeffs k;
    vl_kern_yuv_coeffs(pic->matrix, pic->full_range, &k);
    uint8_t *yw = malloc((size_t)w * h), *uw = malloc((size_t)cw * ch), *vw = malloc((size_t)cw * ch);
    uint8_t *ys = malloc((size_t)pw * ph), *us = malloc((size_t)pw * ph), *vs = malloc((size_t)pw * ph);
    if (!yw || !uw || !vw || !ys || !us || !vs) abort();
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            yw[(size_t)y * w + x] = (uint8_t)vl_kern_picture_luma(f, pic->plane, pic->stride,
                                                                  x0 + x, y0 + y);
    for (int y = 0; y < ch; y++)
        for (int x = 0; x < cw; x++) {
            int u, v;
            vl_kern_picture_chroma(f, pic->plane, pic->stride, cwin[0] + x, cwin[1] + y, &u, &v);
            uw[(size_t)y * cw + x] = (uint8_t)u, vw[(size_t)y * cw + x] = (uint8_t)v;
        }
    int kind = interp == VL_INTERP_AREA ? VL_KERN_AREA
               : interp == VL_INTERP_BILINEAR ? VL_KERN_BILINEAR
                                              : VL_KERN_BICUBIC;
    int tw, th;
    vl_kern_chroma_target(f, w != pw || h != ph, pw, ph, cw, ch, &tw, &th);
    vl_test_resample_plane(yw, w, h, 1, ys, pw, ph, kind);
    vl_test_resample_plane(uw, cw, ch, 1, us, tw, th, kind);
    vl_test_resample_plane(vw, cw, ch, 1, vs, tw, th, kind);
    memset(dst->rgb, 0, (size_t)dst->width * dst->height * 3);
    for (int y = 0; y < ph; y++)
        for (int x = 0; x < pw; x++) {
            size_t o = (size_t)y * pw + x;
            size_t c = (size_t)(th < ph ? y >> 1 : y) * tw + (size_t)(tw < pw ? x >> 1 : x);
            vl_kern_yuv_to_rgb(&k, ys[o], us[c], vs[c],
                               dst->rgb + ((size_t)(place[1] + y) * dst->width + place[0] + x) * 3);
        }
    free(yw), free(uw), free(vw), free(ys), free(us), free(vs);
}

/* Host taps for one plane (vl_kern_plane_taps), freed by the caller
 * through taps->fx (one block). */
static inline void vl_test_plane_taps(int kind, int sw, int sh, int dw, int dh,
                                      struct vl_kern_plane_taps *t)
{
    *t = (struct vl_kern_plane_taps){sw, sh, dw, dh, 0, 0, NULL, NULL, NULL, NULL};
    if (sw == dw && sh == dh) return;
    t->ntx = vl_kern_resample_ntaps(kind, sw, dw), t->nty = vl_kern_resample_ntaps(kind, sh, dh);
    int32_t *b = malloc(sizeof(int32_t) * ((size_t)dw * (1 + t->ntx) + (size_t)dh * (1 + t->nty)));
    if (!b) abort();
    int32_t *fx = b, *wx = fx + dw, *fy = wx + (size_t)dw * t->ntx, *wy = fy + dh;
    vl_kern_resample_taps(kind, sw, dw, t->ntx, fx, wx);
    vl_kern_resample_taps(kind, sh, dh, t->nty, fy, wy);
    t->fx = fx, t->wx = wx, t->fy = fy, t->wy = wy;
}

/* The device's fused converter (vl_kern_convert_pixel, one call per output
 * pixel) run on the host: the bytes the CUDA kernel writes. */
static inline void vl_test_convert_fused(const struct vl_picture *pic, const int crop[4],
                                         const int place[4], enum vl_interp interp,
                                         struct vl_frame *dst)
{
    int f = (int)pic->format, x0 = crop[0] & ~1, y0 = crop[1] & ~1, w = crop[2], h = crop[3];
    int pw = place[2], ph = place[3], cwin[4], tw, th;
    vl_kern_chroma_window(x0, y0, w, h, pic->width, pic->height, cwin);
    vl_kern_chroma_target(f, w != pw || h != ph, pw, ph, cwin[2], cwin[3], &tw, &th);
    int kind = interp == VL_INTERP_AREA       ? VL_KERN_AREA
               : interp == VL_INTERP_BILINEAR ? VL_KERN_BILINEAR
                                              : VL_KERN_BICUBIC;
    struct vl_kern_plane_taps tl, tc;
    vl_test_plane_taps(kind, w, h, pw, ph, &tl);
    vl_test_plane_taps(kind, cwin[2], cwin[3], tw, th, &tc);
    struct vl_kern_yuv_coeffs k;
    vl_kern_yuv_coeffs(pic->matrix, pic->full_range, &k);
    memset(dst->rgb, 0, (size_t)dst->width * dst->height * 3);
    for (int y = 0; y < ph; y++)
        for (int x = 0; x < pw; x++)
            vl_kern_convert_pixel(&k, f, pic->plane, pic->stride, x0, y0, cwin[0], cwin[1], &tl,
                                  &tc, x, y,
                                  dst->rgb + ((size_t)(place[1] + y) * dst->width + place[0] + x) * 3);
    free((void *)tl.fx), free((void *)tc.fx);
}

#endif
