/* emu.cpp - the host SIMT emulator's scheduler and the CUDA runtime's
 * stand-ins on host memory.  cuda_emu.h's top says what it emulates and
 * what it cannot catch.
 *
 * A launch runs its blocks one after the other.  A block's threads are
 * fibers (ucontext, a 64 KiB stack each below a guard page); the scheduler
 * resumes every runnable fiber in thread order until it returns or waits at
 * a barrier, then settles the barriers: a shuffle's lanes go on once every
 * lane of its mask waits at one, the block goes on once every thread waits
 * at __syncthreads.  Anything else (a barrier some threads returned before,
 * lanes split between the two kinds) is a fault: the launch stops there,
 * stderr names the kernel and block, and the next cudaGetLastError returns
 * cudaErrorLaunchFailure (a device's error would be sticky; here later
 * launches run, so one test can report every entry).
 *
 * The runtime functions the kernel files and backend.cu call are defined
 * here with the runtime's own declarations (cuda_runtime_api.h): device
 * memory and pinned memory are malloc'd, copies are memcpy, streams are
 * tags, and every call completes before it returns; a runtime call the
 * kernel files start making needs its stand-in here (the link fails naming
 * it).  One thread only. */
#include "cuda_emu.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>
#include <vector>

uint3 threadIdx, blockIdx;
dim3 blockDim, gridDim;

namespace
{

const size_t STACK_BYTES = 64 << 10;
const int MAX_THREADS = 1024, WARP = 32;

enum thread_state { RUNNABLE, AT_BLOCK_BARRIER, AT_WARP_BARRIER, RETURNED };

struct fiber {
    ucontext_t context;
    thread_state state;
    unsigned mask;  /* the lanes of the shuffle it waits at */
    uint64_t offer; /* what it offers at that shuffle */
    char *stack;    /* STACK_BYTES above a guard page */
};

/* the launch that runs now */
struct launch {
    const char *name;
    const std::function<void()> *body;
    int threads, current;
    bool faulted;
    ucontext_t scheduler;
} now;

std::vector<fiber> fibers; /* grown to the largest block, stacks kept */
cudaError_t last_error = cudaSuccess;
unsigned long launch_count, fault_count;

void fault(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Records a fault of the running launch (see the top of the file). */
void fault(const char *fmt, ...)
{
    fprintf(stderr, "emu: %s: block (%u, %u, %u): ", now.name, blockIdx.x, blockIdx.y, blockIdx.z);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    now.faulted = true;
    fault_count++;
    last_error = cudaErrorLaunchFailure;
}

char *new_stack(void)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    void *p =
        mmap(NULL, STACK_BYTES + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED || mprotect(p, page, PROT_NONE) != 0) {
        perror("emu: fiber stack");
        abort();
    }
    return (char *)p + page;
}

void thread_main(void)
{
    (*now.body)();
    fibers[now.current].state = RETURNED;
    swapcontext(&fibers[now.current].context, &now.scheduler); /* never resumed */
}

/* Parks the running thread in state s until the scheduler releases it. */
void wait_as(thread_state s)
{
    fibers[now.current].state = s;
    swapcontext(&fibers[now.current].context, &now.scheduler);
}

void set_coordinates(int t)
{
    threadIdx.x = t % blockDim.x;
    threadIdx.y = (t / blockDim.x) % blockDim.y;
    threadIdx.z = t / (blockDim.x * blockDim.y);
}

/* Releases the shuffles whose every lane waits; true when any did.  A lane
 * of a waiting shuffle's mask that returned, or that the block lacks, is a
 * fault. */
bool release_shuffles(void)
{
    bool released = false;
    for (int base = 0; base < now.threads && !now.faulted; base += WARP) {
        std::vector<int> ready;
        for (int l = 0; l < WARP && base + l < now.threads; l++) {
            const fiber &f = fibers[base + l];
            if (f.state != AT_WARP_BARRIER) continue;
            bool all = true;
            for (int j = 0; j < WARP && all; j++) {
                if (!(f.mask >> j & 1u)) continue;
                if (base + j >= now.threads || fibers[base + j].state == RETURNED) {
                    fault("warp %d: a shuffle of mask 0x%08x after lane %d returned (or the block "
                          "has no lane %d)",
                          base / WARP, f.mask, j, j);
                    return released;
                }
                all = fibers[base + j].state == AT_WARP_BARRIER;
            }
            if (all) ready.push_back(base + l);
        }
        for (int t : ready)
            fibers[t].state = RUNNABLE;
        released |= !ready.empty();
    }
    return released;
}

/* Runs the current block to its end or to a fault. */
void run_block(void)
{
    for (int t = 0; t < now.threads; t++) {
        fiber &f = fibers[t];
        getcontext(&f.context);
        f.context.uc_stack.ss_sp = f.stack;
        f.context.uc_stack.ss_size = STACK_BYTES;
        f.context.uc_link = NULL;
        makecontext(&f.context, thread_main, 0);
        f.state = RUNNABLE;
    }
    for (;;) {
        for (int t = 0; t < now.threads; t++) {
            if (fibers[t].state != RUNNABLE) continue;
            now.current = t;
            set_coordinates(t);
            swapcontext(&now.scheduler, &fibers[t].context);
        }
        int left = 0, at_block = 0;
        for (int t = 0; t < now.threads; t++) {
            left += fibers[t].state != RETURNED;
            at_block += fibers[t].state == AT_BLOCK_BARRIER;
        }
        if (!left) return;
        if (release_shuffles() || now.faulted) {
            if (now.faulted) return;
            continue;
        }
        if (at_block == left && left < now.threads) {
            fault("__syncthreads after %d of its %d threads returned", now.threads - left,
                  now.threads);
            return;
        }
        if (at_block == left) {
            for (int t = 0; t < now.threads; t++)
                fibers[t].state = RUNNABLE;
            continue;
        }
        fault("deadlock: %d threads at __syncthreads, %d at a shuffle (a divergent barrier)",
              at_block, left - at_block);
        return;
    }
}

} // namespace

