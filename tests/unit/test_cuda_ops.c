/* test_cuda_ops.c - every entry of the CUDA operations table (the module's
 * vl_cuda_module.ops, src/cuda/ops_table.cu) against the CPU table, on a
 * GPU, on odd and large frames (1x1 to 4095x2161), with host frames (the
 * staged path) and device frames (upload, a chain of entries, download):
 * - bit-exact: upload/download, crop, flip, rotate, colour jitter, blur,
 *   the yuv tables and crop/flip/map (8- and 10-bit), and every feature (the doubles and
 *   floats compared by their bytes);
 * - resize: the host emulation's bytes (resample_emulate.h) bit for bit,
 *   and within docs/gpu.md's tolerance of swscale (mean 1.0, max 8, p99.9 4
 *   levels; bicubic upscales 1.0, 12, 6; factors above 64: 8, 16, 16)
 *   where sources and targets are at least 16 pixels a side;
 * - convert: the device's bytes are the host emulation's of its steps
 *   (convert_emulate.h) bit for bit, and within test_cuda_convert_host's
 *   tolerance of the CPU converter (mean 1.0, max 4, p99.9 3 scaled);
 * - noise: other draws than the CPU's (counter-based generator): the same
 *   seed gives the same bytes twice, another seed others, and on a flat
 *   grey frame the noise has mean within 0.05 sigma of 0 and standard
 *   deviation within 2 % of sigma.
 * --small stops at 641x359 (for compute-sanitizer); --bench times the
 * converter instead (one table row, nothing asserted).  Label gpu: skips,
 * saying why, without CUDA or without a usable device.
 * VL_TEST_CUDA_OPS_EMULATED: tests/emu/ builds it a second time with the
 * table's host copies linked in (unit.test_cuda_ops_emu, run --small on
 * the SIMT emulator, no GPU); there resize must give the host emulation's
 * bytes (resample_emulate.h) and its tolerance of swscale is printed, not
 * asserted: kern/resample.h's arithmetic is outside it at some of the
 * geometries below (1x1 and 5x3 targets, 3x5 sources, bicubic upscales),
 * on a GPU too. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libavutil/pixdesc.h>

#include "convert_emulate.h"
#include "gpu/cuda_loader.h"
#include "ops/ops.h"

#ifdef VL_HAVE_CUDA
#ifdef VL_TEST_CUDA_OPS_EMULATED
/* tests/emu/'s build: the module is linked in (the table's host copies on
 * the SIMT emulator), not loaded from vlbuild-cuda.so */
extern const struct vl_cuda_module vl_cuda_module;
#endif

static int failures;
static struct vl_error err;
static const struct vl_ops *cpu, *gpu;
static struct vl_ops_ctx *cc, *gc;

static void check(int ok, const char *what, int w, int h)
{
    printf("%-28s %5dx%-5d %s\n", what, w, h, ok ? "ok" : "MISMATCH");
    failures += !ok;
}

/* the GPU entry's rc: on failure, the message and a failure */
static int ran(int rc, const char *what)
{
    if (rc == 0) rc = gpu->sync(gc, &err);
    if (rc < 0) {
        printf("%-28s FAILED: %s\n", what, err.msg);
        failures++;
    }
    return rc == 0;
}

static struct vl_frame frame(int w, int h)
{
    struct vl_frame f = {malloc((size_t)w * h * 3 + 1), w, h, VL_MEM_HOST};
    if (!f.rgb) abort();
    return f;
}

static void fill(struct vl_frame *f, uint64_t seed)
{
    for (int y = 0; y < f->height; y++)
        for (int x = 0; x < f->width; x++) {
            uint8_t *q = f->rgb + ((size_t)y * f->width + x) * 3;
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            q[0] = (uint8_t)(x * 7 + (seed >> 61));
            q[1] = (uint8_t)(((x / 9 + y / 7) & 1) ? 220 : 30);
            q[2] = (uint8_t)(seed >> 56);
        }
}

