/* ops_ctx.cu - the CUDA operations table's per-job context: streams,
 * events, pinned staging and device scratch buffers, and the upload,
 * download and sync entries (see ops_cuda.h).  Compiled into
 * vlbuild-cuda.so only; never run on a GPU yet.
 *
 * Contexts are kept per lane: a job's context, once freed, waits for the
 * next job of the same gpu slot (device, lane) with its streams, pinned
 * buffers, scratch and taps, so only a lane's first job pays for them (no
 * two jobs hold one slot, so a kept context has one user at a time).
 *
 * A device-wide fault (an error that leaves the device's context unusable:
 * an illegal address, a launch failure, an ECC error...) marks the device
 * failed for the rest of the build: its later jobs fail at once, naming
 * the first fault, and jobs on other devices and the CPU go on. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/device.h"
#include "cuda/ops_cuda.h"

#define fail vl_cuda_fail

int vl_cuda_fail(struct vl_error *err, const char *fmt, ...)
{
    if (!err) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

/* -- kept contexts and failed devices (under pool_lock) -- */

#define POOL_DEVICES 64 /* VL_GPU_MAX_DEVICES (gpu/devices.h) */
#define POOL_LANES 32

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vl_ops_ctx *kept[POOL_DEVICES][POOL_LANES];
static char failed[POOL_DEVICES][256]; /* the first device-wide fault, "" while none */

/* 1 for the errors after which the device's context is unusable (CUDA's
 * "sticky" errors: every later call in the process fails too) */
static int device_wide(cudaError_t rc)
{
    switch (rc) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorHardwareStackError:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorECCUncorrectable:
    case cudaErrorLaunchTimeout:
    case cudaErrorDevicesUnavailable:
        return 1;
    default:
        return 0;
    }
}

/* Marks the current device failed by rc (the first fault is kept). */
static void mark_failed(cudaError_t rc, const char *what)
{
    int d = -1;
    if (cudaGetDevice(&d) != cudaSuccess || d < 0 || d >= POOL_DEVICES) return;
    pthread_mutex_lock(&pool_lock);
    if (!failed[d][0])
        snprintf(failed[d], sizeof failed[d], "%s: %s (%s)", what, cudaGetErrorString(rc),
                 cudaGetErrorName(rc));
    pthread_mutex_unlock(&pool_lock);
}

int vl_cuda_check(cudaError_t rc, const char *what, struct vl_error *err)
{
    if (rc == cudaSuccess) return 0;
    (void)cudaGetLastError(); /* clear a non-sticky error so the context stays usable */
    if (device_wide(rc)) {
        mark_failed(rc, what);
        return fail(err, "cuda ops: %s: %s (%s); the device is unusable for the rest of this "
                         "build (its other jobs fail, the CPU's go on)",
                    what, cudaGetErrorString(rc), cudaGetErrorName(rc));
    }
    return fail(err, "cuda ops: %s: %s (%s)", what, cudaGetErrorString(rc), cudaGetErrorName(rc));
}

int vl_cuda_enter(struct vl_ops_ctx *ctx, struct vl_error *err)
{
    return vl_cuda_check(cudaSetDevice(ctx->device), "cudaSetDevice", err);
}

/* "out of device memory on cuda:N: B bytes asked for ENTRY; F of T bytes free" */
static int out_of_memory(struct vl_ops_ctx *ctx, size_t bytes, const char *entry,
                         struct vl_error *err)
{
    (void)cudaGetLastError();
    size_t free_b = 0, total_b = 0;
    if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) (void)cudaGetLastError();
    return fail(err,
                "cuda ops: out of device memory on cuda:%d: %zu bytes (%.1f MiB) asked for %s; "
                "%.1f of %.1f MiB free (cudaMemGetInfo); use smaller frames or fewer jobs per "
                "device (--gpus)",
                ctx->device, bytes, bytes / 1048576.0, entry, free_b / 1048576.0,
                total_b / 1048576.0);
}

void *vl_cuda_scratch(struct vl_ops_ctx *ctx, enum vl_cuda_scratch which, size_t bytes,
                      const char *entry, struct vl_error *err)
{
    if (bytes == 0) bytes = 1;
    if (ctx->scratch_cap[which] >= bytes) return ctx->scratch[which];
    /* the work still queued may read the old buffer */
    if (vl_cuda_check(cudaStreamSynchronize(ctx->compute), "cudaStreamSynchronize", err) < 0)
        return NULL;
    cudaFree(ctx->scratch[which]);
    ctx->scratch[which] = NULL, ctx->scratch_cap[which] = 0;
    size_t want = bytes < (SIZE_MAX / 2) ? bytes + bytes / 2 : bytes; /* grown rarely */
    if (cudaMalloc(&ctx->scratch[which], want) != cudaSuccess &&
        (want = bytes, cudaMalloc(&ctx->scratch[which], want) != cudaSuccess)) {
        ctx->scratch[which] = NULL;
        out_of_memory(ctx, bytes, entry, err);
        return NULL;
    }
    ctx->scratch_cap[which] = want;
    return ctx->scratch[which];
}