void emu_run(const char *name, dim3 grid, dim3 block, size_t shared_bytes,
             const std::function<void()> &body)
{
    unsigned long threads = (unsigned long)block.x * block.y * block.z;
    if (!block.x || !block.y || !block.z || block.x > 1024 || block.y > 1024 || block.z > 64 ||
        threads > (unsigned long)MAX_THREADS || !grid.x || !grid.y || !grid.z ||
        grid.x > 0x7fffffffu || grid.y > 65535 || grid.z > 65535) {
        fprintf(stderr, "emu: %s: grid (%u, %u, %u) block (%u, %u, %u): a device refuses it\n",
                name, grid.x, grid.y, grid.z, block.x, block.y, block.z);
        last_error = cudaErrorInvalidConfiguration;
        return;
    }
    launch_count++;
    now.name = name;
    now.body = &body;
    now.threads = (int)threads;
    now.faulted = false;
    gridDim = grid;
    blockDim = block;
    blockIdx.x = blockIdx.y = blockIdx.z = 0;
    if (shared_bytes) {
        fault("%zu bytes of dynamic shared memory: not emulated", shared_bytes);
        return;
    }
    while (fibers.size() < threads) {
        fibers.emplace_back();
        fibers.back().stack = new_stack();
    }
    for (unsigned z = 0; z < grid.z && !now.faulted; z++)
        for (unsigned y = 0; y < grid.y && !now.faulted; y++)
            for (unsigned x = 0; x < grid.x && !now.faulted; x++) {
                blockIdx.x = x, blockIdx.y = y, blockIdx.z = z;
                run_block();
            }
}

void __syncthreads(void)
{
    wait_as(AT_BLOCK_BARRIER);
}

int emu_lane(void)
{
    return now.current % WARP;
}

