/* test_cuda_noise_emu.c - the CUDA table's gaussian_noise
 * (src/cuda/ops_table.cu's k_noise) on the SIMT emulator, every byte
 * against ops_bodies.h's vl_cuda_noise_at at its own element index.  The
 * noise has no CPU twin (its draws are counter-based), so
 * tests/unit/test_cuda_ops.c checks only that a seed repeats and the
 * statistics: a kernel drawing for the wrong element passes that.  Host
 * frames (staged) and device frames, of odd sizes, several sigmas and seeds.
 *
 * Prints one line per case; exits 1 when any differs or fails. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/ops_bodies.h"
#include "emu.h"
#include "gpu/cuda_module.h"
#include "ops/ops.h"

extern const struct vl_cuda_module vl_cuda_module; /* module.cu's copy */

/* gaussian_noise on a w x h frame (a device frame when device), against
 * the body; 1 when every byte is the body's */
static int noise_case(struct vl_ops_ctx *ctx, int w, int h, double sigma, uint64_t seed, int device)
{
    const struct vl_cuda_module *m = &vl_cuda_module;
    size_t n = (size_t)w * h * 3;
    struct vl_frame f = {malloc(n), w, h, VL_MEM_HOST}, got = {malloc(n), w, h, VL_MEM_HOST};
    struct vl_frame d = {NULL, w, h, VL_MEM_DEVICE};
    uint8_t *want = malloc(n);
    struct vl_error err = {{0}};
    if (!f.rgb || !got.rgb || !want) abort();
    for (size_t i = 0; i < n; i++) /* with 0 and 255, where the noise clamps */
        f.rgb[i] = i % 13 == 0 ? 0 : i % 7 == 0 ? 255 : (uint8_t)(i * 2654435761u >> 24);
    int64_t k = llround(sigma * sqrt(3.0) * 65536.0);
    for (size_t i = 0; i < n; i++)
        want[i] = k ? vl_cuda_noise_at(f.rgb[i], seed, i, k) : f.rgb[i];
    unsigned long faults = emu_faults();
    int rc;
    if (device) {
        rc = m->frame_alloc(ctx, &d, &err);
        if (rc == 0) rc = m->ops->upload(ctx, &f, &d, &err);
        if (rc == 0) rc = m->ops->gaussian_noise(ctx, &d, sigma, seed, &err);
        if (rc == 0) rc = m->ops->download(ctx, &d, &got, &err);
    } else {
        memcpy(got.rgb, f.rgb, n);
        rc = m->ops->gaussian_noise(ctx, &got, sigma, seed, &err);
    }
    if (rc == 0) rc = m->ops->sync(ctx, &err);
    size_t bad = 0, at = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (got.rgb[i] != want[i] && !bad++) at = i;
    int ok = rc == 0 && !bad && emu_faults() == faults;
    printf("gaussian_noise %4dx%-4d %-6s sigma %4.1f seed %llu: ", w, h, device ? "device" : "host",
           sigma, (unsigned long long)seed);
    if (rc < 0)
        printf("FAILED: %s\n", err.msg);
    else if (bad)
        printf("%zu of %zu bytes differ, first [%zu]: got %d, want %d\n", bad, n, at, got.rgb[at],
               want[at]);
    else
        printf("%s\n", ok ? "ok" : "an emulator fault (stderr says which)");
    m->frame_free(ctx, &d);
    free(f.rgb), free(got.rgb), free(want);
    return ok;
}

int main(void)
{
    static const int sizes[][2] = {{1, 1}, {17, 9}, {641, 359}};
    static const double sigmas[] = {10, 0.7, 0};
    struct vl_ops_ctx *ctx;
    struct vl_error err = {{0}};
    struct vl_ops_ctx_opts opts = {.device = 0, .lane = 0};
    if (vl_cuda_module.ops->ctx_new(&opts, &ctx, &err) < 0) {
        fprintf(stderr, "FAIL: ctx_new: %s\n", err.msg);
        return 1;
    }
    int failures = 0;
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
        for (size_t g = 0; g < sizeof sigmas / sizeof *sigmas; g++)
            for (int device = 0; device < 2; device++)
                failures += !noise_case(ctx, sizes[s][0], sizes[s][1], sigmas[g],
                                        42 + 1000003ull * g, device);
    vl_cuda_module.ops->ctx_free(ctx);
    if (failures) fprintf(stderr, "FAIL: %d noise cases differ from ops_bodies.h\n", failures);
    return failures != 0;
}
