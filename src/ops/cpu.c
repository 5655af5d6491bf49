/* cpu.c - the CPU dispatch table: the entries of struct vl_ops around the
 * CPU implementation's functions (cpu.h).  Every entry finishes its work
 * before it returns, so sync has nothing to wait for; a frame in device
 * memory is refused, since the CPU table has no device. */
#include "ops/cpu.h"

#include <stdlib.h>
#include <string.h>

static int ctx_new(const struct vl_ops_ctx_opts *opts, struct vl_ops_ctx **out,
                   struct vl_error *err)
{
    (void)opts;
    (void)err;
    *out = calloc(1, sizeof **out);
    if (!*out) abort();
    return 0;
}

static void ctx_free(struct vl_ops_ctx *ctx)
{
    if (!ctx) return;
    vl_cpu_resize_free(ctx->resize);
    vl_cpu_filter_free(ctx->filter);
    vl_cpu_feature_free(ctx->feature);
    free(ctx);
}

/* 0 when every frame given is in host memory, else -1 naming the entry. */
static int host_only(const char *entry, enum vl_mem a, enum vl_mem b, struct vl_error *err)
{
    if (a == VL_MEM_HOST && b == VL_MEM_HOST) return 0;
    return vl_error_set(err,
                        "cpu ops: %s was given a frame in device memory (the cpu table "
                        "works on host frames only)",
                        entry);
}

static int copy_frame(const char *entry, const struct vl_frame *src, struct vl_frame *dst,
                      struct vl_error *err)
{
    if (host_only(entry, src->mem, dst->mem, err) < 0) return -1;
    if (src->width != dst->width || src->height != dst->height)
        return vl_error_set(err, "cpu ops: %s from %dx%d into %dx%d", entry, src->width,
                            src->height, dst->width, dst->height);
    memcpy(dst->rgb, src->rgb, (size_t)src->width * src->height * 3);
    return 0;
}

static int upload(struct vl_ops_ctx *ctx, const struct vl_frame *src, struct vl_frame *dst,
                  struct vl_error *err)
{
    (void)ctx;
    return copy_frame("upload", src, dst, err);
}

static int download(struct vl_ops_ctx *ctx, const struct vl_frame *src, struct vl_frame *dst,
                    struct vl_error *err)
{
    (void)ctx;
    return copy_frame("download", src, dst, err);
}

static int sync_all(struct vl_ops_ctx *ctx, struct vl_error *err)
{
    (void)ctx;
    (void)err;
    return 0;
}

static int resize(struct vl_ops_ctx *ctx, const struct vl_frame *src, struct vl_frame *dst,
                  enum vl_interp interp, struct vl_error *err)
{
    if (host_only("resize", src->mem, dst->mem, err) < 0) return -1;
    return vl_cpu_resize(ctx, src, dst, interp, err);
}

static int crop(struct vl_ops_ctx *ctx, const struct vl_frame *src, int x, int y,
                struct vl_frame *dst, struct vl_error *err)
{
    (void)ctx;
    if (host_only("crop", src->mem, dst->mem, err) < 0) return -1;
    if (x < 0 || y < 0 || x + dst->width > src->width || y + dst->height > src->height)
        return vl_error_set(err, "crop: the %dx%d window at %d,%d is outside the %dx%d frame",
                            dst->width, dst->height, x, y, src->width, src->height);
    vl_cpu_crop(src, x, y, dst);
    return 0;
}

static int flip_horizontal(struct vl_ops_ctx *ctx, struct vl_frame *f, struct vl_error *err)
{
    (void)ctx;
    if (host_only("flip_horizontal", f->mem, VL_MEM_HOST, err) < 0) return -1;
    vl_cpu_flip_horizontal(f);
    return 0;
}

static int rotate(struct vl_ops_ctx *ctx, const struct vl_frame *src, struct vl_frame *dst,
                  double degrees, struct vl_error *err)
{
    (void)ctx;
    if (host_only("rotate", src->mem, dst->mem, err) < 0) return -1;
    vl_cpu_rotate(src, dst, degrees);
    return 0;
}

static int color_jitter(struct vl_ops_ctx *ctx, struct vl_frame *f, const struct vl_color_jitter *j,
                        struct vl_error *err)
{
    (void)ctx;
    if (host_only("color_jitter", f->mem, VL_MEM_HOST, err) < 0) return -1;
    vl_cpu_color_jitter(f, j);
    return 0;
}

static int yuv_jitter_tables(struct vl_ops_ctx *ctx, const struct vl_yuv_frame *src, int x, int y,
                             int w, int h, const struct vl_color_jitter *j, uint8_t ylut[256],
                             uint8_t clut[256], struct vl_error *err)
{
    (void)ctx;
    if (host_only("yuv_jitter_tables", src->mem, VL_MEM_HOST, err) < 0) return -1;
    vl_cpu_yuv_jitter_tables(src, x, y, w, h, j, ylut, clut);
    return 0;
}

