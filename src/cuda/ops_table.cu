/* ops_table.cu - the "cuda" operations table (struct vl_ops, src/ops/ops.h):
 * kernels for every entry, built from the bodies the host shares
 * (src/ops/kern/) where the CPU table has one, and the entries that stage
 * frames and launch them (context and memory: ops_cuda.h, ops_ctx.cu).
 *
 * What each entry gives against the CPU table (docs/gpu.md, "The CUDA
 * operations table"; tests/unit/test_cuda_ops.c checks it on a GPU):
 * - crop, flip, rotate, color_jitter, yuv_crop_flip_map, yuv_jitter_tables,
 *   gaussian_blur: the same bytes (integer arithmetic, the same bodies or
 *   the same loops per element);
 * - hsv_histogram, motion, laplacian_variance, edge_density, dct_high_ratio:
 *   the same bits: per-block integer partials in a fixed tree (integer sums
 *   are exact in any order; no float atomics), finished on the host with
 *   the CPU's formulas; the DCT's float coefficients come back per block
 *   and are summed on the host in the CPU's order;
 * - resize: swscale's filter shapes with taps computed on the host
 *   (kern/resample.h), within a tolerance of swscale's output;
 * - gaussian_noise: a counter-based generator (the CPU's xoshiro stream is
 *   sequential), so the same seed gives other noise of the same
 *   distribution (Irwin-Hall of four 16-bit uniforms, the CPU's scaling).
 *
 * The table reports itself experimental (vl_cuda_module.ops_experimental)
 * until scripts/gpu-check.sh has run it on a GPU: device=auto leaves it
 * alone; device=gpu uses it.  Never run on a GPU yet. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/ops_cuda.h"

extern "C" {
#include "cuda/ops_bodies.h"
#include "ops/kern/features.h"
#include "ops/kern/geometry.h"
#include "ops/kern/jitter.h"
#include "ops/kern/resample.h"
#include "ops/kern/tables.h"
}

#define THREADS 256

#define fail vl_cuda_fail

static unsigned blocks_for(size_t n)
{
    return (unsigned)((n + THREADS - 1) / THREADS);
}

/* 0, or -1 naming the kernel that failed to launch */
static int launched(const char *entry, struct vl_error *err)
{
    return vl_cuda_check(cudaGetLastError(), entry, err);
}

struct lut256 {
    uint8_t v[256];
};

/* -- kernels: geometry -- */

__global__ static void k_crop(const uint8_t *src, int src_w, int cx, int cy, int w, int h,
                              uint8_t *out)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)w * h) return;
    int x = (int)(i % w), y = (int)(i / w);
    const uint8_t *p = src + vl_kern_crop_flip_offset(x, y, cx, cy, w, 0, src_w);
    out[3 * i] = p[0], out[3 * i + 1] = p[1], out[3 * i + 2] = p[2];
}

/* swaps pixel x and w-1-x of each row: one thread a pair, in place */
__global__ static void k_flip(uint8_t *p, int w, int h)
{
    int half = w / 2;
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (half == 0 || i >= (size_t)half * h) return;
    int x = (int)(i % half), y = (int)(i / half);
    uint8_t *a = p + ((size_t)y * w + x) * 3, *b = p + ((size_t)y * w + (w - 1 - x)) * 3;
    for (int k = 0; k < 3; k++) {
        uint8_t t = a[k];
        a[k] = b[k], b[k] = t;
    }
}

__global__ static void k_rotate(struct vl_kern_rotation r, const uint8_t *src, uint8_t *out)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)r.w * r.h) return;
    vl_kern_rotate_pixel(&r, src, (int)(i % r.w), (int)(i / r.w), out + 3 * i);
}

/* -- kernels: colour, noise, blur -- */

/* per-channel histograms of n pixels: counts[3][256], integer atomics */
__global__ static void k_channel_hist(const uint8_t *p, size_t n, unsigned *counts)
{
    __shared__ unsigned local[3 * 256];
    for (int k = threadIdx.x; k < 3 * 256; k += blockDim.x) local[k] = 0;
    __syncthreads();
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x)
        for (int c = 0; c < 3; c++) atomicAdd(&local[c * 256 + p[3 * i + c]], 1u);
    __syncthreads();
    for (int k = threadIdx.x; k < 3 * 256; k += blockDim.x)
        if (local[k]) atomicAdd(&counts[k], local[k]);
}

__global__ static void k_jitter(uint8_t *p, size_t n, struct lut256 lut, int tone, int sq,
                                int shift)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    if (sq == 4096 && !shift) { /* the table alone */
        p[3 * i] = lut.v[p[3 * i]], p[3 * i + 1] = lut.v[p[3 * i + 1]];
        p[3 * i + 2] = lut.v[p[3 * i + 2]];
        return;
    }
    vl_kern_jitter_pixel(p + 3 * i, lut.v, tone, sq, shift);
}

/* the CPU's noise arithmetic on counter-based draws (ops_bodies.h) */
__global__ static void k_noise(uint8_t *p, size_t n, int64_t k, uint64_t seed)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) p[i] = vl_cuda_noise_at(p[i], seed, i, k);
}

/* the CPU's two sweeps per element (ops_bodies.h) */
__global__ static void k_blur_rows(const uint8_t *in, uint8_t *out, int w, int h,
                                   struct vl_kern_blur_kernel b)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < (size_t)w * h * 3) out[i] = vl_cuda_blur_row_at(in, w, i, &b);
}

__global__ static void k_blur_columns(const uint8_t *in, uint8_t *out, int w, int h,
                                      struct vl_kern_blur_kernel b)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < (size_t)w * h * 3) out[i] = vl_cuda_blur_column_at(in, w, h, i, &b);
}

/* -- kernels: yuv -- */

