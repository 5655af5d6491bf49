/* kern.cu - kernels built from the bodies the host shares (src/ops/kern/),
 * and a parity check that runs them on the device against the same bodies
 * on the host.
 *
 * vl_cuda_kern_parity (exported beside vl_cuda_module, found with
 * vl_cuda_symbol; not part of the module's table, so its interface version
 * is unchanged) converts yuv420p to RGB, crops and flips, rotates, jitters
 * colour and computes 8x8 DCT block energies on the first device, on
 * generated frames of odd and 1080p sizes, and compares every byte (and
 * every block's energy, bit for bit) with the host; vl_cuda_bench_copy
 * measures the copy bandwidth for gpu-check's tables.  Neither has run on a
 * GPU yet: scripts/gpu-check.sh runs them first (tests/unit/test_cuda_kern.c). */
#include <cuda_runtime.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern "C" {
#include "ops/kern/features.h"
#include "ops/kern/geometry.h"
#include "ops/kern/jitter.h"
#include "ops/kern/yuv.h"
}

__global__ static void yuv420p_to_rgb(struct vl_kern_yuv_coeffs c, const uint8_t *y, int ys,
                                      const uint8_t *u, const uint8_t *v, int cs, int w, int h,
                                      uint8_t *out)
{
    int x = blockIdx.x * blockDim.x + threadIdx.x, row = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= w || row >= h) return;
    vl_kern_yuv420p_pixel(&c, y, ys, u, cs, v, cs, x, row, out + ((size_t)row * w + x) * 3);
}

__global__ static void crop_flip(const uint8_t *src, int src_w, int cx, int cy, int w, int h,
                                 int flip, uint8_t *out)
{
    int x = blockIdx.x * blockDim.x + threadIdx.x, row = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= w || row >= h) return;
    const uint8_t *p = src + vl_kern_crop_flip_offset(x, row, cx, cy, w, flip, src_w);
    uint8_t *o = out + ((size_t)row * w + x) * 3;
    o[0] = p[0], o[1] = p[1], o[2] = p[2];
}

__global__ static void rotate(struct vl_kern_rotation r, const uint8_t *src, uint8_t *out)
{
    int x = blockIdx.x * blockDim.x + threadIdx.x, row = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= r.w || row >= r.h) return;
    vl_kern_rotate_pixel(&r, src, x, row, out + ((size_t)row * r.w + x) * 3);
}

__global__ static void jitter(uint8_t *p, size_t n, const uint8_t *lut, int tone, int sq, int shift)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) vl_kern_jitter_pixel(p + 3 * i, lut, tone, sq, shift);
}

/* one thread a block: its AC energy x 64 and its high-frequency energy */
__global__ static void dct_blocks(const uint8_t *grey, int w, int bw, int bh, const float *cosines,
                                  long long *ac, double *high)
{
    int b = blockIdx.x * blockDim.x + threadIdx.x;
    if (b >= bw * bh) return;
    int bx = b % bw, by = b / bw;
    double h = 0;
    ac[b] = vl_kern_dct_block(grey + (size_t)by * 8 * w + (size_t)bx * 8, (size_t)w,
                              (const float(*)[8])cosines, &h);
    high[b] = h;
}

/* the report's text so far and whether everything matched */
struct report {
    char *text;
    size_t cap, len;
    int mismatches;
};

static void say(struct report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct report *r, const char *fmt, ...)
{
    if (r->len >= r->cap) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(r->text + r->len, r->cap - r->len, fmt, ap);
    va_end(ap);
    if (n > 0) r->len += (size_t)n < r->cap - r->len ? (size_t)n : r->cap - r->len - 1;
}

static void compare(struct report *r, const char *what, int w, int h, const uint8_t *want,
                    const uint8_t *got, size_t n)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += want[i] != got[i];
    say(r, "%s %dx%d: %s", what, w, h, bad ? "MISMATCH" : "bit-exact");
    if (bad) say(r, " (%zu of %zu bytes differ)", bad, n);
    say(r, "\n");
    r->mismatches += bad != 0;
}