static int yuv_crop_flip_map(struct vl_ops_ctx *ctx, const struct vl_yuv_frame *src, int x, int y,
                             int flip, const uint8_t ylut[256], const uint8_t clut[256],
                             struct vl_yuv_frame *dst, struct vl_error *err)
{
    (void)ctx;
    if (host_only("yuv_crop_flip_map", src->mem, dst->mem, err) < 0) return -1;
    vl_cpu_yuv_crop_flip_map(src, x, y, flip, ylut, clut, dst);
    return 0;
}

static int yuv10_jitter_tables(struct vl_ops_ctx *ctx, const struct vl_yuv_frame *src, int x,
                               int y, int w, int h, const struct vl_color_jitter *j,
                               uint16_t ylut[1024], uint16_t clut[1024], struct vl_error *err)
{
    (void)ctx;
    if (host_only("yuv10_jitter_tables", src->mem, VL_MEM_HOST, err) < 0) return -1;
    vl_cpu_yuv10_jitter_tables(src, x, y, w, h, j, ylut, clut);
    return 0;
}

static int yuv10_crop_flip_map(struct vl_ops_ctx *ctx, const struct vl_yuv_frame *src, int x,
                               int y, int flip, const uint16_t ylut[1024],
                               const uint16_t clut[1024], struct vl_yuv_frame *dst,
                               struct vl_error *err)
{
    (void)ctx;
    if (host_only("yuv10_crop_flip_map", src->mem, dst->mem, err) < 0) return -1;
    vl_cpu_yuv10_crop_flip_map(src, x, y, flip, ylut, clut, dst);
    return 0;
}

static int gaussian_noise(struct vl_ops_ctx *ctx, struct vl_frame *f, double sigma, uint64_t seed,
                          struct vl_error *err)
{
    (void)ctx;
    if (host_only("gaussian_noise", f->mem, VL_MEM_HOST, err) < 0) return -1;
    vl_cpu_gaussian_noise(f, sigma, seed);
    return 0;
}

static int gaussian_blur(struct vl_ops_ctx *ctx, struct vl_frame *f, double sigma,
                         struct vl_error *err)
{
    if (host_only("gaussian_blur", f->mem, VL_MEM_HOST, err) < 0) return -1;
    return vl_cpu_gaussian_blur(ctx, f, sigma, err);
}

static int hsv_histogram(struct vl_ops_ctx *ctx, const struct vl_frame *f, int bins, float *out,
                         struct vl_error *err)
{
    (void)ctx;
    if (host_only("hsv_histogram", f->mem, VL_MEM_HOST, err) < 0) return -1;
    vl_cpu_hsv_histogram(f, bins, out);
    return 0;
}

static int motion(struct vl_ops_ctx *ctx, const struct vl_frame *a, const struct vl_frame *b,
                  struct vl_motion *out, struct vl_error *err)
{
    if (host_only("motion", a->mem, b->mem, err) < 0) return -1;
    vl_cpu_motion(ctx, a, b, out);
    return 0;
}

static int laplacian_variance(struct vl_ops_ctx *ctx, const struct vl_frame *f, double *out,
                              struct vl_error *err)
{
    if (host_only("laplacian_variance", f->mem, VL_MEM_HOST, err) < 0) return -1;
    *out = vl_cpu_laplacian_variance(ctx, f);
    return 0;
}

static int edge_density(struct vl_ops_ctx *ctx, const struct vl_frame *f, double threshold,
                        double *out, struct vl_error *err)
{
    if (host_only("edge_density", f->mem, VL_MEM_HOST, err) < 0) return -1;
    *out = vl_cpu_edge_density(ctx, f, threshold);
    return 0;
}

static int dct_high_ratio(struct vl_ops_ctx *ctx, const struct vl_frame *f, double *out,
                          struct vl_error *err)
{
    if (host_only("dct_high_ratio", f->mem, VL_MEM_HOST, err) < 0) return -1;
    *out = vl_cpu_dct_high_ratio(ctx, f);
    return 0;
}

static const struct vl_ops cpu_ops = {
    .name = "cpu",
    .ctx_new = ctx_new,
    .ctx_free = ctx_free,
    .upload = upload,
    .download = download,
    .sync = sync_all,
    .resize = resize,
    .crop = crop,
    .flip_horizontal = flip_horizontal,
    .rotate = rotate,
    .color_jitter = color_jitter,
    .yuv_jitter_tables = yuv_jitter_tables,
    .yuv_crop_flip_map = yuv_crop_flip_map,
    .yuv10_jitter_tables = yuv10_jitter_tables,
    .yuv10_crop_flip_map = yuv10_crop_flip_map,
    .gaussian_noise = gaussian_noise,
    .gaussian_blur = gaussian_blur,
    .convert_new = vl_cpu_convert_new,
    .convert_takes = vl_cpu_convert_takes,
    .convert = vl_cpu_convert,
    .convert_free = vl_cpu_convert_free,
    .hsv_histogram = hsv_histogram,
    .motion = motion,
    .laplacian_variance = laplacian_variance,
    .edge_density = edge_density,
    .dct_high_ratio = dct_high_ratio,
};

const struct vl_ops *vl_ops_cpu(void)
{
    return &cpu_ops;
}