/* rows x n samples of a plane window through lut, mirrored when flip */
__global__ static void k_map_plane(const uint8_t *src, size_t src_pitch, int n, int rows, int flip,
                                   struct lut256 lut, uint8_t *dst, size_t dst_pitch)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (n <= 0 || i >= (size_t)n * rows) return;
    int x = (int)(i % n), r = (int)(i / n);
    dst[(size_t)r * dst_pitch + x] = lut.v[src[(size_t)r * src_pitch + (flip ? n - 1 - x : x)]];
}

struct lut1024 {
    uint16_t v[1024];
};

/* the 16-bit twin: little-endian samples, the table indexed by the low 10
 * bits (the CPU's map_row16) */
__global__ static void k_map_plane16(const uint8_t *src, size_t src_pitch, int n, int rows,
                                     int flip, struct lut1024 lut, uint8_t *dst, size_t dst_pitch)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (n <= 0 || i >= (size_t)n * rows) return;
    int x = (int)(i % n), r = (int)(i / n), k = flip ? n - 1 - x : x;
    const uint8_t *s = src + (size_t)r * src_pitch + 2 * (size_t)k;
    unsigned v = lut.v[(s[0] | s[1] << 8) & 1023];
    uint8_t *d = dst + (size_t)r * dst_pitch + 2 * (size_t)x;
    d[0] = (uint8_t)v, d[1] = (uint8_t)(v >> 8);
}

/* the w x h plane's histogram: 256 bins of bytes, or (wide) 1024 of
 * 16-bit samples' low 10 bits; integer atomics, exact in any order */
__global__ static void k_plane_hist(const uint8_t *p, size_t pitch, int w, int h, int wide,
                                    unsigned *counts)
{
    __shared__ unsigned local[1024];
    int bins = wide ? 1024 : 256;
    for (int k = threadIdx.x; k < bins; k += blockDim.x) local[k] = 0;
    __syncthreads();
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (size_t)w * h;
         i += (size_t)gridDim.x * blockDim.x) {
        const uint8_t *q = p + (i / w) * pitch + (i % w) * (wide ? 2 : 1);
        atomicAdd(&local[wide ? (q[0] | q[1] << 8) & 1023 : q[0]], 1u);
    }
    __syncthreads();
    for (int k = threadIdx.x; k < bins; k += blockDim.x)
        if (local[k]) atomicAdd(&counts[k], local[k]);
}

/* -- kernels: resize (kern/resample.h) -- */

/* one thread per value of pass one: channel c of output column x of row y */
__global__ static void k_resize_rows(const uint8_t *src, int src_w, int h, int channels, int dst_w,
                                     const int32_t *first, const int32_t *weight, int ntaps,
                                     int32_t *out)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)dst_w * h * channels) return;
    int c = (int)(i % channels), x = (int)(i / channels % dst_w),
        y = (int)(i / channels / dst_w);
    out[i] = vl_kern_resample_row(src + (size_t)y * src_w * channels, src_w, channels, first,
                                  weight, ntaps, x, c);
}

/* one thread per output byte */
__global__ static void k_resize_columns(const int32_t *in, int src_h, int channels, int dst_w,
                                        int dst_h, const int32_t *first, const int32_t *weight,
                                        int ntaps, uint8_t *out)
{
    size_t row = (size_t)dst_w * channels, i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= row * dst_h) return;
    int y = (int)(i / row);
    out[i] = vl_kern_resample_column(in + i % row, row, src_h, first, weight, ntaps, y);
}

/* -- kernels: features -- */

__global__ static void k_grey(const uint8_t *p, size_t n, uint8_t *grey)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) grey[i] = vl_kern_grey(p + 3 * i);
}

/* sums K values of every thread of the block in a fixed tree (blockDim.x ==
 * THREADS) into partial[blockIdx.x * K + k] */
template <int K> __device__ static void block_sums(long long v[K], long long *partial)
{
    __shared__ long long sh[K][THREADS];
    for (int k = 0; k < K; k++) sh[k][threadIdx.x] = v[k];
    __syncthreads();
    for (int step = THREADS / 2; step > 0; step /= 2) {
        if ((int)threadIdx.x < step)
            for (int k = 0; k < K; k++) sh[k][threadIdx.x] += sh[k][threadIdx.x + step];
        __syncthreads();
    }
    if (threadIdx.x == 0)
        for (int k = 0; k < K; k++) partial[(size_t)blockIdx.x * K + k] = sh[k][0];
}

/* the interior pixel i of a w x h grey image, or -1 */
__device__ static long long interior(size_t i, int w, int h)
{
    size_t iw = (size_t)(w - 2);
    if (i >= iw * (size_t)(h - 2)) return -1;
    return (long long)((i / iw + 1) * (size_t)w + i % iw + 1);
}

__global__ static void k_laplacian(const uint8_t *g, int w, int h, long long *partial)
{
    long long v[2] = {0, 0};
    long long at = interior((size_t)blockIdx.x * blockDim.x + threadIdx.x, w, h);
    if (at >= 0) {
        const uint8_t *p = g + at;
        int l = p[-1] + p[1] + p[-w] + p[w] - 4 * p[0];
        v[0] = l, v[1] = (long long)l * l;
    }
    block_sums<2>(v, partial);
}

__global__ static void k_edges(const uint8_t *g, int w, int h, double limit, long long *partial)
{
    long long v[1] = {0};
    long long at = interior((size_t)blockIdx.x * blockDim.x + threadIdx.x, w, h);
    if (at >= 0) {
        const uint8_t *mid = g + at, *up = mid - w, *down = mid + w;
        int gx = (up[1] + 2 * mid[1] + down[1]) - (up[-1] + 2 * mid[-1] + down[-1]);
        int gy = (down[-1] + 2 * down[0] + down[1]) - (up[-1] + 2 * up[0] + up[1]);
        v[0] = (double)(gx * gx + gy * gy) > limit;
    }
    block_sums<1>(v, partial);
}

