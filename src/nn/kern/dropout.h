/* dropout.h - the per-element part of dropout: the mask value of one
 * element from a uniform deviate, and a counter-based uniform for devices.
 *
 * The CPU backend draws its deviates in sequence from ctx->rng
 * (xoshiro256**), one per element in order, and that sequence fixes the
 * bytes of every CPU run; it keeps doing so.  A device cannot draw in
 * sequence, so vl_nn_kern_uniform_at gives element i of a call its own
 * deviate from (seed, i) alone.  The two give different masks: a GPU run
 * with dropout repeats itself, but does not repeat a CPU run. */
#ifndef VL_NN_KERN_DROPOUT_H
#define VL_NN_KERN_DROPOUT_H

#include <stdint.h>

#include "ops/kern/hd.h"

/* The mask of one element: 0 (dropped, when u < p) or keep = 1 / (1 - p). */
VL_HD static inline float vl_nn_kern_dropout_mask(double u, float p, float keep)
{
    return u < p ? 0.0f : keep;
}

/* A uniform deviate in [0, 1) that depends on (seed, counter) alone:
 * splitmix64's finaliser of seed + (counter + 1) * its golden-ratio step, the
 * top 53 bits scaled as vl_rng_uniform does. */
VL_HD static inline double vl_nn_kern_uniform_at(uint64_t seed, uint64_t counter)
{
    uint64_t z = seed + (counter + 1) * 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53;
}

#endif