/* a pinned buffer of at least bytes, grown by doubling; -1 naming the size */
static int pinned(void **p, size_t *cap, size_t bytes, struct vl_error *err)
{
    if (*cap >= bytes) return 0;
    cudaFreeHost(*p);
    *p = NULL, *cap = 0;
    size_t want = bytes < ((size_t)1 << 20) ? ((size_t)1 << 20) : bytes + bytes / 2;
    if (cudaHostAlloc(p, want, cudaHostAllocPortable) != cudaSuccess) {
        (void)cudaGetLastError();
        *p = NULL;
        return fail(err, "cuda ops: cannot pin %zu bytes of host memory for staging", want);
    }
    *cap = want;
    return 0;
}

const void *vl_cuda_stage_in(struct vl_ops_ctx *ctx, const void *p, enum vl_mem mem, size_t pitch,
                             size_t row_bytes, size_t rows, enum vl_cuda_scratch which,
                             const char *entry, struct vl_error *err)
{
    if (mem == VL_MEM_DEVICE) return p;
    size_t bytes = row_bytes * rows;
    void *d = vl_cuda_scratch(ctx, which, bytes, entry, err);
    if (!d) return NULL;
    /* the pinned buffer is refilled only after the copy that read it */
    if (vl_cuda_check(cudaEventSynchronize(ctx->in_free), "cudaEventSynchronize", err) < 0 ||
        pinned(&ctx->pinned_in, &ctx->pinned_in_cap, bytes, err) < 0)
        return NULL;
    for (size_t r = 0; r < rows; r++)
        memcpy((uint8_t *)ctx->pinned_in + r * row_bytes, (const uint8_t *)p + r * pitch,
               row_bytes);
    /* the scratch may still be read by queued kernels: the copy waits for them */
    if (vl_cuda_check(cudaEventRecord(ctx->computed, ctx->compute), "cudaEventRecord", err) < 0 ||
        vl_cuda_check(cudaStreamWaitEvent(ctx->copy, ctx->computed, 0), "cudaStreamWaitEvent",
                      err) < 0 ||
        vl_cuda_check(cudaMemcpyAsync(d, ctx->pinned_in, bytes, cudaMemcpyHostToDevice, ctx->copy),
                      "upload (host to device)", err) < 0 ||
        vl_cuda_check(cudaEventRecord(ctx->in_free, ctx->copy), "cudaEventRecord", err) < 0 ||
        vl_cuda_check(cudaEventRecord(ctx->staged, ctx->copy), "cudaEventRecord", err) < 0 ||
        vl_cuda_check(cudaStreamWaitEvent(ctx->compute, ctx->staged, 0), "cudaStreamWaitEvent",
                      err) < 0)
        return NULL;
    return d;
}

int vl_cuda_stage_out(struct vl_ops_ctx *ctx, const void *d, void *p, size_t pitch,
                      size_t row_bytes, size_t rows, struct vl_error *err)
{
    size_t bytes = row_bytes * rows;
    if (pinned(&ctx->pinned_out, &ctx->pinned_out_cap, bytes, err) < 0) return -1;
    if (vl_cuda_check(cudaEventRecord(ctx->computed, ctx->compute), "cudaEventRecord", err) < 0 ||
        vl_cuda_check(cudaStreamWaitEvent(ctx->copy, ctx->computed, 0), "cudaStreamWaitEvent",
                      err) < 0 ||
        vl_cuda_check(cudaMemcpyAsync(ctx->pinned_out, d, bytes, cudaMemcpyDeviceToHost, ctx->copy),
                      "download (device to host)", err) < 0 ||
        vl_cuda_check(cudaStreamSynchronize(ctx->copy), "download (device to host)", err) < 0)
        return -1;
    for (size_t r = 0; r < rows; r++)
        memcpy((uint8_t *)p + r * pitch, (const uint8_t *)ctx->pinned_out + r * row_bytes,
               row_bytes);
    return 0;
}

int vl_cuda_read_back(struct vl_ops_ctx *ctx, const void *d, void *host, size_t bytes,
                      struct vl_error *err)
{
    return vl_cuda_stage_out(ctx, d, host, bytes, bytes, 1, err);
}

