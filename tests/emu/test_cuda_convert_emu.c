/* test_cuda_convert_emu.c - the CUDA table's converter (src/cuda/convert.cu)
 * on the SIMT emulator, on the paths tests/unit/test_cuda_ops.c does not
 * take it (its convert checks scale host yuv420p, NV12 and yuv420p10le
 * pictures by area): windows kept at their size (4:2:0 chroma kept at half
 * resolution), odd crop corners and sizes, bilinear and bicubic, P016
 * pictures, BT.601 and full range, padded plane pitches, device pictures (planes used in place,
 * NVDEC's case, behind convert's wait on the legacy stream) and device
 * output frames, with and without black borders.  Every output must be the
 * bytes of convert_emulate.h's host emulation of the steps, which
 * test_cuda_convert_host holds against the CPU converter.
 *
 * Prints one line per case; exits 1 when any differs or fails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert_emulate.h"
#include "emu.h"
#include "gpu/cuda_module.h"
#include "ops/ops.h"

extern const struct vl_cuda_module vl_cuda_module; /* module.cu's copy */

static const struct vl_cuda_module *m = &vl_cuda_module;
static struct vl_ops_ctx *ctx;
static int failures;

/* a picture's planes in one host buffer, each row pitch bytes apart (more
 * than its bytes: padded; 0 for a plane the layout lacks) */
struct planes {
    uint8_t *bytes;
    size_t size, offset[3];
    int pitch[3];
};

static const char *format_name(enum vl_picture_format f)
{
    return f == VL_PICTURE_YUV420P     ? "yuv420p"
           : f == VL_PICTURE_YUV420P10 ? "yuv420p10"
           : f == VL_PICTURE_NV12      ? "nv12"
                                       : "p016";
}

/* Lays out and fills a w x h picture of format f: luma gradients with a
 * hard-edged box and noise, chroma smooth with a saturated patch, 16-bit
 * samples with low bits set. */
static void make_planes(enum vl_picture_format f, int w, int h, struct planes *p)
{
    memset(p, 0, sizeof *p);
    for (int i = 0; i < 3; i++) {
        size_t rows, row_bytes;
        vl_kern_picture_plane((int)f, i, w, h, &rows, &row_bytes);
        if (!rows) continue;
        p->pitch[i] = (int)row_bytes + 6;
        p->offset[i] = p->size;
        p->size += rows * (size_t)p->pitch[i];
    }
    if (!(p->bytes = malloc(p->size))) abort();
    memset(p->bytes, 0x5a, p->size); /* the padding */
    uint64_t seed = (uint64_t)f * 977 + (uint64_t)w * 31 + (uint64_t)h;
    int wide = f == VL_PICTURE_YUV420P10 || f == VL_PICTURE_P016;
    for (int i = 0; i < 3; i++) {
        size_t rows, row_bytes;
        vl_kern_picture_plane((int)f, i, w, h, &rows, &row_bytes);
        size_t samples = row_bytes >> wide;
        for (size_t y = 0; y < rows; y++)
            for (size_t x = 0; x < samples; x++) {
                seed = seed * 6364136223846793005ull + 1442695040888963407ull;
                int box = i == 0 && x > samples / 3 && x < samples / 2 && y > rows / 4;
                int patch = i > 0 && x > samples / 2 && y > rows / 2;
                int v = i == 0  ? (box ? 220 : 20 + (int)(x * 200 / samples) + (int)(seed >> 61))
                        : patch ? (x & 1 ? 200 : 60)
                                : 100 + (int)((x + y) * 50 / (samples + rows));
                uint8_t *q = p->bytes + p->offset[i] + y * (size_t)p->pitch[i];
                if (!wide) {
                    q[x] = (uint8_t)v;
                    continue;
                }
                /* 10 bits, or P016's 16 with the low ones set */
                unsigned s = f == VL_PICTURE_P016 ? (unsigned)v << 8 | (unsigned)(seed >> 56)
                                                  : (unsigned)v << 2 | (unsigned)(seed >> 62);
                q[2 * x] = (uint8_t)s, q[2 * x + 1] = (uint8_t)(s >> 8);
            }
    }
}

