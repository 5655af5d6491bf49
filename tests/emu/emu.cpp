/* emu.cpp - the host SIMT emulator's scheduler and the CUDA runtime's
 * stand-ins on host memory.  cuda_emu.h's top says what it emulates and
 * what it cannot catch.
 *
 * A launch runs its blocks one after the other.  A block's threads run on
 * fibers (ucontext, a 64 KiB stack each below a guard page); the scheduler
 * runs every runnable thread in thread order until it returns or waits at
 * a barrier, then settles the barriers: a shuffle's lanes go on once every
 * lane of its mask waits at one, the block goes on once every thread waits
 * at __syncthreads.  Anything else (a barrier some threads returned before,
 * lanes split between the two kinds) is a fault: the launch stops there,
 * stderr names the kernel and block, and the next cudaGetLastError returns
 * cudaErrorLaunchFailure (a device's error would be sticky; here later
 * launches run, so one test can report every entry).
 *
 * The runtime functions the copied files call (the training backend's and
 * the video table's) are defined here with the runtime's own declarations
 * (cuda_runtime_api.h): device memory (poisoned) and pinned memory are
 * malloc'd, copies and memsets are memcpy and memset, streams are tags,
 * events are checked for being alive and order nothing, and every call
 * completes before it returns; a runtime call the files start making needs
 * its stand-in here (the link fails naming it).  One thread only.
 *
 * Speed: a barrier-free kernel runs a whole block on one fiber (a thread
 * that returns hands its fiber to the next), so only threads that wait pay
 * for fiber switches: test_cuda_ops --small runs in 7 s instead of 26. */
#include "cuda_emu.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>
#include <deque>
#include <unordered_set>
#include <vector>

uint3 threadIdx, blockIdx;
dim3 blockDim, gridDim;

namespace
{

const size_t STACK_BYTES = 64 << 10;
const int POISON = 0xa5; /* the bytes of fresh device memory */
const int MAX_THREADS = 1024, WARP = 32;

enum thread_state { RUNNABLE, AT_BLOCK_BARRIER, AT_WARP_BARRIER, RETURNED };

/* a thread of the running block */
struct thread {
    thread_state state;
    int worker;     /* the fiber it runs on, once started */
    unsigned mask;  /* the lanes of the shuffle it waits at */
    uint64_t offer; /* what it offers at that shuffle */
};

/* a fiber: runs fresh threads one after the other until one of them waits
 * at a barrier, and then stays that thread's until it returns */
struct worker {
    ucontext_t context;
    char *stack; /* STACK_BYTES above a guard page */
};

/* the launch that runs now */
struct launch {
    const char *name;
    const std::function<void()> *body;
    int threads, current;
    int fresh; /* the threads below it have started */
    bool faulted;
    ucontext_t scheduler;
} now;

std::vector<thread> threads; /* the running block's */
/* grown to the most a block needed, stacks kept; a deque, since a parked
 * context must not move (glibc's points into itself) */
std::deque<worker> workers;
std::vector<int> idle; /* the workers free for fresh threads */
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

void set_coordinates(int t)
{
    threadIdx.x = t % blockDim.x;
    threadIdx.y = (t / blockDim.x) % blockDim.y;
    threadIdx.z = t / (blockDim.x * blockDim.y);
}

/* A worker's life: the thread the scheduler started it on, then, each time
 * the one it runs returns, the next fresh thread, as the scheduler would
 * resume it next (thread order); a fiber switch per thread only where a
 * thread waits. */
void worker_main(int w)
{
    for (;;) {
        threads[now.current].worker = w;
        (*now.body)();
        threads[now.current].state = RETURNED;
        if (now.fresh >= now.threads) break;
        now.current = now.fresh++;
        set_coordinates(now.current);
    }
    idle.push_back(w);
    swapcontext(&workers[w].context, &now.scheduler); /* never resumed */
}

/* Starts thread t, the first that has not started, on an idle worker. */
void start_thread(int t)
{
    if (idle.empty()) {
        workers.emplace_back();
        workers.back().stack = new_stack();
        idle.push_back((int)workers.size() - 1);
    }
    int w = idle.back();
    idle.pop_back();
    ucontext_t &c = workers[w].context;
    getcontext(&c);
    c.uc_stack.ss_sp = workers[w].stack;
    c.uc_stack.ss_size = STACK_BYTES;
    c.uc_link = NULL;
    makecontext(&c, (void (*)(void))worker_main, 1, w);
    now.fresh = t + 1;
    swapcontext(&now.scheduler, &c);
}

/* Parks the running thread in state s until the scheduler releases it. */
void wait_as(thread_state s)
{
    thread &self = threads[now.current];
    self.state = s;
    swapcontext(&workers[self.worker].context, &now.scheduler);
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
            const thread &f = threads[base + l];
            if (f.state != AT_WARP_BARRIER) continue;
            bool all = true;
            for (int j = 0; j < WARP && all; j++) {
                if (!(f.mask >> j & 1u)) continue;
                if (base + j >= now.threads || threads[base + j].state == RETURNED) {
                    fault("warp %d: a shuffle of mask 0x%08x after lane %d returned (or the block "
                          "has no lane %d)",
                          base / WARP, f.mask, j, j);
                    return released;
                }
                all = threads[base + j].state == AT_WARP_BARRIER;
            }
            if (all) ready.push_back(base + l);
        }
        for (int t : ready)
            threads[t].state = RUNNABLE;
        released |= !ready.empty();
    }
    return released;
}

/* Runs the current block to its end or to a fault.  The workers a faulted
 * block left parked are abandoned (never resumed): all are idle again. */
