/* ops_cuda.h - the CUDA operations table's per-job context and the memory
 * helpers its entries share (ops_ctx.cu), private to the CUDA module.
 *
 * A context belongs to one job at a time on one device, and is kept for
 * the next job of its gpu slot (ops_ctx.cu) (cudaSetDevice at ctx_new and
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
#include "ops/kern/picture.h"
#include "ops/ops.h"
}

/* the device scratch buffers, by use */
enum vl_cuda_scratch {
    VL_SCRATCH_IN,     /* a staged input frame */
    VL_SCRATCH_IN2,    /* a second staged input (motion's b) */
    VL_SCRATCH_OUT,    /* a staged output frame */
    VL_SCRATCH_TMP,    /* an intermediate pass (blur, resize) */
    VL_SCRATCH_GREY,   /* grey images */
    VL_SCRATCH_TAPS,   /* resize taps, one buffer per enum vl_cuda_taps (in its order) */
    VL_SCRATCH_TAPS_LUMA,
    VL_SCRATCH_TAPS_CHROMA,
    VL_SCRATCH_RESULT, /* reduction partials, histograms */
    VL_SCRATCH_PLANE0, /* a staged host picture's planes (convert) */
    VL_SCRATCH_PLANE1,
    VL_SCRATCH_PLANE2,
    VL_SCRATCH_N
};

/* The resize geometries a context keeps taps for at once: the resize
 * entry's, and convert's luma and chroma planes. */
enum vl_cuda_taps { VL_TAPS_RESIZE, VL_TAPS_LUMA, VL_TAPS_CHROMA, VL_TAPS_N };

struct vl_ops_ctx {
    int device;
    int lane; /* the gpu slot's lane it is kept for (ops_ctx.cu), -1: not kept */
    cudaStream_t compute, copy;
    cudaEvent_t staged, computed, in_free; /* in_free: the pinned input buffer may be refilled */
    cudaEvent_t decoded; /* FFmpeg's copies of NVDEC frames (the legacy stream) before convert */
    void *pinned_in, *pinned_out;
    size_t pinned_in_cap, pinned_out_cap;
    void *scratch[VL_SCRATCH_N];
    size_t scratch_cap[VL_SCRATCH_N];
    /* the geometry whose taps are on the device in VL_SCRATCH_TAPS + t */
    int taps_key[VL_TAPS_N][5];
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

/* Resizes src_w x src_h pixels of channels interleaved bytes (3: RGB24,
 * 1: a plane) at device address in into dst_w x dst_h at out (the resize
 * entry's arithmetic, kern/resample.h), enqueued on compute, with the taps
 * kept in slot taps; errors name entry. */
int vl_cuda_resize_device(struct vl_ops_ctx *ctx, const uint8_t *in, int src_w, int src_h,
                          int channels, uint8_t *out, int dst_w, int dst_h, enum vl_interp interp,
                          enum vl_cuda_taps taps, const char *entry, struct vl_error *err);

/* The taps of a resize of src_w x src_h to dst_w x dst_h with interp on
 * the device, kept in slot taps (rebuilt only when the geometry changes),
 * into *t (fx NULL for equal sizes: nothing to resample); errors name
 * entry. */
int vl_cuda_taps(struct vl_ops_ctx *ctx, enum vl_cuda_taps slot, enum vl_interp interp, int src_w,
                 int src_h, int dst_w, int dst_h, struct vl_kern_plane_taps *t, const char *entry,
                 struct vl_error *err);

/* The convert entries (convert.cu). */
int vl_cuda_convert_new(struct vl_ops_ctx *ctx, int out_w, int out_h, enum vl_interp interp,
                        struct vl_ops_convert **out, struct vl_error *err);
int vl_cuda_convert_takes(struct vl_ops_ctx *ctx, enum vl_picture_format format, enum vl_mem mem);
int vl_cuda_convert(struct vl_ops_ctx *ctx, struct vl_ops_convert *c, const struct vl_picture *pic,
                    const int crop[4], const int place[4], struct vl_frame *dst,
                    struct vl_error *err);
void vl_cuda_convert_free(struct vl_ops_ctx *ctx, struct vl_ops_convert *c);

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