/* sum |d|, sum d^2 over all pixels; sxx, sxy, syy, sxt, syt over the interior */
__global__ static void k_motion(const uint8_t *a, const uint8_t *b, int w, int h,
                                long long *partial)
{
    long long v[7] = {0, 0, 0, 0, 0, 0, 0};
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x, n = (size_t)w * h;
    if (i < n) {
        int d = abs((int)b[i] - (int)a[i]);
        v[0] = d, v[1] = (long long)d * d;
        int x = (int)(i % w), y = (int)(i / w);
        if (w >= 3 && h >= 3 && x >= 1 && x < w - 1 && y >= 1 && y < h - 1) {
            int ix = a[i + 1] + b[i + 1] - a[i - 1] - b[i - 1];
            int iy = a[i + w] + b[i + w] - a[i - w] - b[i - w];
            int it = b[i] - a[i];
            v[2] = ix * ix, v[3] = ix * iy, v[4] = iy * iy, v[5] = ix * it, v[6] = iy * it;
        }
    }
    block_sums<7>(v, partial);
}

struct cosines {
    float c[8][8];
};

/* one thread a block: its AC energy and high coefficients (ops_bodies.h) */
__global__ static void k_dct(const uint8_t *grey, int w, int bw, int bh, struct cosines cs,
                             int64_t *ac, float *high)
{
    int b = blockIdx.x * blockDim.x + threadIdx.x;
    if (b >= bw * bh) return;
    ac[b] = vl_cuda_dct_coefs(grey + (size_t)(b / bw) * 8 * w + (size_t)(b % bw) * 8, (size_t)w,
                              cs.c, high + (size_t)b * VL_CUDA_DCT_HIGH);
}

#define MAX_BINS 256

/* the per-pixel HSV bins (kern/features.h), counted with integer atomics */
__global__ static void k_hsv(const uint8_t *p, size_t n, int bins, unsigned *counts)
{
    __shared__ unsigned local[3 * MAX_BINS];
    for (int k = threadIdx.x; k < 3 * bins; k += blockDim.x) local[k] = 0;
    __syncthreads();
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (size_t)gridDim.x * blockDim.x) {
        int bin[3];
        vl_kern_hsv_bins(p[3 * i], p[3 * i + 1], p[3 * i + 2], bins, bin);
        atomicAdd(&local[bin[0]], 1u);
        atomicAdd(&local[bins + bin[1]], 1u);
        atomicAdd(&local[2 * bins + bin[2]], 1u);
    }
    __syncthreads();
    for (int k = threadIdx.x; k < 3 * bins; k += blockDim.x)
        if (local[k]) atomicAdd(&counts[k], local[k]);
}

/* -- entries -- */

static int ctx_new(const struct vl_ops_ctx_opts *opts, struct vl_ops_ctx **out,
                   struct vl_error *err)
{
    return vl_cuda_ctx_new(opts, out, err);
}

int vl_cuda_taps(struct vl_ops_ctx *ctx, enum vl_cuda_taps slot, enum vl_interp interp, int src_w,
                 int src_h, int dst_w, int dst_h, struct vl_kern_plane_taps *t, const char *entry,
                 struct vl_error *err)
{
    *t = (struct vl_kern_plane_taps){src_w, src_h, dst_w, dst_h, 0, 0, NULL, NULL, NULL, NULL};
    if (src_w <= 0 || src_h <= 0 || dst_w <= 0 || dst_h <= 0)
        return fail(err, "%s: bad frame size %dx%d -> %dx%d", entry, src_w, src_h, dst_w, dst_h);
    if (src_w == dst_w && src_h == dst_h) return 0; /* as the CPU: the bytes */
    int kind = interp == VL_INTERP_AREA ? VL_KERN_AREA
               : interp == VL_INTERP_BILINEAR ? VL_KERN_BILINEAR
                                              : VL_KERN_BICUBIC;
    int ntx = vl_kern_resample_ntaps(kind, src_w, dst_w);
    int nty = vl_kern_resample_ntaps(kind, src_h, dst_h);
    if (ntx > VL_KERN_MAX_TAPS || nty > VL_KERN_MAX_TAPS)
        return fail(err, "%s: %dx%d to %dx%d shrinks more than the cuda table's %d taps allow",
                    entry, src_w, src_h, dst_w, dst_h, VL_KERN_MAX_TAPS);
    /* the taps of this geometry, on the device, rebuilt only when it changes */
    int key[5] = {kind, src_w, src_h, dst_w, dst_h};
    size_t fx = 0, wx = (size_t)dst_w, fy = wx + (size_t)dst_w * ntx, wy = fy + (size_t)dst_h,
           total = wy + (size_t)dst_h * nty;
    enum vl_cuda_scratch which = (enum vl_cuda_scratch)(VL_SCRATCH_TAPS + slot);
    /* a grown buffer has lost the taps it held, even if growing fails (a
     * kept context outlives the job that failed) */
    if (ctx->scratch_cap[which] < total * 4) ctx->taps_key[slot][0] = -1;
    int32_t *taps = (int32_t *)vl_cuda_scratch(ctx, which, total * 4, entry, err);
    if (!taps) return -1;
    if (memcmp(key, ctx->taps_key[slot], sizeof key)) {
        ctx->taps_key[slot][0] = -1; /* no geometry's taps until these are up */
        int32_t *host = (int32_t *)malloc(total * 4);
        if (!host) abort();
        vl_kern_resample_taps(kind, src_w, dst_w, ntx, host + fx, host + wx);
        vl_kern_resample_taps(kind, src_h, dst_h, nty, host + fy, host + wy);
        /* on compute, after the kernels that read the old taps and before
         * those that read these: a plain cudaMemcpy from pageable memory may
         * return before its DMA lands, and the non-blocking stream would not
         * wait for it; host is freed only once the copy has run */
        int rc = vl_cuda_check(cudaMemcpyAsync(taps, host, total * 4, cudaMemcpyHostToDevice,
                                               ctx->compute),
                               entry, err);
        if (rc == 0) rc = vl_cuda_check(cudaStreamSynchronize(ctx->compute), entry, err);
        free(host);
        if (rc < 0) return -1;
        memcpy(ctx->taps_key[slot], key, sizeof key);
    }
    t->ntx = ntx, t->nty = nty;
    t->fx = taps + fx, t->wx = taps + wx, t->fy = taps + fy, t->wy = taps + wy;
    return 0;
}