static int same(const struct vl_frame *a, const struct vl_frame *b)
{
    return a->width == b->width && a->height == b->height &&
           !memcmp(a->rgb, b->rgb, (size_t)a->width * a->height * 3);
}

/* resize: the device's bytes are the host emulation's of its arithmetic
 * (resample_emulate.h) bit for bit; against swscale the tolerance of
 * docs/gpu.md is asserted where it is claimed (sources and targets of at
 * least 16 pixels a side: on tinier ones swscale's own taps are far from
 * an exact filter, e.g. 93 levels off an exact bilinear at 3x5 to 224x224),
 * and printed everywhere */
static void resize_checks(const struct vl_frame *src)
{
    static const int to[][2] = {{224, 224}, {5, 3}, {641, 359}, {1, 1}};
    for (size_t t = 0; t < sizeof to / sizeof *to; t++)
        for (int kind = 0; kind < 3; kind++) {
            struct vl_frame want = frame(to[t][0], to[t][1]), got = frame(to[t][0], to[t][1]);
            struct vl_frame emulated = frame(to[t][0], to[t][1]);
            memset(got.rgb, 0xa5, (size_t)got.width * got.height * 3); /* poisoned */
            if (cpu->resize(cc, src, &want, (enum vl_interp)kind, &err) == 0 &&
                ran(gpu->resize(gc, src, &got, (enum vl_interp)kind, &err), "resize")) {
                vl_test_resample_emulate(src, &emulated, kind);
                check(same(&emulated, &got), "resize (the emulated steps)", src->width,
                      src->height);
                double mean;
                int max, p999;
                vl_test_diff_stats(want.rgb, got.rgb, (size_t)got.width * got.height * 3, &mean,
                                   &max, &p999);
                int far = src->width > 64 * got.width || src->height > 64 * got.height;
                /* bicubic upscales: swscale's overshoot at hard edges differs */
                int cubic_up = kind == VL_INTERP_BICUBIC &&
                               (got.width > src->width || got.height > src->height);
                int ok = mean <= (far ? 8.0 : 1.0) && max <= (far ? 16 : cubic_up ? 12 : 8) &&
                         p999 <= (far ? 16 : cubic_up ? 6 : 4);
                int claimed = src->width >= 16 && src->height >= 16 && got.width >= 16 &&
                              got.height >= 16;
                printf("resize %d %dx%d to %dx%d: mean %.3f max %d p99.9 %d%s\n", kind, src->width,
                       src->height, got.width, got.height, mean, max, p999,
                       claimed ? "" : " (not claimed)");
                if (claimed) check(ok, "resize (tolerance)", src->width, src->height);
            }
            free(want.rgb), free(got.rgb), free(emulated.rgb);
        }
}

