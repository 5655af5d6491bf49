/* cpu.c - the CPU dispatch table. */
#include "ops/cpu.h"

#include <stdlib.h>

static int ctx_new(struct vl_ops_ctx **out, struct vl_error *err)
{
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

static const struct vl_ops cpu_ops = {
    .name = "cpu",
    .ctx_new = ctx_new,
    .ctx_free = ctx_free,
    .resize = vl_cpu_resize,
    .crop = vl_cpu_crop,
    .flip_horizontal = vl_cpu_flip_horizontal,
    .rotate = vl_cpu_rotate,
    .color_jitter = vl_cpu_color_jitter,
    .yuv_jitter_tables = vl_cpu_yuv_jitter_tables,
    .yuv_crop_flip_map = vl_cpu_yuv_crop_flip_map,
    .gaussian_noise = vl_cpu_gaussian_noise,
    .gaussian_blur = vl_cpu_gaussian_blur,
    .hsv_histogram = vl_cpu_hsv_histogram,
    .motion = vl_cpu_motion,
    .laplacian_variance = vl_cpu_laplacian_variance,
    .edge_density = vl_cpu_edge_density,
    .dct_high_ratio = vl_cpu_dct_high_ratio,
};

const struct vl_ops *vl_ops_cpu(void)
{
    return &cpu_ops;
}
