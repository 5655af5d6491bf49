/* backend.cu - the CUDA backend's state, memory entries, failure record and
 * the module vlbuild-cuda-nn.so exports (src/gpu/cuda_nn_module.h).
 *
 * The table is assembled once from the pieces (gemm.cu, conv.cu,
 * kernels.cu) on top of the entries here; attach makes a state for one
 * job, detach frees it.  Compiled by nvcc only; it has never run on a GPU. */
#include <cuda_runtime.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/nn/nn_cuda.h"
#include "cuda/device.h"

extern "C" {
#include "gpu/cuda_nn_module.h"
}

#define VL_STR2(x) #x
#define VL_STR(x) VL_STR2(x)

/* -- failures -- */

void vl_cuda_nn_fail(struct vl_cuda_nn_state *st, int oom, const char *fmt, ...)
{
    if (!st || st->failed) return;
    st->failed = 1;
    st->failed_oom = oom;
    int n = snprintf(st->why, sizeof st->why, "cuda nn: ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->why + n, sizeof st->why - (size_t)n, fmt, ap);
    va_end(ap);
}

int vl_cuda_nn_check_rt(struct vl_cuda_nn_state *st, cudaError_t rc, const char *what)
{
    if (rc == cudaSuccess) return 0;
    (void)cudaGetLastError(); /* clear a non-sticky error so later calls report their own */
    vl_cuda_nn_fail(st, rc == cudaErrorMemoryAllocation, "%s: %s (%s)", what,
                    cudaGetErrorString(rc), cudaGetErrorName(rc));
    return -1;
}

void *vl_cuda_nn_alloc(struct vl_cuda_nn_state *st, size_t bytes, const char *what)
{
    void *p = NULL;
    if (bytes == 0) bytes = 1;
    cudaError_t rc = cudaMallocAsync(&p, bytes, st->stream);
    if (rc == cudaSuccess) return p;
    (void)cudaGetLastError();
    size_t free_b = 0, total_b = 0;
    (void)cudaMemGetInfo(&free_b, &total_b);
    vl_cuda_nn_fail(st, rc == cudaErrorMemoryAllocation,
                    "%s: cannot allocate %zu bytes of device memory (%zu of %zu free): %s", what,
                    bytes, free_b, total_b, cudaGetErrorString(rc));
    return NULL;
}

/* -- memory entries -- */

static void *be_alloc(struct vl_nn_ctx *ctx, size_t bytes)
{
    return vl_cuda_nn_alloc(vl_cuda_nn_state_of(ctx), bytes, "tensor");
}

static void be_free(struct vl_nn_ctx *ctx, void *p)
{
    if (p) (void)cudaFreeAsync(p, vl_cuda_nn_state_of(ctx)->stream);
}

static void be_upload(struct vl_nn_ctx *ctx, void *dst, const void *src, size_t bytes)
{
    struct vl_cuda_nn_state *st = vl_cuda_nn_state_of(ctx);
    if (!bytes) return;
    vl_cuda_nn_check_rt(st, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, st->stream),
                        "upload");
}

/* The host reads dst right after, so a download waits for it. */
static void be_download(struct vl_nn_ctx *ctx, void *dst, const void *src, size_t bytes)
{
    struct vl_cuda_nn_state *st = vl_cuda_nn_state_of(ctx);
    if (!bytes) return;
    if (vl_cuda_nn_check_rt(st,
                            cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, st->stream),
                            "download") == 0)
        vl_cuda_nn_check_rt(st, cudaStreamSynchronize(st->stream), "download");
}

/* Pinned: a copy from it is queued without waiting (a pageable source
 * makes cudaMemcpyAsync wait for the work before it). */
static void *be_host_alloc(struct vl_nn_ctx *ctx, size_t bytes)
{
    struct vl_cuda_nn_state *st = vl_cuda_nn_state_of(ctx);
    void *p = NULL;
    if (vl_cuda_nn_check_rt(st, cudaHostAlloc(&p, bytes ? bytes : 1, cudaHostAllocDefault),
                            "pinned host memory") < 0)
        return NULL;
    return p;
}

static void be_host_free(struct vl_nn_ctx *ctx, void *p)
{
    if (p) (void)cudaFreeHost(p);
}

