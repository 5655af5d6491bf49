/* cuda_emu.h - a host SIMT emulator for CUDA kernel files, forced (gcc
 * -include) in front of the host C++ copy of a .cu file whose launches
 * `k<<<grid, block, shared, stream>>>(args)` were rewritten to
 * `emu_launch(k, grid, block, shared, stream, args)` (emu_launches.cmake).
 *
 * What it emulates (emu.cpp): every block of a launch in turn, every thread
 * of the block in turn on a fiber (its own once it waits at a barrier) with
 * threadIdx, blockIdx, blockDim and gridDim set while it runs; __syncthreads
 * as a block barrier and the warp shuffles (__shfl_sync, _up, _down, _xor,
 * any width) as barriers of the 32 lanes of a warp; __shared__ variables as
 * statics; the __fmul_rn family as the host's operations; the integer
 * atomicAdd (a plain add: one thread runs at a time); the launch limits of a
 * device (block of at most 1024 threads, grid y and z at most 65535) as a
 * launch error that cudaGetLastError returns; fresh device memory as
 * poisoned bytes (0xa5), so a kernel reading what nothing wrote gives other
 * results than the CPU.  It reports as a fault (the next cudaGetLastError
 * returns cudaErrorLaunchFailure, emu_faults counts it, stderr says which
 * kernel and block): a barrier some threads of the block returned before, a
 * full-mask shuffle in a warp some lanes left, a warp split between a block
 * barrier and a shuffle, and any other deadlock.
 *
 * What it cannot catch: data races (fibers run one at a time, each until it
 * waits, so a missing __syncthreads often still gives the right answer);
 * FMA contraction and the device's math library (the copy is compiled by
 * the host compiler with -ffp-contract=off and calls glibc's expf, erff,
 * tanhf: nvcc may fuse a * b + c, and CUDA's functions are 1-2 ulp from
 * glibc's, so an entry exact here may be a few ulp off on a GPU);
 * __CUDA_ARCH__ is undefined, so a body with a device branch runs its host
 * one; host/device pointer mix-ups (device memory is host memory here);
 * stream order and real timing (everything runs at once, in call order);
 * uninitialised shared memory, occupancy, shared-memory or register
 * limits, dynamic shared memory (a launch asking for it is a launch
 * error).  Test code: one thread, global state by necessity (the kernels
 * name threadIdx and the rest as globals). */
#ifndef VL_TEST_CUDA_EMU_H
#define VL_TEST_CUDA_EMU_H

#include <cuda_runtime.h>
#include <functional>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "emu.h"

#undef __global__
#undef __device__
#undef __host__
#undef __shared__
#define __global__
#define __device__
#define __host__
#define __shared__ static

/* the running thread's coordinates (set by the scheduler before it resumes one) */
extern uint3 threadIdx, blockIdx;
extern dim3 blockDim, gridDim;

/* Runs body once per thread of every block of grid x block, as a device
 * would run a kernel named name (for messages); a launch the device would
 * refuse (see the top of the file, shared_bytes > 0 among them) runs
 * nothing and leaves the launch error for cudaGetLastError. */
void emu_run(const char *name, dim3 grid, dim3 block, size_t shared_bytes,
             const std::function<void()> &body);
/* The block barrier of the running thread. */
void __syncthreads(void);
/* This thread's lane in its warp (threads numbered x fastest, as a device). */
int emu_lane(void);
/* Exchanges bytes (at most 8) through the warp of the running thread: every
 * lane of the warp (all in mask, which must be the whole warp) offers in
 * and gets lane src's offer in out. */
void emu_shuffle(unsigned mask, const void *in, void *out, size_t bytes, int src);

template <class T> static inline T emu_shfl_from(unsigned mask, T v, int src)
{
    static_assert(sizeof(T) <= 8, "a shuffle moves at most 8 bytes");
    T r;
    emu_shuffle(mask, &v, &r, sizeof v, src);
    return r;
}

template <class T> static inline T __shfl_sync(unsigned mask, T v, int src, int width = 32)
{
    int lane = emu_lane(), base = lane & ~(width - 1);
    return emu_shfl_from(mask, v, base + (src & (width - 1)));
}

template <class T> static inline T __shfl_up_sync(unsigned mask, T v, unsigned d, int width = 32)
{
    int lane = emu_lane();
    return emu_shfl_from(mask, v, (lane & (width - 1)) < (int)d ? lane : lane - (int)d);
}

template <class T> static inline T __shfl_down_sync(unsigned mask, T v, unsigned d, int width = 32)
{
    int lane = emu_lane();
    return emu_shfl_from(mask, v, (lane & (width - 1)) + (int)d >= width ? lane : lane + (int)d);
}

template <class T> static inline T __shfl_xor_sync(unsigned mask, T v, int m, int width = 32)
{
    int lane = emu_lane(), src = lane ^ m, base = lane & ~(width - 1);
    return emu_shfl_from(mask, v, src >= base + width ? lane : src);
}

/* the round-to-nearest intrinsics: the host's own operations, each rounded
 * once (the copy is compiled with -ffp-contract=off) */
static inline float __fmul_rn(float a, float b)
{
    return a * b;
}
static inline float __fadd_rn(float a, float b)
{
    return a + b;
}
static inline float __fdiv_rn(float a, float b)
{
    return a / b;
}
static inline double __dmul_rn(double a, double b)
{
    return a * b;
}
static inline double __dadd_rn(double a, double b)
{
    return a + b;
}

/* the integer atomics: a thread runs alone until it waits, so a plain
 * read-modify-write is atomic here (no float atomicAdd: its order, and so
 * its sum, would differ from a device's) */
static inline int atomicAdd(int *p, int v)
{
    int old = *p;
    *p = old + v;
    return old;
}
static inline unsigned atomicAdd(unsigned *p, unsigned v)
{
    unsigned old = *p;
    *p = old + v;
    return old;
}
static inline unsigned long long atomicAdd(unsigned long long *p, unsigned long long v)
{
    unsigned long long old = *p;
    *p = old + v;
    return old;
}

/* a launch: the arguments copied by value, as a device launch copies them */
template <class... P, class... A>
static inline void emu_launch_named(const char *name, void (*k)(P...), dim3 grid, dim3 block,
                                    size_t shared_bytes, cudaStream_t stream, A... args)
{
    (void)stream; /* one stream: everything runs now, in call order */
    emu_run(name, grid, block, shared_bytes, [=] { k(args...); });
}
#define emu_launch(k, ...) emu_launch_named(#k, k, __VA_ARGS__)

#endif
