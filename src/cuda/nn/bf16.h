/* bf16.h - the bf16 operands of the CUDA backend's precision=bf16
 * (VL_CUDA_NN_BF16): the kernels that cast fp32 arrays into bf16 copies
 * (round to nearest even, __float2bfloat16_rn) and widen bf16 results back
 * into fp32, and the device scratch those copies live in.  Used by gemm.cu
 * (cuBLASLt's A and B) and conv.cu (cuDNN's x, w, dy and, where an engine
 * wants its output in bf16, that output).  Private to vlbuild-cuda-nn.so;
 * compiled by nvcc only.
 *
 * A scratch is one device buffer owned by the piece that holds it, grown
 * by doubling when a call needs more and never shrunk, so a training step
 * allocates nothing once its largest call has run.  A call reserves all it
 * needs first and then lays its arrays out at offsets of
 * vl_cuda_nn_bf16_bytes (multiples of 256 bytes), so every copy starts
 * 256-byte aligned.  Everything runs on st->stream: a grown buffer's old
 * memory is freed in stream order, after the kernels and library calls of
 * earlier calls that read it. */
#ifndef VL_CUDA_NN_BF16_H
#define VL_CUDA_NN_BF16_H

#include <cuda_bf16.h>
#include <stddef.h>
#include <stdint.h>

#include "cuda/nn/nn_cuda.h"

struct vl_cuda_nn_bf16_scratch {
    void *base; /* device memory, bytes of it; NULL before the first reserve */
    size_t bytes;
};

/* The bytes count bf16 values take in a scratch layout: rounded up to 256,
 * so the next array starts as aligned as the buffer. */
static inline size_t vl_cuda_nn_bf16_bytes(size_t count)
{
    return (count * sizeof(__nv_bfloat16) + 255) & ~(size_t)255;
}

/* The base of s, at least bytes of it (grown by doubling, the old buffer
 * freed in stream order; its contents are not kept); NULL after a recorded
 * failure (what names the scratch in the message).  Valid until the next
 * reserve of s that asks for more. */
void *vl_cuda_nn_bf16_reserve(struct vl_cuda_nn_state *st, struct vl_cuda_nn_bf16_scratch *s,
                              size_t bytes, const char *what);
/* Frees what reserve made of s (in stream order) and leaves it empty. */
void vl_cuda_nn_bf16_scratch_free(struct vl_cuda_nn_state *st, struct vl_cuda_nn_bf16_scratch *s);

/* Casts batch matrices of rows x cols, fp32 at src (row stride src_ld,
 * matrix stride src_stride elements), into bf16 at dst (dst_ld,
 * dst_stride), on st->stream; values outside the rows x cols are neither
 * read nor written.  0, or -1 with the launch failure recorded as WHAT. */
int vl_cuda_nn_bf16_cast(struct vl_cuda_nn_state *st, const float *src, int64_t src_ld,
                         int64_t src_stride, __nv_bfloat16 *dst, int64_t dst_ld, int64_t dst_stride,
                         int64_t rows, int64_t cols, int64_t batch, const char *what);
/* dst[i] = src[i] widened to fp32 (accumulate 0) or dst[i] += src[i]
 * (accumulate 1, the sum rounded once in fp32), i < count, on st->stream.
 * 0, or -1 with the launch failure recorded as WHAT. */
int vl_cuda_nn_bf16_widen(struct vl_cuda_nn_state *st, const __nv_bfloat16 *src, float *dst,
                          size_t count, int accumulate, const char *what);

#endif