int vl_cuda_resize_device(struct vl_ops_ctx *ctx, const uint8_t *in, int src_w, int src_h,
                          int channels, uint8_t *out, int dst_w, int dst_h, enum vl_interp interp,
                          enum vl_cuda_taps slot, const char *entry, struct vl_error *err)
{
    struct vl_kern_plane_taps t;
    if (vl_cuda_taps(ctx, slot, interp, src_w, src_h, dst_w, dst_h, &t, entry, err) < 0) return -1;
    if (!t.fx) /* equal sizes: the bytes */
        return vl_cuda_check(cudaMemcpyAsync(out, in, (size_t)src_w * src_h * channels,
                                             cudaMemcpyDeviceToDevice, ctx->compute),
                             entry, err);
    size_t mid_n = (size_t)dst_w * src_h * channels;
    int32_t *mid = (int32_t *)vl_cuda_scratch(ctx, VL_SCRATCH_TMP, mid_n * 4, entry, err);
    if (!mid) return -1;
    k_resize_rows<<<blocks_for(mid_n), THREADS, 0, ctx->compute>>>(
        in, src_w, src_h, channels, dst_w, t.fx, t.wx, t.ntx, mid);
    size_t out_n = (size_t)dst_w * dst_h * channels;
    k_resize_columns<<<blocks_for(out_n), THREADS, 0, ctx->compute>>>(
        mid, src_h, channels, dst_w, dst_h, t.fy, t.wy, t.nty, out);
    return launched(entry, err);
}

static int resize(struct vl_ops_ctx *ctx, const struct vl_frame *src, struct vl_frame *dst,
                  enum vl_interp interp, struct vl_error *err)
{
    if (vl_cuda_enter(ctx, err) < 0) return -1;
    uint8_t *in = vl_cuda_frame_in(ctx, src, 1, VL_SCRATCH_IN, "resize", err);
    uint8_t *out = in ? vl_cuda_frame_in(ctx, dst, 0, VL_SCRATCH_OUT, "resize", err) : NULL;
    if (!out ||
        vl_cuda_resize_device(ctx, in, src->width, src->height, 3, out, dst->width, dst->height,
                              interp, VL_TAPS_RESIZE, "resize", err) < 0)
        return -1;
    return vl_cuda_frame_out(ctx, out, dst, err);
}

static int crop(struct vl_ops_ctx *ctx, const struct vl_frame *src, int x, int y,
                struct vl_frame *dst, struct vl_error *err)
{
    if (vl_cuda_enter(ctx, err) < 0) return -1;
    if (x < 0 || y < 0 || x + dst->width > src->width || y + dst->height > src->height)
        return fail(err, "crop: the %dx%d window at %d,%d is outside the %dx%d frame", dst->width,
                    dst->height, x, y, src->width, src->height);
    uint8_t *in = vl_cuda_frame_in(ctx, src, 1, VL_SCRATCH_IN, "crop", err);
    uint8_t *out = in ? vl_cuda_frame_in(ctx, dst, 0, VL_SCRATCH_OUT, "crop", err) : NULL;
    if (!out) return -1;
    k_crop<<<blocks_for((size_t)dst->width * dst->height), THREADS, 0, ctx->compute>>>(
        in, src->width, x, y, dst->width, dst->height, out);
    if (launched("crop", err) < 0) return -1;
    return vl_cuda_frame_out(ctx, out, dst, err);
}

static int flip_horizontal(struct vl_ops_ctx *ctx, struct vl_frame *f, struct vl_error *err)
{
    if (vl_cuda_enter(ctx, err) < 0) return -1;
    uint8_t *p = vl_cuda_frame_in(ctx, f, 1, VL_SCRATCH_IN, "flip_horizontal", err);
    if (!p) return -1;
    k_flip<<<blocks_for((size_t)(f->width / 2 + 1) * f->height), THREADS, 0, ctx->compute>>>(
        p, f->width, f->height);
    if (launched("flip_horizontal", err) < 0) return -1;
    return vl_cuda_frame_out(ctx, p, f, err);
}

static int rotate(struct vl_ops_ctx *ctx, const struct vl_frame *src, struct vl_frame *dst,
                  double degrees, struct vl_error *err)
{
    if (vl_cuda_enter(ctx, err) < 0) return -1;
    if (src->width != dst->width || src->height != dst->height)
        return fail(err, "rotate: from %dx%d into %dx%d", src->width, src->height, dst->width,
                    dst->height);
    uint8_t *in = vl_cuda_frame_in(ctx, src, 1, VL_SCRATCH_IN, "rotate", err);
    uint8_t *out = in ? vl_cuda_frame_in(ctx, dst, 0, VL_SCRATCH_OUT, "rotate", err) : NULL;
    if (!out) return -1;
    int64_t c, s;
    vl_kern_fixed_cos_sin(degrees, &c, &s);
    struct vl_kern_rotation r;
    vl_kern_rotation_init(&r, src->width, src->height, c, s);
    k_rotate<<<blocks_for((size_t)src->width * src->height), THREADS, 0, ctx->compute>>>(r, in,
                                                                                         out);
    if (launched("rotate", err) < 0) return -1;
    return vl_cuda_frame_out(ctx, out, dst, err);
}