static void geometry_colour_checks(const struct vl_frame *src)
{
    int w = src->width, h = src->height;
    struct vl_frame a = frame(w, h), b = frame(w, h);
    /* crop */
    int cw = w > 2 ? w - 2 : w, ch = h > 2 ? h - 2 : h;
    struct vl_frame ca = frame(cw, ch), cb = frame(cw, ch);
    if (cpu->crop(cc, src, w - cw, h - ch, &ca, &err) == 0 &&
        ran(gpu->crop(gc, src, w - cw, h - ch, &cb, &err), "crop"))
        check(same(&ca, &cb), "crop", w, h);
    free(ca.rgb), free(cb.rgb);
    /* flip */
    memcpy(a.rgb, src->rgb, (size_t)w * h * 3), memcpy(b.rgb, src->rgb, (size_t)w * h * 3);
    if (cpu->flip_horizontal(cc, &a, &err) == 0 && ran(gpu->flip_horizontal(gc, &b, &err), "flip"))
        check(same(&a, &b), "flip_horizontal", w, h);
    /* rotate */
    static const double angles[] = {17.5, 90, -33, 180};
    for (size_t k = 0; k < 4; k++)
        if (cpu->rotate(cc, src, &a, angles[k], &err) == 0 &&
            ran(gpu->rotate(gc, src, &b, angles[k], &err), "rotate"))
            check(same(&a, &b), "rotate", w, h);
    /* colour jitter, with and without contrast and hue */
    static const struct vl_color_jitter js[] = {
        {1.2, 1, 1, 0}, {0.8, 1.3, 0.6, 0.1}, {1, 0.7, 1, -0.25}, {1, 1, 1.4, 0}};
    for (size_t k = 0; k < 4; k++) {
        memcpy(a.rgb, src->rgb, (size_t)w * h * 3), memcpy(b.rgb, src->rgb, (size_t)w * h * 3);
        if (cpu->color_jitter(cc, &a, &js[k], &err) == 0 &&
            ran(gpu->color_jitter(gc, &b, &js[k], &err), "color_jitter"))
            check(same(&a, &b), "color_jitter", w, h);
    }
    /* blur */
    static const double sigmas[] = {0.8, 2.5};
    for (size_t k = 0; k < 2; k++) {
        memcpy(a.rgb, src->rgb, (size_t)w * h * 3), memcpy(b.rgb, src->rgb, (size_t)w * h * 3);
        if (cpu->gaussian_blur(cc, &a, sigmas[k], &err) == 0 &&
            ran(gpu->gaussian_blur(gc, &b, sigmas[k], &err), "gaussian_blur"))
            check(same(&a, &b), "gaussian_blur", w, h);
    }
    free(a.rgb), free(b.rgb);
}

static void noise_checks(int w, int h)
{
    struct vl_frame a = frame(w, h), b = frame(w, h);
    size_t n = (size_t)w * h * 3;
    memset(a.rgb, 128, n), memset(b.rgb, 128, n);
    const double sigma = 10;
    if (!ran(gpu->gaussian_noise(gc, &a, sigma, 42, &err), "gaussian_noise") ||
        !ran(gpu->gaussian_noise(gc, &b, sigma, 42, &err), "gaussian_noise"))
        goto out;
    check(same(&a, &b), "noise: same seed, same bytes", w, h);
    double sum = 0, sq = 0;
    for (size_t i = 0; i < n; i++) sum += a.rgb[i] - 128.0, sq += (a.rgb[i] - 128.0) * (a.rgb[i] - 128.0);
    double mean = sum / n, sd = sqrt(sq / n - mean * mean);
    printf("noise sigma %.1f: mean %.4f sd %.4f\n", sigma, mean, sd);
    if (n >= 100000) check(fabs(mean) <= 0.05 * sigma && fabs(sd - sigma) <= 0.02 * sigma,
                           "noise: mean and sd", w, h);
    memset(b.rgb, 128, n);
    if (ran(gpu->gaussian_noise(gc, &b, sigma, 43, &err), "gaussian_noise") && n >= 16)
        check(!same(&a, &b), "noise: another seed, other bytes", w, h);
out:
    free(a.rgb), free(b.rgb);
}

static void feature_checks(const struct vl_frame *f, const struct vl_frame *g)
{
    int w = f->width, h = f->height;
    float ha[3 * 32], hb[3 * 32];
    if (cpu->hsv_histogram(cc, f, 32, ha, &err) == 0 &&
        ran(gpu->hsv_histogram(gc, f, 32, hb, &err), "hsv_histogram"))
        check(!memcmp(ha, hb, sizeof ha), "hsv_histogram", w, h);
    struct vl_motion ma, mb;
    if (cpu->motion(cc, f, g, &ma, &err) == 0 && ran(gpu->motion(gc, f, g, &mb, &err), "motion"))
        check(!memcmp(&ma, &mb, sizeof ma), "motion", w, h);
    double da, db;
    if (cpu->laplacian_variance(cc, f, &da, &err) == 0 &&
        ran(gpu->laplacian_variance(gc, f, &db, &err), "laplacian_variance"))
        check(!memcmp(&da, &db, sizeof da), "laplacian_variance", w, h);
    if (cpu->edge_density(cc, f, 200, &da, &err) == 0 &&
        ran(gpu->edge_density(gc, f, 200, &db, &err), "edge_density"))
        check(!memcmp(&da, &db, sizeof da), "edge_density", w, h);
    if (cpu->dct_high_ratio(cc, f, &da, &err) == 0 &&
        ran(gpu->dct_high_ratio(gc, f, &db, &err), "dct_high_ratio"))
        check(!memcmp(&da, &db, sizeof da), "dct_high_ratio", w, h);
}