uint8_t *vl_cuda_frame_in(struct vl_ops_ctx *ctx, const struct vl_frame *f, int load,
                          enum vl_cuda_scratch which, const char *entry, struct vl_error *err)
{
    size_t row = (size_t)f->width * 3, rows = (size_t)f->height;
    if (f->width <= 0 || f->height <= 0) {
        fail(err, "cuda ops: %s: bad frame size %dx%d", entry, f->width, f->height);
        return NULL;
    }
    if (f->mem == VL_MEM_DEVICE) return f->rgb;
    if (load)
        return (uint8_t *)vl_cuda_stage_in(ctx, f->rgb, f->mem, row, row, rows, which, entry, err);
    return (uint8_t *)vl_cuda_scratch(ctx, which, row * rows, entry, err);
}

int vl_cuda_frame_out(struct vl_ops_ctx *ctx, const uint8_t *d, const struct vl_frame *f,
                      struct vl_error *err)
{
    if (f->mem == VL_MEM_DEVICE) return 0;
    size_t row = (size_t)f->width * 3;
    return vl_cuda_stage_out(ctx, d, f->rgb, row, row, (size_t)f->height, err);
}

int vl_cuda_frame_alloc(struct vl_ops_ctx *ctx, struct vl_frame *f, struct vl_error *err)
{
    if (vl_cuda_enter(ctx, err) < 0) return -1;
    size_t bytes = (size_t)f->width * f->height * 3;
    f->mem = VL_MEM_DEVICE;
    if (cudaMalloc(&f->rgb, bytes ? bytes : 1) != cudaSuccess) {
        f->rgb = NULL;
        return out_of_memory(ctx, bytes, "a device frame", err);
    }
    return 0;
}

void vl_cuda_frame_free(struct vl_ops_ctx *ctx, struct vl_frame *f)
{
    if (!f || f->mem != VL_MEM_DEVICE || !f->rgb) return;
    if (ctx) (void)cudaSetDevice(ctx->device);
    cudaFree(f->rgb);
    f->rgb = NULL;
}

int vl_cuda_ctx_new(const struct vl_ops_ctx_opts *opts, struct vl_ops_ctx **out,
                    struct vl_error *err)
{
    *out = NULL;
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess || opts->device < 0 || opts->device >= count) {
        (void)cudaGetLastError();
        return fail(err, "cuda ops: device %d is not usable here (%d cuda devices)", opts->device,
                    count);
    }
    int pooled = opts->device < POOL_DEVICES && opts->lane >= 0 && opts->lane < POOL_LANES;
    if (pooled) {
        pthread_mutex_lock(&pool_lock);
        char why[sizeof failed[0]];
        snprintf(why, sizeof why, "%s", failed[opts->device]);
        struct vl_ops_ctx *c = why[0] ? NULL : kept[opts->device][opts->lane];
        kept[opts->device][opts->lane] = NULL;
        pthread_mutex_unlock(&pool_lock);
        if (why[0])
            return fail(err, "cuda ops: device %d failed earlier in this build (%s)",
                        opts->device, why);
        if (c) { /* the lane's context, as its last job left it */
            *out = c;
            return 0;
        }
    }
    vl_cuda_prepare_device(opts->device); /* before the runtime starts its context */
    struct vl_ops_ctx *c = (struct vl_ops_ctx *)calloc(1, sizeof *c);
    if (!c) abort();
    c->device = opts->device;
    c->lane = pooled ? opts->lane : -1;
    if (vl_cuda_enter(c, err) < 0 ||
        vl_cuda_check(cudaStreamCreateWithFlags(&c->compute, cudaStreamNonBlocking),
                      "cudaStreamCreate", err) < 0 ||
        vl_cuda_check(cudaStreamCreateWithFlags(&c->copy, cudaStreamNonBlocking),
                      "cudaStreamCreate", err) < 0 ||
        vl_cuda_check(cudaEventCreateWithFlags(&c->staged, cudaEventDisableTiming),
                      "cudaEventCreate", err) < 0 ||
        vl_cuda_check(cudaEventCreateWithFlags(&c->computed, cudaEventDisableTiming),
                      "cudaEventCreate", err) < 0 ||
        vl_cuda_check(cudaEventCreateWithFlags(&c->in_free, cudaEventDisableTiming),
                      "cudaEventCreate", err) < 0 ||
        vl_cuda_check(cudaEventCreateWithFlags(&c->decoded, cudaEventDisableTiming),
                      "cudaEventCreate", err) < 0) {
        vl_cuda_ctx_free(c);
        return -1;
    }
    for (int t = 0; t < VL_TAPS_N; t++) c->taps_key[t][0] = -1;
    *out = c;
    return 0;
}

