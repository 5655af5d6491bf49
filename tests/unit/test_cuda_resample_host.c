/* test_cuda_resample_host.c - the CUDA table's resize arithmetic
 * (src/ops/kern/resample.h: host-computed taps, the two passes' bodies)
 * emulated on the host against the CPU table's swscale resize, on odd and
 * large sizes, for area, bilinear and bicubic: the mean, largest and
 * 99.9th-percentile absolute differences stay within the tolerance
 * docs/gpu.md states for the device.  Runs everywhere (no GPU needed);
 * the device itself is checked against the same tolerance by
 * test_cuda_ops on a GPU. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resample_emulate.h"

/* picture-like content: smooth gradients, a hard-edged box and mild noise */
static void fill(uint8_t *p, int w, int h, uint64_t seed)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *q = p + ((size_t)y * w + x) * 3;
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            int n = (int)(seed >> 60) - 8;
            int box = x > w / 3 && x < w / 2 && y > h / 4 && y < 3 * h / 4;
            q[0] = (uint8_t)vl_kern_clamp255(x * 255 / (w > 1 ? w - 1 : 1) + n);
            q[1] = (uint8_t)vl_kern_clamp255(box ? 230 + n : y * 200 / (h > 1 ? h - 1 : 1) + n);
            q[2] = (uint8_t)vl_kern_clamp255(((x + y) & 31) * 8);
        }
}

/* the tolerance of docs/gpu.md: mean, max, p99.9 absolute difference, for
 * factors up to 64 and (swscale narrows its filter there) beyond */
static const double tol_mean[2] = {1.0, 8.0};
static const int tol_max[2] = {8, 16}, tol_p999[2] = {4, 16};

int main(void)
{
    static const int geoms[][4] = {
        {1920, 1080, 224, 224}, {641, 359, 224, 224}, {37, 23, 224, 224}, {640, 480, 320, 240},
        {17, 9, 5, 3},          {320, 240, 321, 241}, {224, 224, 1, 1},   {1, 1, 7, 5},
        {4095, 2161, 224, 126},
    };
    static const char *names[] = {"area", "bilinear", "bicubic"};
    const struct vl_ops *cpu = vl_ops_cpu();
    struct vl_ops_ctx *ctx;
    struct vl_error err = {{0}};
    if (cpu->ctx_new(&(struct vl_ops_ctx_opts){.device = -1}, &ctx, &err) < 0) {
        fprintf(stderr, "FAIL: %s\n", err.msg);
        return 1;
    }
    int failures = 0;
    for (size_t g = 0; g < sizeof geoms / sizeof *geoms; g++) {
        int sw = geoms[g][0], sh = geoms[g][1], dw = geoms[g][2], dh = geoms[g][3];
        struct vl_frame src = {malloc((size_t)sw * sh * 3), sw, sh, VL_MEM_HOST};
        struct vl_frame want = {malloc((size_t)dw * dh * 3), dw, dh, VL_MEM_HOST};
        struct vl_frame got = {malloc((size_t)dw * dh * 3), dw, dh, VL_MEM_HOST};
        if (!src.rgb || !want.rgb || !got.rgb) abort();
        fill(src.rgb, sw, sh, (uint64_t)g + 1);
        for (int kind = 0; kind < 3; kind++) {
            if (cpu->resize(ctx, &src, &want, (enum vl_interp)kind, &err) < 0) {
                fprintf(stderr, "FAIL: cpu resize: %s\n", err.msg);
                return 1;
            }
            vl_test_resample_emulate(&src, &got, kind);
            double mean;
            int max, p999;
            vl_test_diff_stats(want.rgb, got.rgb, (size_t)dw * dh * 3, &mean, &max, &p999);
            int t = sw > 64 * dw || sh > 64 * dh;
            int ok = mean <= tol_mean[t] && max <= tol_max[t] && p999 <= tol_p999[t];
            printf("%-8s %4dx%-4d -> %4dx%-4d mean %.3f max %3d p99.9 %3d %s\n", names[kind], sw,
                   sh, dw, dh, mean, max, p999, ok ? "ok" : "OUT OF TOLERANCE");
            failures += !ok;
        }
        free(src.rgb), free(want.rgb), free(got.rgb);
    }
    cpu->ctx_free(ctx);
    if (failures) fprintf(stderr, "FAIL: %d resizes out of tolerance (docs/gpu.md)\n", failures);
    return failures != 0;
}