static void be_stage_upload(struct vl_nn_ctx *ctx, int slot, void *dst, const void *src,
                            size_t bytes)
{
    struct vl_cuda_nn_state *st = vl_cuda_nn_state_of(ctx);
    slot &= 1;
    if (!bytes) return;
    if (st->was_released[slot] &&
        vl_cuda_nn_check_rt(st, cudaStreamWaitEvent(st->copy_stream, st->released[slot], 0),
                            "staged upload") < 0)
        return;
    if (vl_cuda_nn_check_rt(st,
                            cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice,
                                            st->copy_stream),
                            "staged upload") < 0 ||
        vl_cuda_nn_check_rt(st, cudaEventRecord(st->copied[slot], st->copy_stream),
                            "staged upload") < 0)
        return;
    st->was_copied[slot] = 1;
    vl_cuda_nn_check_rt(st, cudaStreamWaitEvent(st->stream, st->copied[slot], 0), "staged upload");
}

static void be_stage_release(struct vl_nn_ctx *ctx, int slot)
{
    struct vl_cuda_nn_state *st = vl_cuda_nn_state_of(ctx);
    if (vl_cuda_nn_check_rt(st, cudaEventRecord(st->released[slot & 1], st->stream),
                            "staged upload") == 0)
        st->was_released[slot & 1] = 1;
}

static void be_stage_wait(struct vl_nn_ctx *ctx, int slot)
{
    struct vl_cuda_nn_state *st = vl_cuda_nn_state_of(ctx);
    if (st->was_copied[slot & 1])
        vl_cuda_nn_check_rt(st, cudaEventSynchronize(st->copied[slot & 1]), "staged upload");
}

static void be_sync(struct vl_nn_ctx *ctx)
{
    struct vl_cuda_nn_state *st = vl_cuda_nn_state_of(ctx);
    vl_cuda_nn_check_rt(st, cudaStreamSynchronize(st->stream), "sync");
}

static void be_mem_info(struct vl_nn_ctx *ctx, size_t *free_bytes, size_t *total_bytes)
{
    *free_bytes = *total_bytes = 0;
    if (vl_cuda_nn_check_rt(vl_cuda_nn_state_of(ctx), cudaMemGetInfo(free_bytes, total_bytes),
                            "memory info") < 0)
        *free_bytes = *total_bytes = 0;
}

static int be_check(struct vl_nn_ctx *ctx, struct vl_error *err, int *out_of_memory)
{
    struct vl_cuda_nn_state *st = vl_cuda_nn_state_of(ctx);
    /* a launch error shows up here, an execution error at the next sync */
    vl_cuda_nn_check_rt(st, cudaPeekAtLastError(), "kernel launch");
    if (out_of_memory) *out_of_memory = st->failed_oom;
    if (!st->failed) return 0;
    if (err) snprintf(err->msg, sizeof err->msg, "%s", st->why);
    st->failed = st->failed_oom = 0;
    st->why[0] = '\0';
    return -1;
}

/* -- the table -- */

static struct vl_nn_backend table;
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_build(void)
{
    table.name = "cuda";
    table.alloc = be_alloc;
    table.free = be_free;
    table.upload = be_upload;
    table.download = be_download;
    table.sync = be_sync;
    table.host_alloc = be_host_alloc;
    table.host_free = be_host_free;
    table.stage_upload = be_stage_upload;
    table.stage_release = be_stage_release;
    table.stage_wait = be_stage_wait;
    table.mem_info = be_mem_info;
    table.check = be_check;
    vl_cuda_nn_fill_kernels(&table);
    vl_cuda_nn_fill_gemm(&table);
    vl_cuda_nn_fill_conv(&table);
}

/* -- the module -- */

/* the staged uploads' events; 0 or -1 (recorded) */
static int make_events(struct vl_cuda_nn_state *st)
{
    for (int i = 0; i < 2; i++)
        if (vl_cuda_nn_check_rt(st, cudaEventCreateWithFlags(&st->released[i],
                                                             cudaEventDisableTiming),
                                "create an event") < 0 ||
            vl_cuda_nn_check_rt(st, cudaEventCreateWithFlags(&st->copied[i],
                                                             cudaEventDisableTiming),
                                "create an event") < 0)
            return -1;
    return 0;
}