void emu_shuffle(unsigned mask, const void *in, void *out, size_t bytes, int src)
{
    int lane = emu_lane(), base = now.current - lane;
    fiber &self = fibers[now.current];
    if (!(mask >> lane & 1u) || src < 0 || src >= WARP || !(mask >> src & 1u))
        fault("warp %d: lane %d shuffles with mask 0x%08x from lane %d", base / WARP, lane, mask,
              src);
    self.offer = 0;
    memcpy(&self.offer, in, bytes);
    self.mask = mask;
    wait_as(AT_WARP_BARRIER); /* every lane has offered */
    memcpy(out, &fibers[base + (src & (WARP - 1))].offer, bytes);
    wait_as(AT_WARP_BARRIER); /* every lane has read before any offers again */
}

unsigned long emu_launches(void)
{
    return launch_count;
}

unsigned long emu_faults(void)
{
    return fault_count;
}

/* -- the runtime, on host memory -- */

extern "C" {

cudaError_t cudaMallocAsync(void **p, size_t bytes, cudaStream_t)
{
    *p = malloc(bytes ? bytes : 1);
    return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}

cudaError_t cudaFreeAsync(void *p, cudaStream_t)
{
    free(p);
    return cudaSuccess;
}

cudaError_t cudaMallocHost(void **p, size_t bytes)
{
    *p = malloc(bytes ? bytes : 1);
    return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}

cudaError_t cudaFreeHost(void *p)
{
    free(p);
    return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, enum cudaMemcpyKind,
                            cudaStream_t)
{
    if (bytes) memcpy(dst, src, bytes);
    return cudaSuccess;
}

cudaError_t cudaMemcpy2DAsync(void *dst, size_t dpitch, const void *src, size_t spitch,
                              size_t width, size_t height, enum cudaMemcpyKind, cudaStream_t)
{
    if (width > dpitch || width > spitch) return last_error = cudaErrorInvalidPitchValue;
    for (size_t r = 0; r < height; r++)
        memcpy((char *)dst + r * dpitch, (const char *)src + r * spitch, width);
    return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t)
{
    return cudaSuccess;
}

cudaError_t cudaGetLastError(void)
{
    cudaError_t rc = last_error;
    last_error = cudaSuccess;
    return rc;
}

cudaError_t cudaPeekAtLastError(void)
{
    return last_error;
}

} // extern "C"

namespace
{

/* the errors the stand-ins return, by name and message */
const struct {
    cudaError_t rc;
    const char *name, *text;
} errors[] = {
    {cudaSuccess, "cudaSuccess", "no error"},
    {cudaErrorMemoryAllocation, "cudaErrorMemoryAllocation", "out of memory"},
    {cudaErrorInvalidConfiguration, "cudaErrorInvalidConfiguration",
     "invalid configuration argument"},
    {cudaErrorInvalidPitchValue, "cudaErrorInvalidPitchValue", "invalid pitch argument"},
    {cudaErrorInvalidDevice, "cudaErrorInvalidDevice", "invalid device ordinal"},
    {cudaErrorLaunchFailure, "cudaErrorLaunchFailure",
     "unspecified launch failure (an emulator fault)"},
};

const char *error_text(cudaError_t rc, bool name)
{
    for (const auto &e : errors)
        if (e.rc == rc) return name ? e.name : e.text;
    return "an error the emulator does not make";
}

} // namespace

extern "C" {

const char *cudaGetErrorName(cudaError_t rc)
{
    return error_text(rc, true);
}

const char *cudaGetErrorString(cudaError_t rc)
{
    return error_text(rc, false);
}

/* no limit the emulator knows of, as the CPU backend reports */
cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes)
{
    *free_bytes = *total_bytes = 0;
    return cudaSuccess;
}

cudaError_t cudaGetDeviceCount(int *count)
{
    *count = 1;
    return cudaSuccess;
}

cudaError_t cudaSetDevice(int device)
{
    return device == 0 ? cudaSuccess : (last_error = cudaErrorInvalidDevice);
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *stream, unsigned int)
{
    static char tag;
    *stream = (cudaStream_t)&tag;
    return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t)
{
    return cudaSuccess;
}

} // extern "C"
