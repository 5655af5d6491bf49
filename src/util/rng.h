/* rng.h - a small, fast, seedable random generator (xoshiro256**, seeded by
 * splitmix64) for everything that must be random yet reproducible: the
 * same seed gives the same numbers on every machine and compiler, which is
 * what makes augmented clips byte-identical anywhere. */
#ifndef VL_RNG_H
#define VL_RNG_H

#include <math.h>
#include <stdint.h>

struct vl_rng {
    uint64_t s[4];
};

static inline uint64_t vl_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Seeds r from one 64-bit value. */
static inline void vl_rng_seed(struct vl_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) r->s[i] = vl_splitmix64(&seed);
}

static inline uint64_t vl_rng_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* Returns 64 random bits. */
static inline uint64_t vl_rng_next(struct vl_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = vl_rng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = vl_rng_rotl(s[3], 45);
    return result;
}

/* Returns a double uniform in [0, 1). */
static inline double vl_rng_uniform(struct vl_rng *r)
{
    return (double)(vl_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Returns a double uniform in [lo, hi). */
static inline double vl_rng_range(struct vl_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * vl_rng_uniform(r);
}

/* Returns a standard normal deviate (Box-Muller; uses two uniforms). */
static inline double vl_rng_normal(struct vl_rng *r)
{
    double u1 = vl_rng_uniform(r), u2 = vl_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

#endif