/* pic: the planes at base (host or device memory, as mem says); the
 * semi-planar layouts BT.601 (AVCOL_SPC_BT470BG) limited range, yuv420p
 * BT.709 full range, yuv420p10 BT.709 limited */
static struct vl_picture picture_at(enum vl_picture_format f, int w, int h, const struct planes *p,
                                    const uint8_t *base, enum vl_mem mem)
{
    int semi = f == VL_PICTURE_NV12 || f == VL_PICTURE_P016;
    struct vl_picture pic = {.format = f,
                             .width = w,
                             .height = h,
                             .matrix = semi ? 5 : 1,
                             .full_range = f == VL_PICTURE_YUV420P,
                             .mem = mem};
    for (int i = 0; i < 3; i++)
        if (p->pitch[i]) pic.plane[i] = base + p->offset[i], pic.stride[i] = p->pitch[i];
    return pic;
}

struct geometry {
    const char *what;
    int out_w, out_h;
    int crop[4], place[4]; /* crop's size -1: the picture's less its corner */
};

/* One conversion of pic (host or device) into a host or device frame,
 * against the emulation of the host picture; a line, and a failure when it
 * differs. */
static void convert_case(const struct vl_picture *host_pic, const struct vl_picture *pic,
                         const struct geometry *g, enum vl_interp interp, enum vl_mem out_mem)
{
    static const char *interps[] = {"area", "bilinear", "bicubic"};
    int crop[4] = {g->crop[0], g->crop[1], g->crop[2], g->crop[3]};
    if (crop[2] < 0) crop[2] = pic->width - crop[0];
    if (crop[3] < 0) crop[3] = pic->height - crop[1];
    size_t bytes = (size_t)g->out_w * g->out_h * 3;
    struct vl_frame want = {malloc(bytes), g->out_w, g->out_h, VL_MEM_HOST};
    struct vl_frame got = {malloc(bytes), g->out_w, g->out_h, VL_MEM_HOST};
    struct vl_frame dev = {NULL, g->out_w, g->out_h, VL_MEM_DEVICE};
    struct vl_ops_convert *conv = NULL;
    struct vl_error err = {{0}};
    if (!want.rgb || !got.rgb) abort();
    memset(got.rgb, 0xa5, bytes); /* poisoned */
    vl_test_convert_emulate(host_pic, crop, g->place, interp, &want);
    const struct vl_ops *ops = m->ops;
    unsigned long faults = emu_faults();
    int rc = ops->convert_new(ctx, g->out_w, g->out_h, interp, &conv, &err);
    if (rc == 0 && out_mem == VL_MEM_DEVICE) {
        rc = m->frame_alloc(ctx, &dev, &err);
        if (rc == 0) rc = ops->convert(ctx, conv, pic, crop, g->place, &dev, &err);
        if (rc == 0) rc = ops->download(ctx, &dev, &got, &err);
    } else if (rc == 0) {
        rc = ops->convert(ctx, conv, pic, crop, g->place, &got, &err);
    }
    if (rc == 0) rc = ops->sync(ctx, &err);
    int same = rc == 0 && emu_faults() == faults && !memcmp(want.rgb, got.rgb, bytes);
    printf("%-9s %4dx%-4d %-6s -> %-6s %-23s %-8s crop %d,%d %dx%d: %s%s\n",
           format_name(pic->format), pic->width, pic->height,
           pic->mem == VL_MEM_DEVICE ? "device" : "host",
           out_mem == VL_MEM_DEVICE ? "device" : "host", g->what, interps[interp], crop[0], crop[1],
           crop[2], crop[3],
           rc < 0 ? "FAILED: "
           : same ? "ok"
                  : "DIFFERS",
           rc < 0 ? err.msg : "");
    failures += !same;
    if (conv) ops->convert_free(ctx, conv);
    m->frame_free(ctx, &dev);
    free(want.rgb), free(got.rgb);
}