/* the yuv entries at 8 bits, or (bits 10) the yuv10 ones on 16-bit
 * samples whose top bits are set too (the tables read the low 10) */
static void yuv_checks(int w, int h, int bits)
{
    int cw = (w + 1) / 2, chh = (h + 1) / 2, bytes = bits == 8 ? 1 : 2;
    size_t n_in = ((size_t)w * h + 2 * (size_t)cw * chh) * bytes;
    uint8_t *planes = malloc(n_in);
    if (!planes) abort();
    for (size_t i = 0; i < n_in; i++) planes[i] = (uint8_t)(i * 2654435761u >> 24);
    struct vl_yuv_frame src = {{planes, planes + (size_t)w * h * bytes,
                                planes + ((size_t)w * h + (size_t)cw * chh) * bytes},
                               {w * bytes, cw * bytes, cw * bytes}, w, h, 0, VL_MEM_HOST, 0};
    int x = w >= 4 ? 2 : 0, y = h >= 4 ? 2 : 0, dw = w - x, dh = h - y;
    struct vl_color_jitter j = {1.1, 0.8, 0.7, 0};
    uint8_t ya[256], ca[256], yb[256], cb[256];
    uint16_t ya10[1024], ca10[1024], yb10[1024], cb10[1024];
    const char *tables = bits == 8 ? "yuv_jitter_tables" : "yuv10_jitter_tables";
    if (bits == 8) {
        if (cpu->yuv_jitter_tables(cc, &src, x, y, dw, dh, &j, ya, ca, &err) == 0 &&
            ran(gpu->yuv_jitter_tables(gc, &src, x, y, dw, dh, &j, yb, cb, &err), tables))
            check(!memcmp(ya, yb, 256) && !memcmp(ca, cb, 256), tables, w, h);
    } else if (cpu->yuv10_jitter_tables(cc, &src, x, y, dw, dh, &j, ya10, ca10, &err) == 0 &&
               ran(gpu->yuv10_jitter_tables(gc, &src, x, y, dw, dh, &j, yb10, cb10, &err),
                   tables)) {
        check(!memcmp(ya10, yb10, sizeof ya10) && !memcmp(ca10, cb10, sizeof ca10), tables, w, h);
    }
    int dcw = (dw + 1) / 2, dch = (dh + 1) / 2;
    size_t n_out = ((size_t)dw * dh + 2 * (size_t)dcw * dch) * bytes;
    uint8_t *pa = calloc(1, n_out), *pb = malloc(n_out);
    if (!pa || !pb) abort();
    memset(pb, 0xa5, n_out);
    struct vl_yuv_frame da = {{pa, pa + (size_t)dw * dh * bytes,
                               pa + ((size_t)dw * dh + (size_t)dcw * dch) * bytes},
                              {dw * bytes, dcw * bytes, dcw * bytes}, dw, dh, 0, VL_MEM_HOST, 0};
    struct vl_yuv_frame db = da;
    for (int p = 0; p < 3; p++) db.plane[p] = pb + (da.plane[p] - pa);
    const char *map = bits == 8 ? "yuv_crop_flip_map" : "yuv10_crop_flip_map";
    for (int flip = 0; flip < 2; flip++) {
        int a = bits == 8 ? cpu->yuv_crop_flip_map(cc, &src, x, y, flip, ya, ca, &da, &err)
                          : cpu->yuv10_crop_flip_map(cc, &src, x, y, flip, ya10, ca10, &da, &err);
        int b = a < 0 ? -1
                : bits == 8 ? gpu->yuv_crop_flip_map(gc, &src, x, y, flip, ya, ca, &db, &err)
                            : gpu->yuv10_crop_flip_map(gc, &src, x, y, flip, ya10, ca10, &db,
                                                       &err);
        if (a == 0 && ran(b, map)) check(!memcmp(pa, pb, n_out), map, w, h);
    }
    free(planes), free(pa), free(pb);
}

