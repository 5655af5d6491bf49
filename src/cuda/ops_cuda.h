/* ops_cuda.h - the CUDA operations table's per-job context and the memory
 * helpers its entries share (ops_ctx.cu), private to the CUDA module.
 *
 * A context belongs to one job on one device (cudaSetDevice at ctx_new and
 * again on every entry: libuv's threads are shared and the current device
 * is per thread).  It holds two non-blocking streams, `compute` for kernels
 * and `copy` for transfers, ordered by events; two pinned staging buffers
 * (in and out) and named device scratch buffers, each grown to the largest
 * size asked (doubling), never allocated per frame.
 *
 * Frames may be in host or device memory.  A device frame is used in
 * place and its entries only enqueue.  A host frame is staged: copied into
 * the pinned buffer, to device scratch on the copy stream, computed on, and
 * copied back the same way; such an entry waits for its result before it
 * returns (correct, not fast: keep frames on the device).  Feature entries
 * wait for their (small) results too. */
#ifndef VL_CUDA_OPS_CUDA_H
#define VL_CUDA_OPS_CUDA_H

#include <cuda_runtime.h>

extern "C" {
#include "ops/ops.h"
}

/* the device scratch buffers, by use */
enum vl_cuda_scratch {
    VL_SCRATCH_IN,     /* a staged input frame */
    VL_SCRATCH_IN2,    /* a second staged input (motion's b) */
    VL_SCRATCH_OUT,    /* a staged output frame */
    VL_SCRATCH_TMP,    /* an intermediate pass (blur, resize) */
    VL_SCRATCH_GREY,   /* grey images */
    VL_SCRATCH_TAPS,   /* resize taps */
    VL_SCRATCH_RESULT, /* reduction partials, histograms */
    VL_SCRATCH_N
};

struct vl_ops_ctx {
    int device;
    cudaStream_t compute, copy;
    cudaEvent_t staged, computed, in_free; /* in_free: the pinned input buffer may be refilled */
    void *pinned_in, *pinned_out;
    size_t pinned_in_cap, pinned_out_cap;
    void *scratch[VL_SCRATCH_N];
    size_t scratch_cap[VL_SCRATCH_N];
    /* resize taps of the last geometry, on the device in VL_SCRATCH_TAPS */
    int taps_key[5], taps_ntx, taps_nty;
    size_t taps_off_wx, taps_off_fy, taps_off_wy;
    /* host copies of small results */
    void *host_result;
    size_t host_result_cap;
};

/* Formats a message into err (when not NULL); returns -1.  The module links
 * no engine code, so this is its vl_error_set. */
int vl_cuda_fail(struct vl_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* 0 or -1 with "cuda ops: WHAT: <runtime's message>" in err. */
int vl_cuda_check(cudaError_t rc, const char *what, struct vl_error *err);

/* Makes ctx's device current; -1 on failure. */
int vl_cuda_enter(struct vl_ops_ctx *ctx, struct vl_error *err);

/* Device scratch buffer `which` of at least bytes (grown, contents lost);
 * NULL with the size asked and cudaMemGetInfo's free memory in err. */
void *vl_cuda_scratch(struct vl_ops_ctx *ctx, enum vl_cuda_scratch which, size_t bytes,
                      const char *entry, struct vl_error *err);

/* The device address of rows x row_bytes bytes (pitch apart) at host or
 * device pointer p in mem: device memory as is, host memory copied into
 * scratch `which` (packed rows) on the copy stream, the compute stream
 * ordered after it.  NULL on error. */
const void *vl_cuda_stage_in(struct vl_ops_ctx *ctx, const void *p, enum vl_mem mem, size_t pitch,
                             size_t row_bytes, size_t rows, enum vl_cuda_scratch which,
                             const char *entry, struct vl_error *err);

/* Copies rows x row_bytes packed bytes at device address d (after the work
 * enqueued on compute) into host memory at p (pitch apart), waiting for
 * them. */
int vl_cuda_stage_out(struct vl_ops_ctx *ctx, const void *d, void *p, size_t pitch,
                      size_t row_bytes, size_t rows, struct vl_error *err);

/* Copies bytes of device results at d into host memory after the work
 * enqueued on compute, waiting for them. */
int vl_cuda_read_back(struct vl_ops_ctx *ctx, const void *d, void *host, size_t bytes,
                      struct vl_error *err);

/* The RGB bytes of f on the device: f's own when it is a device frame, else
 * f staged into scratch `which` (when load, with its bytes). */
uint8_t *vl_cuda_frame_in(struct vl_ops_ctx *ctx, const struct vl_frame *f, int load,
                          enum vl_cuda_scratch which, const char *entry, struct vl_error *err);

/* After the kernels writing d (from vl_cuda_frame_in for f): copies d back
 * into f when f is a host frame. */
int vl_cuda_frame_out(struct vl_ops_ctx *ctx, const uint8_t *d, const struct vl_frame *f,
                      struct vl_error *err);

/* Allocates / frees the pixels of a device frame of f->width x f->height. */
int vl_cuda_frame_alloc(struct vl_ops_ctx *ctx, struct vl_frame *f, struct vl_error *err);
void vl_cuda_frame_free(struct vl_ops_ctx *ctx, struct vl_frame *f);

int vl_cuda_ctx_new(const struct vl_ops_ctx_opts *opts, struct vl_ops_ctx **out,
                    struct vl_error *err);
void vl_cuda_ctx_free(struct vl_ops_ctx *ctx);
int vl_cuda_upload(struct vl_ops_ctx *ctx, const struct vl_frame *src, struct vl_frame *dst,
                   struct vl_error *err);
int vl_cuda_download(struct vl_ops_ctx *ctx, const struct vl_frame *src, struct vl_frame *dst,
                     struct vl_error *err);
int vl_cuda_sync(struct vl_ops_ctx *ctx, struct vl_error *err);

#endif