void run_block(void)
{
    idle.clear();
    for (int w = (int)workers.size() - 1; w >= 0; w--)
        idle.push_back(w);
    for (int t = 0; t < now.threads; t++)
        threads[t].state = RUNNABLE;
    now.fresh = 0;
    for (;;) {
        for (int t = 0; t < now.threads; t++) {
            if (t < now.fresh && threads[t].state != RUNNABLE) continue;
            now.current = t;
            set_coordinates(t);
            if (t >= now.fresh)
                start_thread(t); /* it may run the fresh ones after it too */
            else
                swapcontext(&now.scheduler, &workers[threads[t].worker].context);
        }
        int left = 0, at_block = 0;
        for (int t = 0; t < now.threads; t++) {
            left += threads[t].state != RETURNED;
            at_block += threads[t].state == AT_BLOCK_BARRIER;
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
                threads[t].state = RUNNABLE;
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
    unsigned long n_threads = (unsigned long)block.x * block.y * block.z;
    if (!block.x || !block.y || !block.z || block.x > 1024 || block.y > 1024 || block.z > 64 ||
        n_threads > (unsigned long)MAX_THREADS || !grid.x || !grid.y || !grid.z ||
        grid.x > 0x7fffffffu || grid.y > 65535 || grid.z > 65535) {
        fprintf(stderr, "emu: %s: grid (%u, %u, %u) block (%u, %u, %u): a device refuses it\n",
                name, grid.x, grid.y, grid.z, block.x, block.y, block.z);
        last_error = cudaErrorInvalidConfiguration;
        return;
    }
    launch_count++;
    now.name = name;
    now.body = &body;
    now.threads = (int)n_threads;
    now.faulted = false;
    gridDim = grid;
    blockDim = block;
    blockIdx.x = blockIdx.y = blockIdx.z = 0;
    if (shared_bytes) {
        fault("%zu bytes of dynamic shared memory: not emulated", shared_bytes);
        return;
    }
    if (threads.size() < n_threads) threads.resize(n_threads);
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
    thread &self = threads[now.current];
    if (!(mask >> lane & 1u) || src < 0 || src >= WARP || !(mask >> src & 1u))
        fault("warp %d: lane %d shuffles with mask 0x%08x from lane %d", base / WARP, lane, mask,
              src);
    self.offer = 0;
    memcpy(&self.offer, in, bytes);
    self.mask = mask;
    wait_as(AT_WARP_BARRIER); /* every lane has offered */
    memcpy(out, &threads[base + (src & (WARP - 1))].offer, bytes);
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

/* device memory: poisoned, so that a kernel reading what nothing wrote
 * gives other bytes than the CPU (a device leaves it undefined) */
cudaError_t cudaMalloc(void **p, size_t bytes)
{
    *p = malloc(bytes ? bytes : 1);
    if (!*p) return last_error = cudaErrorMemoryAllocation;
    memset(*p, POISON, bytes);
    return cudaSuccess;
}

cudaError_t cudaMallocAsync(void **p, size_t bytes, cudaStream_t)
{
    return cudaMalloc(p, bytes);
}

cudaError_t cudaFree(void *p)
{
    free(p);
    return cudaSuccess;
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

cudaError_t cudaHostAlloc(void **p, size_t bytes, unsigned int)
{
    return cudaMallocHost(p, bytes);
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, enum cudaMemcpyKind)
{
    if (bytes) memcpy(dst, src, bytes);
    return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void *p, int value, size_t bytes, cudaStream_t)
{
    memset(p, value, bytes);
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
    {cudaErrorInvalidResourceHandle, "cudaErrorInvalidResourceHandle", "invalid resource handle"},
    {cudaErrorLaunchFailure, "cudaErrorLaunchFailure",
     "unspecified launch failure (an emulator fault)"},
};

std::unordered_set<void *> live_events;

/* cudaSuccess for an event created and not destroyed */
cudaError_t event_alive(cudaEvent_t event)
{
    if (live_events.count(event)) return cudaSuccess;
    return last_error = cudaErrorInvalidResourceHandle;
}

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

cudaError_t cudaGetDevice(int *device)
{
    *device = 0;
    return cudaSuccess;
}

/* There is no driver: its entry points are not found (the modules then
 * leave the device as it is), and the memory pool has nothing to tune. */
cudaError_t cudaGetDriverEntryPointByVersion(const char *, void **funcPtr, unsigned int,
                                             unsigned long long,
                                             enum cudaDriverEntryPointQueryResult *status)
{
    *funcPtr = NULL;
    if (status) *status = cudaDriverEntryPointSymbolNotFound;
    return cudaErrorSymbolNotFound;
}

cudaError_t cudaDeviceGetDefaultMemPool(cudaMemPool_t *pool, int)
{
    static int tag;
    *pool = (cudaMemPool_t)&tag;
    return cudaSuccess;
}

cudaError_t cudaMemPoolSetAttribute(cudaMemPool_t, enum cudaMemPoolAttr, void *)
{
    return cudaSuccess;
}

/* Events order nothing here (every call has completed when it returns):
 * record, synchronize and wait only check that the event is alive. */
cudaError_t cudaEventCreateWithFlags(cudaEvent_t *event, unsigned int)
{
    *event = (cudaEvent_t)malloc(1);
    if (!*event) return last_error = cudaErrorMemoryAllocation;
    live_events.insert(*event);
    return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t event)
{
    if (!live_events.erase(event)) return last_error = cudaErrorInvalidResourceHandle;
    free(event);
    return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t)
{
    return event_alive(event);
}

cudaError_t cudaEventSynchronize(cudaEvent_t event)
{
    return event_alive(event);
}

cudaError_t cudaStreamWaitEvent(cudaStream_t, cudaEvent_t event, unsigned int)
{
    return event_alive(event);
}

} // extern "C"