/* the converter: host pictures (yuv420p, NV12, yuv420p10le) converted by
 * the device equal the host emulation of its steps bit for bit
 * (convert_emulate.h), and stay within test_cuda_convert_host's tolerance
 * of the CPU table's swscale converter */
static void convert_checks(int w, int h)
{
    static const enum AVPixelFormat fmts[] = {AV_PIX_FMT_YUV420P, AV_PIX_FMT_NV12,
                                              AV_PIX_FMT_YUV420P10LE};
    static const enum vl_picture_format pics[] = {VL_PICTURE_YUV420P, VL_PICTURE_NV12,
                                                  VL_PICTURE_YUV420P10};
    if (w < 2 || h < 2) return;
    for (size_t k = 0; k < sizeof fmts / sizeof *fmts; k++) {
        AVFrame *f = av_frame_alloc();
        if (!f) abort();
        f->format = fmts[k], f->width = w, f->height = h;
        f->colorspace = AVCOL_SPC_BT709, f->color_range = AVCOL_RANGE_MPEG;
        if (av_frame_get_buffer(f, 0) < 0) abort();
        vl_test_fill_picture(f, (uint64_t)k + 1);
        struct vl_picture pic = {pics[k], {f->data[0], f->data[1], f->data[2]},
                                 {f->linesize[0], f->linesize[1], f->linesize[2]}, w, h, 1, 0,
                                 VL_MEM_HOST, f};
        static const int to[][2] = {{224, 224}, {64, 48}};
        for (size_t t = 0; t < sizeof to / sizeof *to; t++) {
            int dw = to[t][0], dh = to[t][1];
            int crop[4] = {w / 8, h / 9, w - w / 4, h - h / 5}, place[4] = {0, dh / 8, dw, dh - dh / 4};
            if (crop[2] < 1 || crop[3] < 1) continue;
            struct vl_frame want = frame(dw, dh), got = frame(dw, dh), cpu_f = frame(dw, dh);
            memset(got.rgb, 0xa5, (size_t)dw * dh * 3); /* poisoned */
            struct vl_ops_convert *gconv, *cconv;
            if (gpu->convert_new(gc, dw, dh, VL_INTERP_AREA, &gconv, &err) < 0 ||
                cpu->convert_new(cc, dw, dh, VL_INTERP_AREA, &cconv, &err) < 0) {
                ran(-1, "convert_new");
                continue;
            }
            vl_test_convert_emulate(&pic, crop, place, VL_INTERP_AREA, &want);
            if (ran(gpu->convert(gc, gconv, &pic, crop, place, &got, &err), "convert"))
                check(same(&want, &got), "convert (the emulated steps)", w, h);
            if (cpu->convert(cc, cconv, &pic, crop, place, &cpu_f, &err) == 0) {
                double mean;
                int max, p999;
                vl_test_diff_stats(cpu_f.rgb, got.rgb, (size_t)dw * dh * 3, &mean, &max, &p999);
                printf("convert %s %dx%d to %dx%d: mean %.3f max %d p99.9 %d\n",
                       av_get_pix_fmt_name(fmts[k]), w, h, dw, dh, mean, max, p999);
                check(mean <= 1.0 && max <= 4 && p999 <= 3, "convert (tolerance)", w, h);
            }
            gpu->convert_free(gc, gconv), cpu->convert_free(cc, cconv);
            free(want.rgb), free(got.rgb), free(cpu_f.rgb);
        }
        av_frame_free(&f);
    }
}

/* --bench: the converter on a device-resident 1080p NV12 picture (as NVDEC
 * leaves it) to 224x224 RGB24 on the device, area, 200 frames after 10
 * warm-ups, wall time around the enqueues and one sync; prints one table
 * row for scripts/gpu-check.sh (no figure is asserted) */
