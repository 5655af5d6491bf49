/* bf16.cu - the cast and widen kernels of precision=bf16 and the scratch
 * their bf16 copies live in (bf16.h).  One thread per value, striding over
 * the rest when the grid is capped (kernels.h's launch shape).  The cast
 * rounds to nearest even (__float2bfloat16_rn: NaN stays NaN, infinities
 * and values past the largest bf16 become infinities), so a given fp32
 * array always gives the same bf16 bits.  Compiled by nvcc only; it has
 * never run on a GPU. */
#include "cuda/nn/bf16.h"
#include "cuda/nn/kernels.h"

/* the first buffer of a scratch: a small model's largest operands fit */
#define BF16_SCRATCH_START ((size_t)1 << 20)

void *vl_cuda_nn_bf16_reserve(struct vl_cuda_nn_state *st, struct vl_cuda_nn_bf16_scratch *s,
                              size_t bytes, const char *what)
{
    if (s->base && bytes <= s->bytes) return s->base;
    size_t want = s->bytes ? s->bytes : BF16_SCRATCH_START;
    while (want < bytes)
        want *= 2;
    void *p = vl_cuda_nn_alloc(st, want, what);
    if (!p) return NULL;
    if (s->base) (void)cudaFreeAsync(s->base, st->stream);
    s->base = p;
    s->bytes = want;
    return p;
}

void vl_cuda_nn_bf16_scratch_free(struct vl_cuda_nn_state *st, struct vl_cuda_nn_bf16_scratch *s)
{
    if (s->base) (void)cudaFreeAsync(s->base, st->stream);
    s->base = NULL;
    s->bytes = 0;
}

/* dst = bf16(src) over total = batch * rows * cols values, each matrix and
 * row at its own strides on either side. */
__global__ static void cast_matrices(const float *src, int64_t src_ld, int64_t src_stride,
                                     __nv_bfloat16 *dst, int64_t dst_ld, int64_t dst_stride,
                                     int64_t rows, int64_t cols, int64_t total)
{
    int64_t per = rows * cols;
    for (int64_t i = (int64_t)VL_KERN_FIRST_INDEX; i < total; i += (int64_t)VL_KERN_STRIDE) {
        int64_t b = i / per, r = (i % per) / cols, j = i % cols;
        dst[b * dst_stride + r * dst_ld + j] =
            __float2bfloat16_rn(src[b * src_stride + r * src_ld + j]);
    }
}

/* dst = float(src), or dst += float(src), over n values. */
__global__ static void widen(const __nv_bfloat16 *src, float *dst, size_t n, int accumulate)
{
    for (size_t i = VL_KERN_FIRST_INDEX; i < n; i += VL_KERN_STRIDE) {
        float v = __bfloat162float(src[i]);
        dst[i] = accumulate ? __fadd_rn(dst[i], v) : v;
    }
}

int vl_cuda_nn_bf16_cast(struct vl_cuda_nn_state *st, const float *src, int64_t src_ld,
                         int64_t src_stride, __nv_bfloat16 *dst, int64_t dst_ld, int64_t dst_stride,
                         int64_t rows, int64_t cols, int64_t batch, const char *what)
{
    int64_t total = batch * rows * cols;
    if (total <= 0) return 0;
    cast_matrices<<<vl_cuda_nn_kern_grid((size_t)total), VL_KERN_THREADS, 0, st->stream>>>(
        src, src_ld, src_stride, dst, dst_ld, dst_stride, rows, cols, total);
    return vl_cuda_nn_kern_launched(st, what);
}

int vl_cuda_nn_bf16_widen(struct vl_cuda_nn_state *st, const __nv_bfloat16 *src, float *dst,
                          size_t count, int accumulate, const char *what)
{
    if (count == 0) return 0;
    widen<<<vl_cuda_nn_kern_grid(count), VL_KERN_THREADS, 0, st->stream>>>(src, dst, count,
                                                                           accumulate);
    return vl_cuda_nn_kern_launched(st, what);
}