/* 1 when the runtime sees a device; else 0, saying so in r */
static int have_device(struct report *r)
{
    if (r->cap) r->text[0] = '\0';
    int count = 0;
    if (cudaGetDeviceCount(&count) == cudaSuccess && count > 0) return 1;
    (void)cudaGetLastError();
    say(r, "no usable cuda device\n");
    return 0;
}

#define CUDA_OK(call)                                                                              \
    do {                                                                                           \
        cudaError_t e_ = (call);                                                                   \
        if (e_ != cudaSuccess) {                                                                   \
            say(&rep, "cuda error: %s at %s:%d\n", cudaGetErrorString(e_), __FILE__, __LINE__);    \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

/* The frames of one size through every kernel; -1 on a CUDA error. */
static int check_size(struct report &rep, int w, int h)
{
    size_t n = (size_t)w * h, bytes = n * 3;
    int cw = (w + 1) / 2, ch = (h + 1) / 2;
    uint8_t *y = (uint8_t *)malloc(n), *u = (uint8_t *)malloc((size_t)cw * ch),
            *v = (uint8_t *)malloc((size_t)cw * ch), *rgb = (uint8_t *)malloc(bytes),
            *want = (uint8_t *)malloc(bytes), *got = (uint8_t *)malloc(bytes);
    uint64_t s = 0x9e3779b97f4a7c15ull * (uint64_t)(w * 31 + h);
    for (size_t i = 0; i < n; i++)
        y[i] = (uint8_t)((s = s * 6364136223846793005ull + 1) >> 56);
    for (size_t i = 0; i < (size_t)cw * ch; i++) {
        u[i] = (uint8_t)((s = s * 6364136223846793005ull + 1) >> 56);
        v[i] = (uint8_t)(s >> 48);
    }
    uint8_t *dy, *du, *dv, *drgb, *dout, *dlut;
    CUDA_OK(cudaMalloc(&dy, n));
    CUDA_OK(cudaMalloc(&du, (size_t)cw * ch));
    CUDA_OK(cudaMalloc(&dv, (size_t)cw * ch));
    CUDA_OK(cudaMalloc(&drgb, bytes));
    CUDA_OK(cudaMalloc(&dout, bytes));
    CUDA_OK(cudaMalloc(&dlut, 256));
    CUDA_OK(cudaMemcpy(dy, y, n, cudaMemcpyHostToDevice));
    CUDA_OK(cudaMemcpy(du, u, (size_t)cw * ch, cudaMemcpyHostToDevice));
    CUDA_OK(cudaMemcpy(dv, v, (size_t)cw * ch, cudaMemcpyHostToDevice));
    dim3 block(32, 8), grid((w + 31) / 32, (h + 7) / 8);

    /* yuv420p -> RGB, BT.709 limited: the RGB the other kernels start from */
    struct vl_kern_yuv_coeffs c;
    vl_kern_yuv_coeffs(VL_KERN_SPC_BT709, 0, &c);
    for (int row = 0; row < h; row++)
        for (int x = 0; x < w; x++)
            vl_kern_yuv420p_pixel(&c, y, w, u, cw, v, cw, x, row, rgb + ((size_t)row * w + x) * 3);
    yuv420p_to_rgb<<<grid, block>>>(c, dy, w, du, dv, cw, w, h, drgb);
    CUDA_OK(cudaGetLastError());
    CUDA_OK(cudaMemcpy(got, drgb, bytes, cudaMemcpyDeviceToHost));
    compare(&rep, "yuv420p_to_rgb", w, h, rgb, got, bytes);
    CUDA_OK(cudaMemcpy(drgb, rgb, bytes, cudaMemcpyHostToDevice));

    /* crop (one pixel off each side where there is room) with a flip */
    int cropw = w > 2 ? w - 2 : w, croph = h > 2 ? h - 2 : h, cx = (w - cropw) / 2,
        cy = (h - croph) / 2;
    for (int r = 0; r < croph; r++)
        for (int x = 0; x < cropw; x++)
            memcpy(want + ((size_t)r * cropw + x) * 3,
                   rgb + vl_kern_crop_flip_offset(x, r, cx, cy, cropw, 1, w), 3);
    crop_flip<<<grid, block>>>(drgb, w, cx, cy, cropw, croph, 1, dout);
    CUDA_OK(cudaGetLastError());
    CUDA_OK(cudaMemcpy(got, dout, (size_t)cropw * croph * 3, cudaMemcpyDeviceToHost));
    compare(&rep, "crop_flip", cropw, croph, want, got, (size_t)cropw * croph * 3);

    /* rotation by about 17.5 degrees (cos, sin in 16.16) */
    struct vl_kern_rotation rot;
    vl_kern_rotation_init(&rot, w, h, 62505, 19705);
    for (int row = 0; row < h; row++)
        for (int x = 0; x < w; x++)
            vl_kern_rotate_pixel(&rot, rgb, x, row, want + ((size_t)row * w + x) * 3);
    rotate<<<grid, block>>>(rot, drgb, dout);
    CUDA_OK(cudaGetLastError());
    CUDA_OK(cudaMemcpy(got, dout, bytes, cudaMemcpyDeviceToHost));
    compare(&rep, "rotate", w, h, want, got, bytes);

    /* jitter: brightness 1.2 table, saturation 0.6, hue +0.1 turn */
    uint8_t lut[256];
    for (int i = 0; i < 256; i++)
        lut[i] = (uint8_t)vl_kern_clamp255((i * 6 + 2) / 5);
    int sq = 2458, shift = 2458;
    memcpy(want, rgb, bytes);
    for (size_t i = 0; i < n; i++)
        vl_kern_jitter_pixel(want + 3 * i, lut, 1, sq, shift);
    CUDA_OK(cudaMemcpy(dlut, lut, 256, cudaMemcpyHostToDevice));
    CUDA_OK(cudaMemcpy(dout, rgb, bytes, cudaMemcpyHostToDevice));
    jitter<<<(unsigned)((n + 255) / 256), 256>>>(dout, n, dlut, 1, sq, shift);
    CUDA_OK(cudaGetLastError());
    CUDA_OK(cudaMemcpy(got, dout, bytes, cudaMemcpyDeviceToHost));
    compare(&rep, "color_jitter", w, h, want, got, bytes);

    /* 8x8 DCT blocks of the grey image: every block's energies bit for bit */
    int bw = w / 8, bh = h / 8;
    if (bw > 0 && bh > 0) {
        float cosines[8][8];
        for (int k = 0; k < 8; k++)
            for (int x = 0; x < 8; x++)
                cosines[k][x] = (float)((k ? sqrt(2.0 / 8) : sqrt(1.0 / 8)) *
                                        cos((2 * x + 1) * k * 3.14159265358979323846 / 16));
        uint8_t *grey = want;
        for (size_t i = 0; i < n; i++)
            grey[i] = vl_kern_grey(rgb + 3 * i);
        size_t nb = (size_t)bw * bh;
        long long *ac = (long long *)malloc(nb * sizeof *ac), *dac;
        double *high = (double *)malloc(nb * sizeof *high), *dhigh, *ghigh;
        long long *gac = (long long *)malloc(nb * sizeof *gac);
        ghigh = (double *)malloc(nb * sizeof *ghigh);
        for (size_t b = 0; b < nb; b++) {
            high[b] = 0;
            ac[b] = vl_kern_dct_block(grey + (b / bw) * 8 * (size_t)w + (b % bw) * 8, (size_t)w,
                                      (const float(*)[8])cosines, &high[b]);
        }
        float *dcos;
        CUDA_OK(cudaMalloc(&dcos, sizeof cosines));
        CUDA_OK(cudaMalloc(&dac, nb * sizeof *dac));
        CUDA_OK(cudaMalloc(&dhigh, nb * sizeof *dhigh));
        CUDA_OK(cudaMemcpy(dcos, cosines, sizeof cosines, cudaMemcpyHostToDevice));
        CUDA_OK(cudaMemcpy(dout, grey, n, cudaMemcpyHostToDevice));
        dct_blocks<<<(unsigned)((nb + 127) / 128), 128>>>(dout, w, bw, bh, dcos, dac, dhigh);
        CUDA_OK(cudaGetLastError());
        CUDA_OK(cudaMemcpy(gac, dac, nb * sizeof *dac, cudaMemcpyDeviceToHost));
        CUDA_OK(cudaMemcpy(ghigh, dhigh, nb * sizeof *dhigh, cudaMemcpyDeviceToHost));
        compare(&rep, "dct_block_ac", bw, bh, (const uint8_t *)ac, (const uint8_t *)gac,
                nb * sizeof *ac);
        compare(&rep, "dct_block_high", bw, bh, (const uint8_t *)high, (const uint8_t *)ghigh,
                nb * sizeof *high);
        cudaFree(dcos), cudaFree(dac), cudaFree(dhigh);
        free(ac), free(gac), free(high), free(ghigh);
    }
    cudaFree(dy), cudaFree(du), cudaFree(dv), cudaFree(drgb), cudaFree(dout), cudaFree(dlut);
    free(y), free(u), free(v), free(rgb), free(want), free(got);
    return 0;
}

/* Runs every shared body on device 0 against the host; a line per check in
 * report (n bytes).  0: all bit-exact; 1: a mismatch; 77: no usable device;
 * -1: a CUDA error (in report). */
extern "C" __attribute__((visibility("default"))) int vl_cuda_kern_parity(char *text, size_t n)
{
    struct report rep = {text, n, 0, 0};
    if (!have_device(&rep)) return 77;
    static const int sizes[][2] = {{1, 1}, {3, 5}, {37, 23}, {641, 359}, {1920, 1080}};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        if (check_size(rep, sizes[i][0], sizes[i][1]) < 0) return -1;
    return rep.mismatches ? 1 : 0;
}

/* Copy bandwidth between the host and device 0, for gpu-check's tables:
 * 256 MiB from pinned (cudaHostAlloc) and from pageable memory to the
 * device and back, best of 5, as markdown rows "| what | GB/s |".  77: no
 * usable device; -1: a CUDA error (in text). */
extern "C" __attribute__((visibility("default"))) int vl_cuda_bench_copy(char *text, size_t n)
{
    struct report rep = {text, n, 0, 0};
    if (!have_device(&rep)) return 77;
    const size_t bytes = (size_t)256 << 20;
    uint8_t *pinned, *dev, *pageable = (uint8_t *)malloc(bytes);
    if (!pageable) return -1;
    memset(pageable, 1, bytes);
    CUDA_OK(cudaHostAlloc(&pinned, bytes, cudaHostAllocPortable));
    memset(pinned, 1, bytes);
    CUDA_OK(cudaMalloc(&dev, bytes));
    cudaEvent_t a, b;
    CUDA_OK(cudaEventCreate(&a));
    CUDA_OK(cudaEventCreate(&b));
    struct {
        const char *what;
        void *dst;
        const void *src;
        cudaMemcpyKind kind;
    } runs[] = {{"pinned host to device", dev, pinned, cudaMemcpyHostToDevice},
                {"pinned device to host", pinned, dev, cudaMemcpyDeviceToHost},
                {"pageable host to device", dev, pageable, cudaMemcpyHostToDevice},
                {"pageable device to host", pageable, dev, cudaMemcpyDeviceToHost}};
    for (size_t r = 0; r < sizeof runs / sizeof *runs; r++) {
        float best = 0;
        for (int k = 0; k < 5; k++) {
            CUDA_OK(cudaEventRecord(a));
            CUDA_OK(cudaMemcpyAsync(runs[r].dst, runs[r].src, bytes, runs[r].kind));
            CUDA_OK(cudaEventRecord(b));
            CUDA_OK(cudaEventSynchronize(b));
            float ms = 0;
            CUDA_OK(cudaEventElapsedTime(&ms, a, b));
            if (best == 0 || ms < best) best = ms;
        }
        say(&rep, "| %s, 256 MiB, best of 5 | %.1f GB/s |\n", runs[r].what,
            (double)bytes / (best * 1e-3) / 1e9);
    }
    cudaEventDestroy(a), cudaEventDestroy(b);
    cudaFree(dev), cudaFreeHost(pinned), free(pageable);
    return 0;
}