static void state_free(struct vl_cuda_nn_state *st)
{
    if (!st) return;
    if (st->stream) (void)cudaStreamSynchronize(st->stream);
    vl_cuda_nn_conv_free(st);
    vl_cuda_nn_gemm_free(st);
    vl_cuda_nn_kernels_free(st);
    if (st->stream) (void)cudaStreamDestroy(st->stream);
    if (st->copy_stream) (void)cudaStreamDestroy(st->copy_stream);
    for (int i = 0; i < 2; i++) {
        if (st->released[i]) (void)cudaEventDestroy(st->released[i]);
        if (st->copied[i]) (void)cudaEventDestroy(st->copied[i]);
    }
    (void)cudaGetLastError();
    free(st);
}

static int attach(struct vl_nn_ctx *ctx, int device, int precision, unsigned long long seed,
                  struct vl_error *err)
{
    pthread_once(&table_once, table_build);
    struct vl_cuda_nn_state *st = (struct vl_cuda_nn_state *)calloc(1, sizeof *st);
    if (!st) {
        if (err) snprintf(err->msg, sizeof err->msg, "cuda nn: out of host memory");
        return -1;
    }
    if (precision != VL_CUDA_NN_PRECISION_FP32 && precision != VL_CUDA_NN_PRECISION_BF16) {
        if (err) snprintf(err->msg, sizeof err->msg, "cuda nn: unknown precision %d", precision);
        free(st);
        return -1;
    }
    st->device = device;
    /* bf16: gemm.cu and conv.cu cast their operands, everything else is fp32 */
    st->precision = precision == VL_CUDA_NN_PRECISION_BF16 ? VL_CUDA_NN_BF16 : VL_CUDA_NN_FP32;
    (void)seed; /* dropout draws its seeds from the context's generator (kernels.cu) */
    vl_cuda_prepare_device(device); /* a context NVDEC can share, in a build that mixes jobs */
    int ok = vl_cuda_nn_check_rt(st, cudaSetDevice(device), "select the device") == 0 &&
             vl_cuda_nn_check_rt(st, cudaStreamCreateWithFlags(&st->stream, cudaStreamNonBlocking),
                                 "create a stream") == 0 &&
             vl_cuda_nn_check_rt(st,
                                 cudaStreamCreateWithFlags(&st->copy_stream, cudaStreamNonBlocking),
                                 "create a stream") == 0 &&
             make_events(st) == 0 &&
             vl_cuda_nn_kernels_init(st) == 0 && vl_cuda_nn_gemm_init(st) == 0 &&
             vl_cuda_nn_conv_init(st) == 0;
    if (ok) { /* keep freed memory in the stream-ordered pool instead of returning it at
               * every sync (clipping's and validation's), so steps do not map it again */
        cudaMemPool_t pool;
        uint64_t keep = UINT64_MAX;
        if (cudaDeviceGetDefaultMemPool(&pool, device) == cudaSuccess)
            (void)cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &keep);
        (void)cudaGetLastError();
    }
    if (!ok || st->failed) {
        if (err) snprintf(err->msg, sizeof err->msg, "device %d: %s", device, st->why);
        state_free(st);
        return -1;
    }
    ctx->backend = &table;
    ctx->backend_state = st;
    return 0;
}

static void detach(struct vl_nn_ctx *ctx)
{
    if (!ctx || ctx->backend != &table) return;
    state_free(vl_cuda_nn_state_of(ctx));
    ctx->backend_state = NULL;
    ctx->backend = NULL; /* the module links no engine code: the caller sets its own */
}

extern "C" __attribute__((visibility("default"))) const struct vl_cuda_nn_module
    vl_cuda_nn_module = {
        VL_CUDA_NN_MODULE_ABI,
        "cuda runtime " VL_STR(CUDART_VERSION) " cudnn " VL_STR(CUDNN_VERSION) " cublasLt " VL_STR(
            CUBLAS_VERSION) " arch " VL_CUDA_ARCHS,
        vl_cuda_probe,
        attach,
        detach,
        1, /* experimental: never run on a GPU yet (scripts/gpu-check.sh verifies it) */
};