/* a histogram kernel's grid: enough blocks to fill a GPU, each looping */
static unsigned hist_blocks(size_t n)
{
    unsigned b = blocks_for(n);
    return b < 1024 ? (b ? b : 1) : 1024;
}

static int color_jitter(struct vl_ops_ctx *ctx, struct vl_frame *f, const struct vl_color_jitter *j,
                        struct vl_error *err)
{
    if (vl_cuda_enter(ctx, err) < 0) return -1;
    uint8_t *p = vl_cuda_frame_in(ctx, f, 1, VL_SCRATCH_IN, "color_jitter", err);
    if (!p) return -1;
    size_t n = (size_t)f->width * f->height;
    int tone = j->brightness != 1.0 || j->contrast != 1.0;
    int sq = (int)llround(j->saturation * 4096.0), shift = (int)llround(j->hue * 6.0 * 4096.0);
    struct lut256 lut;
    unsigned hist[3][256];
    for (int v = 0; v < 256; v++) lut.v[v] = (uint8_t)v;
    if (j->contrast != 1.0) {
        /* the mean grey needs the frame's channel histograms: counted on
         * the device, the table made on the host with the CPU's formula */
        unsigned *counts =
            (unsigned *)vl_cuda_scratch(ctx, VL_SCRATCH_RESULT, sizeof hist, "color_jitter", err);
        if (!counts ||
            vl_cuda_check(cudaMemsetAsync(counts, 0, sizeof hist, ctx->compute), "color_jitter",
                          err) < 0)
            return -1;
        k_channel_hist<<<hist_blocks(n), THREADS, 0, ctx->compute>>>(p, n, counts);
        if (launched("color_jitter", err) < 0 ||
            vl_cuda_read_back(ctx, counts, hist, sizeof hist, err) < 0)
            return -1;
    }
    if (tone) {
        uint64_t wide[3][256]; /* kern/tables.h counts in 64 bits */
        for (int c = 0; c < 3; c++)
            for (int v = 0; v < 256; v++) wide[c][v] = j->contrast != 1.0 ? hist[c][v] : 0;
        vl_kern_tone_lut((const uint64_t(*)[256])wide, n, j, lut.v);
    }
    if (sq == 4096 && !shift && !tone) return vl_cuda_frame_out(ctx, p, f, err);
    k_jitter<<<blocks_for(n), THREADS, 0, ctx->compute>>>(p, n, lut, tone, sq, shift);
    if (launched("color_jitter", err) < 0) return -1;
    return vl_cuda_frame_out(ctx, p, f, err);
}

/* plane p of a w x h picture (0 Y, 1 and 2 chroma) as rows x bytes; full:
 * 4:2:2 chroma (a row per luma row) */
static void plane_shape(int w, int h, int full, int p, int *n, int *rows)
{
    *n = p ? (w + 1) / 2 : w;
    *rows = p == 0 ? h : full ? h : (h + 1) / 2;
}

/* The tables of a jitter at bits per sample (8 or 10) into yl and cl
 * (1 << bits entries; the CPU's, kern/tables.h); only the window's Y
 * histogram, for the contrast, comes from the device. */
static int yuv_tables(struct vl_ops_ctx *ctx, const struct vl_yuv_frame *src, int x, int y, int w,
                      int h, const struct vl_color_jitter *j, int bits, int *yl, int *cl,
                      const char *entry, struct vl_error *err)
{
    if (vl_cuda_enter(ctx, err) < 0) return -1;
    uint32_t hist[1024];
    size_t bins = (size_t)1 << bits, bytes = bits == 8 ? 1 : 2;
    if (vl_kern_yuv_tables_need_hist(j)) {
        if (x < 0 || y < 0 || w <= 0 || h <= 0 || x + w > src->width || y + h > src->height)
            return fail(err, "%s: the %dx%d window at %d,%d is outside the %dx%d frame", entry, w,
                        h, x, y, src->width, src->height);
        const uint8_t *plane = (const uint8_t *)vl_cuda_stage_in(
            ctx, src->plane[0] + (size_t)y * src->stride[0] + (size_t)x * bytes, src->mem,
            (size_t)src->stride[0], (size_t)w * bytes, (size_t)h, VL_SCRATCH_IN, entry, err);
        size_t pitch = src->mem == VL_MEM_DEVICE ? (size_t)src->stride[0] : (size_t)w * bytes;
        unsigned *counts = plane ? (unsigned *)vl_cuda_scratch(ctx, VL_SCRATCH_RESULT,
                                                               bins * sizeof *hist, entry, err)
                                 : NULL;
        if (!counts ||
            vl_cuda_check(cudaMemsetAsync(counts, 0, bins * sizeof *hist, ctx->compute), entry,
                          err) < 0)
            return -1;
        k_plane_hist<<<hist_blocks((size_t)w * h), THREADS, 0, ctx->compute>>>(plane, pitch, w, h,
                                                                               bits != 8, counts);
        if (launched(entry, err) < 0 ||
            vl_cuda_read_back(ctx, counts, hist, bins * sizeof *hist, err) < 0)
            return -1;
    }
    vl_kern_yuv_tables(hist, (uint64_t)w * h, src->full_range, j, bits, yl, cl);
    return 0;
}

static int yuv_jitter_tables(struct vl_ops_ctx *ctx, const struct vl_yuv_frame *src, int x, int y,
                             int w, int h, const struct vl_color_jitter *j, uint8_t ylut[256],
                             uint8_t clut[256], struct vl_error *err)
{
    int yl[256], cl[256];
    if (yuv_tables(ctx, src, x, y, w, h, j, 8, yl, cl, "yuv_jitter_tables", err) < 0) return -1;
    for (int v = 0; v < 256; v++) ylut[v] = (uint8_t)yl[v], clut[v] = (uint8_t)cl[v];
    return 0;
}