static int convert_bench(const struct vl_cuda_module *m)
{
    enum { W = 1920, H = 1080, DW = 224, DH = 224, WARM = 10, N = 200 };
    size_t bytes = (size_t)W * H * 3 / 2;
    /* device memory for the planes: a device frame of at least that size */
    struct vl_frame host = frame(W, (int)((bytes + W * 3 - 1) / (W * 3)));
    struct vl_frame planes = {NULL, host.width, host.height, VL_MEM_DEVICE};
    struct vl_frame out = {NULL, DW, DH, VL_MEM_DEVICE};
    for (size_t i = 0; i < bytes; i++) host.rgb[i] = (uint8_t)(16 + (i * 2654435761u >> 24) % 220);
    struct vl_ops_convert *conv = NULL;
    if (m->frame_alloc(gc, &planes, &err) < 0 || m->frame_alloc(gc, &out, &err) < 0 ||
        gpu->upload(gc, &host, &planes, &err) < 0 ||
        gpu->convert_new(gc, DW, DH, VL_INTERP_AREA, &conv, &err) < 0) {
        fprintf(stderr, "FAIL: convert bench: %s\n", err.msg);
        return 1;
    }
    struct vl_picture pic = {VL_PICTURE_NV12, {planes.rgb, planes.rgb + (size_t)W * H, NULL},
                             {W, W, 0}, W, H, 1, 0, VL_MEM_DEVICE, NULL};
    int crop[4] = {0, 0, W, H}, place[4] = {0, 0, DW, DH};
    int rc = 0;
    struct timespec t0, t1;
    for (int i = 0; i < WARM + N && rc == 0; i++) {
        if (i == WARM) {
            rc = gpu->sync(gc, &err);
            clock_gettime(CLOCK_MONOTONIC, &t0);
        }
        if (rc == 0) rc = gpu->convert(gc, conv, &pic, crop, place, &out, &err);
    }
    if (rc == 0) rc = gpu->sync(gc, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc < 0) {
        fprintf(stderr, "FAIL: convert bench: %s\n", err.msg);
        return 1;
    }
    double us = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e3 / N;
    printf("| convert nv12 1920x1080 -> 224x224 area, device-resident | %.1f us/frame | "
           "%.0f frames/s | %.1f GB/s of picture read |\n",
           us, 1e6 / us, bytes / us / 1e3);
    gpu->convert_free(gc, conv);
    m->frame_free(gc, &planes), m->frame_free(gc, &out);
    free(host.rgb);
    return 0;
}

/* device frames: upload, crop + flip + rotate + jitter + blur on the
 * device, download; against the CPU's chain */
static void device_chain_checks(const struct vl_cuda_module *m, const struct vl_frame *src)
{
    int w = src->width, h = src->height;
    struct vl_frame d1 = {NULL, w, h, VL_MEM_DEVICE}, d2 = {NULL, w, h, VL_MEM_DEVICE};
    struct vl_frame a = frame(w, h), b = frame(w, h), back = frame(w, h);
    struct vl_color_jitter j = {0.9, 1.2, 0.8, 0.05};
    if (m->frame_alloc(gc, &d1, &err) < 0 || m->frame_alloc(gc, &d2, &err) < 0) {
        printf("frame_alloc FAILED: %s\n", err.msg);
        failures++;
        goto out;
    }
    if (ran(gpu->upload(gc, src, &d1, &err), "upload") &&
        ran(gpu->download(gc, &d1, &back, &err), "download"))
        check(same(src, &back), "upload + download", w, h);
    if (cpu->rotate(cc, src, &a, 23, &err) < 0 || cpu->flip_horizontal(cc, &a, &err) < 0 ||
        cpu->color_jitter(cc, &a, &j, &err) < 0 || cpu->gaussian_blur(cc, &a, 1.5, &err) < 0)
        goto out;
    int rc = gpu->rotate(gc, &d1, &d2, 23, &err);
    if (rc == 0) rc = gpu->flip_horizontal(gc, &d2, &err);
    if (rc == 0) rc = gpu->color_jitter(gc, &d2, &j, &err);
    if (rc == 0) rc = gpu->gaussian_blur(gc, &d2, 1.5, &err);
    if (rc == 0) rc = gpu->download(gc, &d2, &b, &err);
    if (ran(rc, "device chain")) check(same(&a, &b), "device chain", w, h);
    double da, db;
    if (cpu->dct_high_ratio(cc, &a, &da, &err) == 0 &&
        ran(gpu->dct_high_ratio(gc, &d2, &db, &err), "dct_high_ratio (device)"))
        check(!memcmp(&da, &db, sizeof da), "dct_high_ratio (device)", w, h);
out:
    m->frame_free(gc, &d1), m->frame_free(gc, &d2);
    free(a.rgb), free(b.rgb), free(back.rgb);
}
#endif