/* The planes of p copied to the device (an upload into a device frame
 * large enough); NULL rgb on failure. */
static struct vl_frame to_device(const struct planes *p)
{
    int w = 64, h = (int)((p->size + 64 * 3 - 1) / (64 * 3));
    struct vl_frame host = {calloc((size_t)w * h, 3), w, h, VL_MEM_HOST};
    struct vl_frame dev = {NULL, w, h, VL_MEM_DEVICE};
    struct vl_error err = {{0}};
    if (!host.rgb) abort();
    memcpy(host.rgb, p->bytes, p->size);
    if (m->frame_alloc(ctx, &dev, &err) < 0 || m->ops->upload(ctx, &host, &dev, &err) < 0 ||
        m->ops->sync(ctx, &err) < 0) {
        printf("device picture: FAILED: %s\n", err.msg);
        failures++;
        m->frame_free(ctx, &dev);
    }
    free(host.rgb);
    return dev;
}

int main(void)
{
    static const enum vl_picture_format formats[] = {VL_PICTURE_YUV420P, VL_PICTURE_NV12,
                                                     VL_PICTURE_YUV420P10, VL_PICTURE_P016};
    static const int sizes[][2] = {{2, 2}, {37, 23}, {100, 61}};
    struct vl_error err = {{0}};
    struct vl_ops_ctx_opts opts = {.device = 0, .lane = 0};
    if (m->ops->ctx_new(&opts, &ctx, &err) < 0) {
        fprintf(stderr, "FAIL: ctx_new: %s\n", err.msg);
        return 1;
    }
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        int w = sizes[s][0], h = sizes[s][1];
        /* kept at its size (placed with borders, and filling the frame), an
         * odd corner and size scaled, the whole picture scaled */
        int kw = w > 3 ? w - 3 : w, kh = h > 2 ? h - 2 : h;
        const struct geometry geometries[] = {
            {"kept, bordered",
             kw + 4,
             kh + 3,
             {w > 3 ? 3 : 0, h > 2 ? 1 : 0, kw, kh},
             {2, 1, kw, kh}},
            {"kept, whole", w, h, {0, 0, w, h}, {0, 0, w, h}},
            {"odd corner, scaled", 29, 17, {w > 3 ? 3 : 0, h > 2 ? 1 : 0, -1, -1}, {0, 0, 29, 17}},
            {"whole, scaled, bordered", 24, 24, {0, 0, w, h}, {0, 5, 24, 14}},
        };
        for (size_t k = 0; k < sizeof formats / sizeof *formats; k++) {
            struct planes p;
            make_planes(formats[k], w, h, &p);
            struct vl_picture host_pic = picture_at(formats[k], w, h, &p, p.bytes, VL_MEM_HOST);
            struct vl_frame dev = to_device(&p);
            for (size_t g = 0; g < sizeof geometries / sizeof *geometries; g++)
                for (int in_dev = 0; in_dev < 2; in_dev++) {
                    if (in_dev && !dev.rgb) continue;
                    struct vl_picture pic =
                        in_dev ? picture_at(formats[k], w, h, &p, dev.rgb, VL_MEM_DEVICE)
                               : host_pic;
                    enum vl_interp interp = (enum vl_interp)((g + k + s) % 3);
                    convert_case(&host_pic, &pic, &geometries[g], interp,
                                 g % 2 ? VL_MEM_DEVICE : VL_MEM_HOST);
                }
            m->frame_free(ctx, &dev);
            free(p.bytes);
        }
    }
    m->ops->ctx_free(ctx);
    printf("%lu kernel launches, %lu emulator faults\n", emu_launches(), emu_faults());
    if (failures)
        fprintf(stderr, "FAIL: %d conversions differ from the emulated steps\n", failures);
    return failures != 0;
}