static int yuv10_jitter_tables(struct vl_ops_ctx *ctx, const struct vl_yuv_frame *src, int x,
                               int y, int w, int h, const struct vl_color_jitter *j,
                               uint16_t ylut[1024], uint16_t clut[1024], struct vl_error *err)
{
    int yl[1024], cl[1024];
    if (yuv_tables(ctx, src, x, y, w, h, j, 10, yl, cl, "yuv10_jitter_tables", err) < 0)
        return -1;
    for (int v = 0; v < 1024; v++) ylut[v] = (uint16_t)yl[v], clut[v] = (uint16_t)cl[v];
    return 0;
}

/* The window at (x, y) of src into dst, mirrored when flip, each sample of
 * bits (8, or 10 in 16-bit samples) through its table (ylut for Y, clut for
 * U and V: uint8_t[256] or uint16_t[1024]). */
static int map_window(struct vl_ops_ctx *ctx, const struct vl_yuv_frame *src, int x, int y,
                      int flip, const void *ylut, const void *clut, int bits,
                      struct vl_yuv_frame *dst, const char *entry, struct vl_error *err)
{
    if (vl_cuda_enter(ctx, err) < 0) return -1;
    int full = src->chroma_full_height;
    size_t bytes = bits == 8 ? 1 : 2;
    if (x < 0 || y < 0 || (x & 1) || (!full && (y & 1)) || x + dst->width > src->width ||
        y + dst->height > src->height || dst->width <= 0 || dst->height <= 0)
        return fail(err, "%s: the %dx%d window at %d,%d does not fit the %dx%d frame (x even, y "
                         "even for 4:2:0)",
                    entry, dst->width, dst->height, x, y, src->width, src->height);
    for (int p = 0; p < 3; p++) {
        int n, rows;
        plane_shape(dst->width, dst->height, full, p, &n, &rows); /* src's layout, as the CPU */
        int px = p ? x / 2 : x, py = p && !full ? y / 2 : y;
        size_t row = (size_t)n * bytes;
        const uint8_t *in = (const uint8_t *)vl_cuda_stage_in(
            ctx, src->plane[p] + (size_t)py * src->stride[p] + (size_t)px * bytes, src->mem,
            (size_t)src->stride[p], row, (size_t)rows, VL_SCRATCH_IN, entry, err);
        if (!in) return -1;
        size_t in_pitch = src->mem == VL_MEM_DEVICE ? (size_t)src->stride[p] : row;
        uint8_t *out = dst->mem == VL_MEM_DEVICE
                           ? dst->plane[p]
                           : (uint8_t *)vl_cuda_scratch(ctx, VL_SCRATCH_OUT, row * rows, entry,
                                                        err);
        if (!out) return -1;
        size_t out_pitch = dst->mem == VL_MEM_DEVICE ? (size_t)dst->stride[p] : row;
        const void *lut = p ? clut : ylut;
        if (bits == 8) {
            struct lut256 t;
            memcpy(t.v, lut, sizeof t.v);
            k_map_plane<<<blocks_for((size_t)n * rows), THREADS, 0, ctx->compute>>>(
                in, in_pitch, n, rows, flip, t, out, out_pitch);
        } else {
            struct lut1024 t;
            memcpy(t.v, lut, sizeof t.v);
            k_map_plane16<<<blocks_for((size_t)n * rows), THREADS, 0, ctx->compute>>>(
                in, in_pitch, n, rows, flip, t, out, out_pitch);
        }
        if (launched(entry, err) < 0) return -1;
        if (dst->mem != VL_MEM_DEVICE &&
            vl_cuda_stage_out(ctx, out, dst->plane[p], (size_t)dst->stride[p], row, (size_t)rows,
                              err) < 0)
            return -1;
    }
    return 0;
}

static int yuv_crop_flip_map(struct vl_ops_ctx *ctx, const struct vl_yuv_frame *src, int x, int y,
                             int flip, const uint8_t ylut[256], const uint8_t clut[256],
                             struct vl_yuv_frame *dst, struct vl_error *err)
{
    return map_window(ctx, src, x, y, flip, ylut, clut, 8, dst, "yuv_crop_flip_map", err);
}

static int yuv10_crop_flip_map(struct vl_ops_ctx *ctx, const struct vl_yuv_frame *src, int x,
                               int y, int flip, const uint16_t ylut[1024],
                               const uint16_t clut[1024], struct vl_yuv_frame *dst,
                               struct vl_error *err)
{
    return map_window(ctx, src, x, y, flip, ylut, clut, 10, dst, "yuv10_crop_flip_map", err);
}

static int gaussian_noise(struct vl_ops_ctx *ctx, struct vl_frame *f, double sigma, uint64_t seed,
                          struct vl_error *err)
{
    if (vl_cuda_enter(ctx, err) < 0) return -1;
    int64_t k = llround(sigma * sqrt(3.0) * 65536.0);
    if (k == 0) return 0;
    uint8_t *p = vl_cuda_frame_in(ctx, f, 1, VL_SCRATCH_IN, "gaussian_noise", err);
    if (!p) return -1;
    size_t n = (size_t)f->width * f->height * 3;
    k_noise<<<blocks_for(n), THREADS, 0, ctx->compute>>>(p, n, k, seed);
    if (launched("gaussian_noise", err) < 0) return -1;
    return vl_cuda_frame_out(ctx, p, f, err);
}