void vl_cuda_ctx_free(struct vl_ops_ctx *ctx)
{
    if (!ctx) return;
    (void)cudaSetDevice(ctx->device);
    cudaError_t a = ctx->compute ? cudaStreamSynchronize(ctx->compute) : cudaSuccess;
    cudaError_t b = ctx->copy ? cudaStreamSynchronize(ctx->copy) : cudaSuccess;
    if (device_wide(a) || device_wide(b)) mark_failed(device_wide(a) ? a : b, "a job's last work");
    (void)cudaGetLastError();
    if (ctx->lane >= 0) { /* kept for the lane's next job, unless the device failed */
        pthread_mutex_lock(&pool_lock);
        int keep = !failed[ctx->device][0] && !kept[ctx->device][ctx->lane];
        if (keep) kept[ctx->device][ctx->lane] = ctx;
        pthread_mutex_unlock(&pool_lock);
        if (keep) return;
    }
    for (int i = 0; i < VL_SCRATCH_N; i++) cudaFree(ctx->scratch[i]);
    cudaFreeHost(ctx->pinned_in);
    cudaFreeHost(ctx->pinned_out);
    if (ctx->staged) cudaEventDestroy(ctx->staged);
    if (ctx->computed) cudaEventDestroy(ctx->computed);
    if (ctx->in_free) cudaEventDestroy(ctx->in_free);
    if (ctx->decoded) cudaEventDestroy(ctx->decoded);
    if (ctx->compute) cudaStreamDestroy(ctx->compute);
    if (ctx->copy) cudaStreamDestroy(ctx->copy);
    (void)cudaGetLastError();
    free(ctx->host_result);
    free(ctx);
}

static int same_size(const char *entry, const struct vl_frame *a, const struct vl_frame *b,
                     struct vl_error *err)
{
    if (a->width == b->width && a->height == b->height && a->width > 0 && a->height > 0)
        return 0;
    return fail(err, "cuda ops: %s from %dx%d into %dx%d", entry, a->width, a->height, b->width,
                b->height);
}

int vl_cuda_upload(struct vl_ops_ctx *ctx, const struct vl_frame *src, struct vl_frame *dst,
                   struct vl_error *err)
{
    if (vl_cuda_enter(ctx, err) < 0 || same_size("upload", src, dst, err) < 0) return -1;
    if (src->mem != VL_MEM_HOST || dst->mem != VL_MEM_DEVICE)
        return fail(err, "cuda ops: upload takes a host frame into a device frame");
    size_t bytes = (size_t)src->width * src->height * 3;
    if (vl_cuda_check(cudaEventSynchronize(ctx->in_free), "cudaEventSynchronize", err) < 0 ||
        pinned(&ctx->pinned_in, &ctx->pinned_in_cap, bytes, err) < 0)
        return -1;
    memcpy(ctx->pinned_in, src->rgb, bytes);
    /* the frame may still be read by queued kernels: the copy waits for them */
    if (vl_cuda_check(cudaEventRecord(ctx->computed, ctx->compute), "cudaEventRecord", err) < 0 ||
        vl_cuda_check(cudaStreamWaitEvent(ctx->copy, ctx->computed, 0), "cudaStreamWaitEvent",
                      err) < 0 ||
        vl_cuda_check(cudaMemcpyAsync(dst->rgb, ctx->pinned_in, bytes, cudaMemcpyHostToDevice,
                                      ctx->copy),
                      "upload (host to device)", err) < 0 ||
        vl_cuda_check(cudaEventRecord(ctx->in_free, ctx->copy), "cudaEventRecord", err) < 0 ||
        vl_cuda_check(cudaEventRecord(ctx->staged, ctx->copy), "cudaEventRecord", err) < 0 ||
        vl_cuda_check(cudaStreamWaitEvent(ctx->compute, ctx->staged, 0), "cudaStreamWaitEvent",
                      err) < 0)
        return -1;
    return 0;
}

int vl_cuda_download(struct vl_ops_ctx *ctx, const struct vl_frame *src, struct vl_frame *dst,
                     struct vl_error *err)
{
    if (vl_cuda_enter(ctx, err) < 0 || same_size("download", src, dst, err) < 0) return -1;
    if (src->mem != VL_MEM_DEVICE || dst->mem != VL_MEM_HOST)
        return fail(err, "cuda ops: download takes a device frame into a host frame");
    return vl_cuda_frame_out(ctx, src->rgb, dst, err);
}

int vl_cuda_sync(struct vl_ops_ctx *ctx, struct vl_error *err)
{
    if (vl_cuda_enter(ctx, err) < 0) return -1;
    if (vl_cuda_check(cudaStreamSynchronize(ctx->copy), "sync (copy stream)", err) < 0) return -1;
    return vl_cuda_check(cudaStreamSynchronize(ctx->compute), "sync (compute stream)", err);
}
