/* kernels.h - what the files of the CUDA backend's own kernels share
 * (kernels.cu, kernels_reduce.cu, kernels_loss.cu, kernels_pool.cu): their
 * scratch (struct vl_cuda_nn_kernels), the launch check, the launch shape
 * of element-wise kernels and the fixed-order reductions in double.
 * Private to vlbuild-cuda-nn.so; compiled by nvcc only.
 *
 * Scratch: one device buffer (reduction partials, host arrays uploaded for
 * one call) and one pinned host buffer (results read back), each grown by
 * doubling when a call needs more and never shrunk.  Everything runs on
 * st->stream, so a call that rewrites the device scratch is ordered after
 * the kernels of earlier calls that read it, and a grown buffer's old
 * memory is freed in stream order too.  The pinned buffer is only read
 * after a stream synchronisation in the call that filled it. */
#ifndef VL_CUDA_NN_KERNELS_H
#define VL_CUDA_NN_KERNELS_H

#include "cuda/nn/nn_cuda.h"

#define VL_KERN_THREADS 256       /* the block of every element-wise and per-output kernel */
#define VL_KERN_MAX_BLOCKS 65535u /* element-wise grids stride over what is left */

struct vl_cuda_nn_kernels {
    void *dev; /* device scratch, dev_bytes of it */
    size_t dev_bytes;
    void *host; /* pinned host scratch, host_bytes of it */
    size_t host_bytes;
};

/* The device scratch of st, at least bytes of it (grown by doubling); NULL
 * after a recorded failure.  Valid until the next call that asks for more. */
void *vl_cuda_nn_kern_scratch(struct vl_cuda_nn_state *st, size_t bytes);
/* The pinned host scratch of st, at least bytes of it; NULL after a
 * recorded failure. */
void *vl_cuda_nn_kern_scratch_host(struct vl_cuda_nn_state *st, size_t bytes);
/* Copies bytes of host memory src to device dst on the stream (pageable
 * memory: the caller may reuse src once this returns); -1 when recorded
 * as a failure. */
int vl_cuda_nn_kern_upload(struct vl_cuda_nn_state *st, void *dst, const void *src, size_t bytes);
/* Records the launch error of the kernel just launched as WHAT; 0 or -1. */
int vl_cuda_nn_kern_launched(struct vl_cuda_nn_state *st, const char *what);

/* patch_tokens_backward's dconv [n, e, np] from dy (kernels.cu; the sums
 * into dpos and dcls are kernels_reduce.cu's). */
void vl_cuda_nn_kern_patch_dconv(struct vl_cuda_nn_state *st, int n, int np, int e, int cls,
                                 const float *dy, float *dconv);

/* The fillers of the files beside kernels.cu (each sets its entries of b). */
void vl_cuda_nn_fill_kernels_reduce(struct vl_nn_backend *b);
void vl_cuda_nn_fill_kernels_loss(struct vl_nn_backend *b);
void vl_cuda_nn_fill_kernels_pool(struct vl_nn_backend *b);

/* bytes rounded up to 16, for laying several arrays out in one scratch */
static inline size_t vl_cuda_nn_kern_align(size_t bytes)
{
    return (bytes + 15) & ~(size_t)15;
}

/* The grid of an element-wise kernel over n values (at least one block;
 * kernels stride by gridDim.x * blockDim.x over the rest). */
static inline unsigned vl_cuda_nn_kern_grid(size_t n)
{
    size_t b = (n + VL_KERN_THREADS - 1) / VL_KERN_THREADS;
    return b < 1 ? 1u : b > VL_KERN_MAX_BLOCKS ? VL_KERN_MAX_BLOCKS : (unsigned)b;
}

/* a grid-stride loop's first index and step */
#define VL_KERN_FIRST_INDEX ((size_t)blockIdx.x * blockDim.x + threadIdx.x)
#define VL_KERN_STRIDE ((size_t)gridDim.x * blockDim.x)

/* The sum of v over the block's VL_KERN_THREADS threads, every thread's
 * result the same: a fixed tree in shared memory (thread t adds t + s for
 * s = 128, 64, ... 1), so the order depends on the block size alone. */
__device__ static inline double vl_cuda_nn_kern_block_sum(double v)
{
    __shared__ double sh[VL_KERN_THREADS];
    sh[threadIdx.x] = v;
    __syncthreads();
    for (int s = VL_KERN_THREADS / 2; s > 0; s >>= 1) {
        if ((int)threadIdx.x < s) sh[threadIdx.x] += sh[threadIdx.x + s];
        __syncthreads();
    }
    double r = sh[0];
    __syncthreads(); /* sh is reused by the caller's next sum */
    return r;
}

/* The sum of v over one full warp, every lane's result lane 0's: a fixed
 * tree of shuffles (lane l adds l + 16, then l + 8, ... l + 1). */
__device__ static inline double vl_cuda_nn_kern_warp_sum(double v)
{
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_down_sync(0xffffffffu, v, o);
    return __shfl_sync(0xffffffffu, v, 0);
}

/* The largest of v over one full warp (order-free: max is exact). */
__device__ static inline float vl_cuda_nn_kern_warp_max(float v)
{
    for (int o = 16; o > 0; o >>= 1)
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

#endif