static int gaussian_blur(struct vl_ops_ctx *ctx, struct vl_frame *f, double sigma,
                         struct vl_error *err)
{
    if (vl_cuda_enter(ctx, err) < 0) return -1;
    if (sigma <= 0) return 0;
    if (sigma > 20) return fail(err, "blur sigma %g is above 20 pixels", sigma);
    struct vl_kern_blur_kernel b;
    vl_kern_blur_kernel_of(sigma, &b);
    uint8_t *p = vl_cuda_frame_in(ctx, f, 1, VL_SCRATCH_IN, "gaussian_blur", err);
    size_t n = (size_t)f->width * f->height * 3;
    uint8_t *mid = p ? (uint8_t *)vl_cuda_scratch(ctx, VL_SCRATCH_TMP, n, "gaussian_blur", err)
                     : NULL;
    if (!mid) return -1;
    k_blur_rows<<<blocks_for(n), THREADS, 0, ctx->compute>>>(p, mid, f->width, f->height, b);
    k_blur_columns<<<blocks_for(n), THREADS, 0, ctx->compute>>>(mid, p, f->width, f->height, b);
    if (launched("gaussian_blur", err) < 0) return -1;
    return vl_cuda_frame_out(ctx, p, f, err);
}

static int hsv_histogram(struct vl_ops_ctx *ctx, const struct vl_frame *f, int bins, float *out,
                         struct vl_error *err)
{
    if (vl_cuda_enter(ctx, err) < 0) return -1;
    if (bins < 1 || bins > MAX_BINS) return 0; /* as the CPU: out left alone */
    memset(out, 0, 3 * (size_t)bins * sizeof *out);
    size_t n = (size_t)f->width * f->height;
    if (n == 0) return 0;
    const uint8_t *p = vl_cuda_frame_in(ctx, f, 1, VL_SCRATCH_IN, "hsv_histogram", err);
    unsigned *counts = p ? (unsigned *)vl_cuda_scratch(ctx, VL_SCRATCH_RESULT, 3 * MAX_BINS * 4,
                                                       "hsv_histogram", err)
                         : NULL;
    unsigned host[3 * MAX_BINS];
    if (!counts ||
        vl_cuda_check(cudaMemsetAsync(counts, 0, 3 * (size_t)bins * 4, ctx->compute),
                      "hsv_histogram", err) < 0)
        return -1;
    k_hsv<<<hist_blocks(n), THREADS, 0, ctx->compute>>>(p, n, bins, counts);
    if (launched("hsv_histogram", err) < 0 ||
        vl_cuda_read_back(ctx, counts, host, 3 * (size_t)bins * 4, err) < 0)
        return -1;
    for (int c = 0; c < 3 * bins; c++) out[c] = (float)((double)host[c] / (double)n);
    return 0;
}

/* the grey image of f on the device, in scratch GREY at offset slot * pixels */
static uint8_t *grey_of(struct vl_ops_ctx *ctx, const struct vl_frame *f, int slot,
                        enum vl_cuda_scratch in_slot, const char *entry, struct vl_error *err)
{
    size_t n = (size_t)f->width * f->height;
    const uint8_t *p = vl_cuda_frame_in(ctx, f, 1, in_slot, entry, err);
    uint8_t *g = p ? (uint8_t *)vl_cuda_scratch(ctx, VL_SCRATCH_GREY, 2 * n, entry, err) : NULL;
    if (!g) return NULL;
    k_grey<<<blocks_for(n), THREADS, 0, ctx->compute>>>(p, n, g + slot * n);
    return launched(entry, err) < 0 ? NULL : g + slot * n;
}

/* the sums of K partials per block over blocks, read back from the device */
static int sum_partials(struct vl_ops_ctx *ctx, const long long *d, unsigned blocks, int k,
                        long long *sums, struct vl_error *err)
{
    size_t bytes = (size_t)blocks * k * sizeof(long long);
    if (ctx->host_result_cap < bytes) {
        free(ctx->host_result);
        if (!(ctx->host_result = malloc(bytes))) abort();
        ctx->host_result_cap = bytes;
    }
    if (vl_cuda_read_back(ctx, d, ctx->host_result, bytes, err) < 0) return -1;
    const long long *h = (const long long *)ctx->host_result;
    for (int j = 0; j < k; j++) sums[j] = 0;
    for (unsigned b = 0; b < blocks; b++)
        for (int j = 0; j < k; j++) sums[j] += h[(size_t)b * k + j];
    return 0;
}

static int motion(struct vl_ops_ctx *ctx, const struct vl_frame *a, const struct vl_frame *b,
                  struct vl_motion *out, struct vl_error *err)
{
    if (vl_cuda_enter(ctx, err) < 0) return -1;
    memset(out, 0, sizeof *out);
    int w = a->width, h = a->height;
    size_t n = (size_t)w * h;
    if (n == 0 || b->width != w || b->height != h) return 0;
    uint8_t *ga = grey_of(ctx, a, 0, VL_SCRATCH_IN, "motion", err);
    uint8_t *gb = ga ? grey_of(ctx, b, 1, VL_SCRATCH_IN2, "motion", err) : NULL;
    unsigned blocks = blocks_for(n);
    long long *partial =
        gb ? (long long *)vl_cuda_scratch(ctx, VL_SCRATCH_RESULT, (size_t)blocks * 7 * 8, "motion",
                                          err)
           : NULL;
    if (!partial) return -1;
    k_motion<<<blocks, THREADS, 0, ctx->compute>>>(ga, gb, w, h, partial);
    long long s[7];
    if (launched("motion", err) < 0 || sum_partials(ctx, partial, blocks, 7, s, err) < 0)
        return -1;
    /* the CPU's formulas (cpu_features.c, vl_cpu_motion) on the same sums */
    out->mean = (double)(uint64_t)s[0] / (double)n;
    double var = (double)(uint64_t)s[1] / (double)n - out->mean * out->mean;
    out->spread = var > 0 ? sqrt(var) : 0;
    if (w < 3 || h < 3) return 0;
    double a11 = s[2] / 16.0, a12 = s[3] / 16.0, a22 = s[4] / 16.0;
    double b1 = -s[5] / 4.0, b2 = -s[6] / 4.0;
    double lambda = 1e-3 * (a11 + a22) + 1e-9;
    a11 += lambda, a22 += lambda;
    double det = a11 * a22 - a12 * a12;
    if (det <= 0) return 0;
    out->horizontal = (a22 * b1 - a12 * b2) / det;
    out->vertical = (a11 * b2 - a12 * b1) / det;
    return 0;
}