int main(int argc, char **argv)
{
    /* --small: up to 641x359, for compute-sanitizer's slower runs */
    int small = argc > 1 && !strcmp(argv[1], "--small");
#ifndef VL_HAVE_CUDA
    (void)small;
    printf("SKIP: vlbuild was built without CUDA\n");
    return 77;
#else
#ifdef VL_TEST_CUDA_OPS_EMULATED
    const struct vl_cuda_module *m = &vl_cuda_module;
#else
    if (!getenv("VLBUILD_CUDA_MODULE")) setenv("VLBUILD_CUDA_MODULE", VL_CUDA_MODULE_PATH, 1);
    const struct vl_cuda_module *m = vl_cuda_load(&err);
#endif
    if (!m) {
        fprintf(stderr, "FAIL: %s\n", err.msg);
        return 1;
    }
    if (!m->ops || !m->frame_alloc || !m->frame_free) {
        fprintf(stderr, "FAIL: the cuda module has no operations table\n");
        return 1;
    }
    char why[256] = "";
    if (m->probe(why, sizeof why) <= 0) {
        printf("SKIP: %s (the table is compiled, not run)\n", why);
        return 77;
    }
    cpu = vl_ops_cpu(), gpu = m->ops;
    struct vl_ops_ctx_opts opts = {.device = 0, .lane = 0};
    if (cpu->ctx_new(&opts, &cc, &err) < 0 || gpu->ctx_new(&opts, &gc, &err) < 0) {
        fprintf(stderr, "FAIL: ctx_new: %s\n", err.msg);
        return 1;
    }
    if (argc > 1 && !strcmp(argv[1], "--bench")) {
        int brc = convert_bench(m);
        gpu->ctx_free(gc), cpu->ctx_free(cc);
        return brc;
    }
    static const int sizes[][2] = {{1, 1},     {3, 5},      {17, 9},     {37, 23},
                                   {641, 359}, {1920, 1080}, {4095, 2161}};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        int w = sizes[s][0], h = sizes[s][1];
        if (small && w > 641) continue;
        struct vl_frame f = frame(w, h), g = frame(w, h);
        fill(&f, s + 1), fill(&g, s + 1);
        /* g: f moved one pixel right, for motion */
        for (int y = 0; y < h; y++)
            memmove(g.rgb + ((size_t)y * w + 1) * 3, f.rgb + (size_t)y * w * 3,
                    (size_t)(w - 1) * 3);
        resize_checks(&f);
        geometry_colour_checks(&f);
        noise_checks(w, h);
        feature_checks(&f, &g);
        yuv_checks(w, h, 8);
        yuv_checks(w, h, 10);
        convert_checks(w, h);
        device_chain_checks(m, &f);
        free(f.rgb), free(g.rgb);
    }
    gpu->ctx_free(gc), cpu->ctx_free(cc);
    if (failures) fprintf(stderr, "FAIL: %d checks of the cuda table against the cpu table\n",
                          failures);
    else printf("cuda ops: every entry matches the cpu table (bit-exact or within tolerance)\n");
    return failures != 0;
#endif
}