static int laplacian_variance(struct vl_ops_ctx *ctx, const struct vl_frame *f, double *out,
                              struct vl_error *err)
{
    if (vl_cuda_enter(ctx, err) < 0) return -1;
    int w = f->width, h = f->height;
    *out = 0;
    if (w < 3 || h < 3) return 0;
    uint8_t *g = grey_of(ctx, f, 0, VL_SCRATCH_IN, "laplacian_variance", err);
    unsigned blocks = blocks_for((size_t)(w - 2) * (h - 2));
    long long *partial = g ? (long long *)vl_cuda_scratch(ctx, VL_SCRATCH_RESULT,
                                                          (size_t)blocks * 2 * 8,
                                                          "laplacian_variance", err)
                           : NULL;
    if (!partial) return -1;
    k_laplacian<<<blocks, THREADS, 0, ctx->compute>>>(g, w, h, partial);
    long long s[2];
    if (launched("laplacian_variance", err) < 0 ||
        sum_partials(ctx, partial, blocks, 2, s, err) < 0)
        return -1;
    double n = (double)(w - 2) * (h - 2), mean = (double)s[0] / n;
    double var = (double)s[1] / n - mean * mean;
    *out = var > 0 ? var : 0;
    return 0;
}

static int edge_density(struct vl_ops_ctx *ctx, const struct vl_frame *f, double threshold,
                        double *out, struct vl_error *err)
{
    if (vl_cuda_enter(ctx, err) < 0) return -1;
    int w = f->width, h = f->height;
    *out = 0;
    if (w < 3 || h < 3) return 0;
    uint8_t *g = grey_of(ctx, f, 0, VL_SCRATCH_IN, "edge_density", err);
    unsigned blocks = blocks_for((size_t)(w - 2) * (h - 2));
    long long *partial =
        g ? (long long *)vl_cuda_scratch(ctx, VL_SCRATCH_RESULT, (size_t)blocks * 8,
                                         "edge_density", err)
          : NULL;
    if (!partial) return -1;
    double limit = threshold > 0 ? threshold * threshold : 0;
    k_edges<<<blocks, THREADS, 0, ctx->compute>>>(g, w, h, limit, partial);
    long long edges;
    if (launched("edge_density", err) < 0 || sum_partials(ctx, partial, blocks, 1, &edges, err) < 0)
        return -1;
    *out = (double)edges / ((double)(w - 2) * (h - 2));
    return 0;
}

static int dct_high_ratio(struct vl_ops_ctx *ctx, const struct vl_frame *f, double *out,
                          struct vl_error *err)
{
    if (vl_cuda_enter(ctx, err) < 0) return -1;
    int w = f->width, h = f->height;
    *out = 0;
    if (w < 8 || h < 8) return 0;
    int bw = w / 8, bh = h / 8;
    size_t nb = (size_t)bw * bh, bytes = nb * (8 + VL_CUDA_DCT_HIGH * 4);
    uint8_t *g = grey_of(ctx, f, 0, VL_SCRATCH_IN, "dct_high_ratio", err);
    uint8_t *res = g ? (uint8_t *)vl_cuda_scratch(ctx, VL_SCRATCH_RESULT, bytes, "dct_high_ratio",
                                                  err)
                     : NULL;
    if (!res) return -1;
    struct cosines cs;
    vl_kern_dct_cosines(cs.c);
    k_dct<<<blocks_for(nb), THREADS, 0, ctx->compute>>>(g, w, bw, bh, cs, (int64_t *)res,
                                                        (float *)(res + nb * 8));
    if (ctx->host_result_cap < bytes) {
        free(ctx->host_result);
        if (!(ctx->host_result = malloc(bytes))) abort();
        ctx->host_result_cap = bytes;
    }
    if (launched("dct_high_ratio", err) < 0 ||
        vl_cuda_read_back(ctx, res, ctx->host_result, bytes, err) < 0)
        return -1;
    *out = vl_cuda_dct_ratio((const int64_t *)ctx->host_result,
                             (const float *)((const uint8_t *)ctx->host_result + nb * 8), nb);
    return 0;
}

/* By name, so an entry added to struct vl_ops stays NULL here (an optional
 * entry the table lacks) instead of shifting the others (designated
 * initialisers are a C++20 feature g++ and nvcc accept in C++17; g++ warns of
 * every member one leaves out, and leaving out is the point). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
extern "C" const struct vl_ops vl_cuda_ops = {
    .name = "cuda",
    .ctx_new = ctx_new,
    .ctx_free = vl_cuda_ctx_free,
    .upload = vl_cuda_upload,
    .download = vl_cuda_download,
    .sync = vl_cuda_sync,
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
    .convert_new = vl_cuda_convert_new,
    .convert_takes = vl_cuda_convert_takes,
    .convert = vl_cuda_convert,
    .convert_free = vl_cuda_convert_free,
    .hsv_histogram = hsv_histogram,
    .motion = motion,
    .laplacian_variance = laplacian_variance,
    .edge_density = edge_density,
    .dct_high_ratio = dct_high_ratio,
};
#pragma GCC diagnostic pop
