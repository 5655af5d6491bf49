/* test_cuda_nn_emu.c - the CUDA training backend's own kernels
 * (src/cuda/nn/kernels*.cu) run on the host by the SIMT emulator
 * (cuda_emu.h, emu.cpp), every entry they fill against the CPU backend
 * (vl_nn_backend_cpu) on the same inputs of odd sizes: sizes that leave
 * partial blocks and warps, several blocks, strided rows, aliased outputs.
 *
 * The backend is the real one: backend.cu's attach and table, the kernel
 * files' scratch, uploads and launch checks, copied with their launches
 * rewritten (CMakeLists.txt); its check entry runs after every device
 * call, so a launch the device would refuse or an emulator fault fails
 * the entry.  Arrays are host memory, which is device memory here.
 *
 * How each result must agree with the CPU's: entries that compute each
 * value alone, through the same body or one-line expression as the CPU
 * (element-wise, optimiser steps, activations, GRU cell, pooling, the
 * layout entries, the gradients of the hinges and of the unweighted
 * cross-entropy) give the same bits.  Entries that sum agree within a
 * stated relative tolerance, the error taken relative to max(|want|, 1)
 * since the inputs are of order 1 (a result that cancels below them is
 * held to the rounding of its terms): SUM_TOL where the device sums in
 * double in its fixed tree order and the CPU in index order (the two
 * doubles differ in their last bits, their floats by an ulp at times),
 * ROWS_TOL where the CPU adds each row into a float accumulator and the
 * device one double per column (layer norm's dgamma and dbeta: the CPU's
 * float roundings of up to 70 rows), SQUARES_TOL for sum_squares' double
 * (positive terms, no cancellation: two orders of 5e6 terms differ by
 * about 6e-13 here, by n ulps = 5.5e-10 at worst).
 * Dropout has no CPU twin (the CPU draws from ctx->rng): its masks are
 * checked against nn/kern/dropout.h's generator at (a seed drawn from the
 * context's generator, i).
 *
 * Not tested here: gemm, gemm_batched, conv2d_forward and conv2d_backward
 * (gemm.cu and conv.cu call cuBLASLt and cuDNN, which the emulator cannot
 * run; cuda_nn_pieces.cpp leaves them NULL); the memory entries other
 * than check (the arrays are passed as they are); grid-stride loops past
 * 65535 blocks (16.7M values: minutes here);
 * and all that cuda_emu.h's top says the emulator cannot catch: an entry
 * exact here may be a few ulp off on a GPU (CUDA's expf, erff, tanhf);
 * the check on a device is scripts/gpu-check.sh's.
 *
 * Prints one line per entry: its cases, values compared, kernel launches,
 * how it must agree, the worst error and ok or FAILED with the first
 * failure. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "gpu/cuda_nn_module.h"
#include "nn/backend.h"
#include "nn/kern/dropout.h"
#include "util/rng.h"

extern const struct vl_cuda_nn_module vl_cuda_nn_module; /* backend.cu's copy */

#define SUM_TOL 1e-6
#define ROWS_TOL 1e-5
#define SQUARES_TOL 1e-10
#define DROPOUT_SEED 42ull

/* -- the entries and what each gave -- */

/* clang-format off */
#define KERNEL_ENTRIES(X)                                                                          \
    X(add) X(axpy) X(scale) X(copy) X(fill) X(swap_axes) X(mul) X(standardize) X(sum_squares)      \
    X(bias_grad) X(dropout_forward) X(mean_forward) X(mean_backward) X(area_pool_forward)          \
    X(area_pool_backward) X(patch_tokens_forward) X(patch_tokens_backward)                         \
    X(group_embed_forward) X(group_embed_backward) X(cross_entropy) X(hinge_loss)                  \
    X(squared_hinge_ovr) X(sgd_step) X(adamw_step) X(pool2d_forward) X(pool2d_backward)            \
    X(batchnorm_forward) X(batchnorm_backward) X(layernorm_forward) X(layernorm_backward)          \
    X(activation_forward) X(activation_backward) X(softmax_rows) X(softmax_rows_backward)          \
    X(gru_cell_forward) X(gru_cell_backward)
/* clang-format on */

struct entry {
    const char *name;
    size_t offset; /* of its function pointer in struct vl_nn_backend */
    int cases;
    size_t values;
    unsigned long launches;
    int exact_parts, tol_parts;
    size_t differing;  /* values of exact parts with other bits */
    double tol, worst; /* the widest tolerance of its other parts, their worst error */
    int failed;
    char shape[120]; /* the case running now */
    char first[400]; /* the first failure */
};

#define ENTRY_ROW(n) {.name = #n, .offset = offsetof(struct vl_nn_backend, n)},
static struct entry entries[] = {KERNEL_ENTRIES(ENTRY_ROW)};
#define N_ENTRIES (sizeof entries / sizeof entries[0])

static struct vl_nn_ctx cpu_ctx, dev_ctx;
static const struct vl_nn_backend *C, *G;

static struct entry *entry_named(const char *name)
{
    for (size_t i = 0; i < N_ENTRIES; i++)
        if (strcmp(entries[i].name, name) == 0) return &entries[i];
    fprintf(stderr, "test_cuda_nn_emu: no entry %s\n", name);
    abort();
}

static void fail(struct entry *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Marks e failed; the first failure's message (with its case) is kept. */
static void fail(struct entry *e, const char *fmt, ...)
{
    if (e->failed++) return;
    int n = snprintf(e->first, sizeof e->first, "%s: ", e->shape);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->first + n, sizeof e->first - (size_t)n, fmt, ap);
    va_end(ap);
}

/* Starts a case of entry name: its shape, for messages. */
static struct entry *start(const char *name, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static struct entry *start(const char *name, const char *fmt, ...)
{
    struct entry *e = entry_named(name);
    e->cases++;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->shape, sizeof e->shape, fmt, ap);
    va_end(ap);
    return e;
}

/* After a device call of e: its launches counted, the backend's check and
 * the emulator's faults turned into e's failure. */
static void device_done(struct entry *e, unsigned long launches_before, unsigned long faults_before)
{
    struct vl_error err = {0};
    int oom = 0;
    e->launches += emu_launches() - launches_before;
    if (G->check(&dev_ctx, &err, &oom) != 0) fail(e, "the backend recorded: %s", err.msg);
    if (emu_faults() != faults_before) fail(e, "an emulator fault (stderr says which)");
}

/* Runs the device call CALL for entry E. */
#define DEVICE(e, call)                                                                            \
    do {                                                                                           \
        unsigned long l_ = emu_launches(), f_ = emu_faults();                                      \
        call;                                                                                      \
        device_done((e), l_, f_);                                                                  \
    } while (0)

static int same_bits(float a, float b)
{
    return memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b));
}

/* Part `part` of e's results: got must have want's bits. */
static void exact(struct entry *e, const char *part, const float *got, const float *want, size_t n)
{
    size_t bad = 0, at = 0;
    for (size_t i = 0; i < n; i++)
        if (!same_bits(got[i], want[i]) && !bad++) at = i;
    e->exact_parts++;
    e->values += n;
    e->differing += bad;
    if (bad)
        fail(e, "%s: %zu of %zu values differ, first [%zu]: got %.9g, want %.9g", part, bad, n, at,
             got[at], want[at]);
}

/* |got - want| / max(|want|, 1) */
static double error_of(double got, double want)
{
    if (isnan(got) || isnan(want)) return isnan(got) && isnan(want) ? 0.0 : INFINITY;
    double s = fabs(want);
    return fabs(got - want) / (s > 1.0 ? s : 1.0);
}

static void note_error(struct entry *e, const char *part, size_t n, double tol, double worst,
                       size_t at, double got, double want)
{
    e->tol_parts++;
    e->values += n;
    if (tol > e->tol) e->tol = tol;
    if (worst > e->worst) e->worst = worst;
    if (!(worst <= tol))
        fail(e, "%s: [%zu] got %.9g, want %.9g: error %.3g over %g", part, at, got, want, worst,
             tol);
}

/* Part `part` of e's results: within tol of want (error_of). */
static void near(struct entry *e, const char *part, const float *got, const float *want, size_t n,
                 double tol)
{
    double worst = 0.0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        double r = error_of(got[i], want[i]);
        if (!(r <= worst)) worst = r, at = i;
    }
    note_error(e, part, n, tol, worst, at, n ? got[at] : 0.0, n ? want[at] : 0.0);
}

/* -- inputs (every array freed by release) -- */

static void *held[1024];
static size_t n_held;
static uint64_t input_seed = 1;

static void *hold(void *p)
{
    if (!p || n_held == sizeof held / sizeof held[0]) {
        fprintf(stderr, "test_cuda_nn_emu: out of memory or of held slots\n");
        abort();
    }
    return held[n_held++] = p;
}

static void release(void)
{
    while (n_held)
        free(held[--n_held]);
}

/* n values uniform in [-s, s], a new stream each call */
static float *rnd(size_t n, float s)
{
    float *p = hold(malloc((n ? n : 1) * sizeof *p));
    for (size_t i = 0; i < n; i++)
        p[i] = (float)((2.0 * vl_nn_kern_uniform_at(input_seed, i) - 1.0) * s);
    input_seed++;
    return p;
}

/* n values uniform in [lo, lo + s] */
static float *positive(size_t n, float lo, float s)
{
    float *p = rnd(n, s);
    for (size_t i = 0; i < n; i++)
        p[i] = lo + fabsf(p[i]);
    return p;
}

static float *copy_of(const float *a, size_t n)
{
    float *p = hold(malloc((n ? n : 1) * sizeof *p));
    memcpy(p, a, n * sizeof *p);
    return p;
}

/* -- element-wise -- */

static void elementwise(void)
{
    size_t rows = 7, cols = 33, lda = 40, ldb = 35, ldy = 37, n = 1001;
    struct entry *e =
        start("add", "rows %zu cols %zu lda %zu ldb %zu ldy %zu", rows, cols, lda, ldb, ldy);
    float *a = rnd(rows * lda, 2), *b = rnd(rows * ldb, 2), *y1 = rnd(rows * ldy, 1);
    float *y2 = copy_of(y1, rows * ldy);
    C->add(&cpu_ctx, rows, cols, a, lda, b, ldb, y1, ldy);
    DEVICE(e, G->add(&dev_ctx, rows, cols, a, lda, b, ldb, y2, ldy));
    exact(e, "y", y2, y1, rows * ldy);
    e = start("add", "n %zu, y aliasing a", n);
    float *u1 = rnd(n, 1), *u2 = copy_of(u1, n), *x = rnd(n, 3);
    C->add(&cpu_ctx, 1, n, u1, n, x, n, u1, n);
    DEVICE(e, G->add(&dev_ctx, 1, n, u2, n, x, n, u2, n));
    exact(e, "y", u2, u1, n);

    e = start("axpy", "n %zu", n);
    C->axpy(&cpu_ctx, n, 0.7f, x, u1);
    DEVICE(e, G->axpy(&dev_ctx, n, 0.7f, x, u2));
    exact(e, "y", u2, u1, n);
    e = start("scale", "n %zu", n);
    C->scale(&cpu_ctx, n, -1.3f, u1);
    DEVICE(e, G->scale(&dev_ctx, n, -1.3f, u2));
    exact(e, "x", u2, u1, n);
    e = start("mul", "n %zu, y aliasing b", n);
    C->mul(&cpu_ctx, n, x, u1, u1);
    DEVICE(e, G->mul(&dev_ctx, n, x, u2, u2));
    exact(e, "y", u2, u1, n);
    e = start("fill", "n %zu", n);
    C->fill(&cpu_ctx, n, 2.5f, u1);
    DEVICE(e, G->fill(&dev_ctx, n, 2.5f, u2));
    exact(e, "x", u2, u1, n);

    /* contiguous (one copy), pitched (a 2-D copy), broadcast and short
     * rows (the kernel) */
    size_t copies[][4] = {{5, 7, 7, 7}, {5, 7, 11, 9}, {1, 13, 0, 0}, {5, 7, 0, 9}, {300, 3, 0, 5}};
    for (size_t k = 0; k < sizeof copies / sizeof copies[0]; k++) {
        size_t r = copies[k][0], c = copies[k][1], lx = copies[k][2], ly = copies[k][3];
        size_t ny = (r - 1) * ly + c;
        e = start("copy", "rows %zu cols %zu ldx %zu ldy %zu", r, c, lx, ly);
        float *src = rnd((r - 1) * lx + c, 1), *d1 = rnd(ny, 1), *d2 = copy_of(d1, ny);
        C->copy(&cpu_ctx, r, c, src, lx, d1, ly);
        DEVICE(e, G->copy(&dev_ctx, r, c, src, lx, d2, ly));
        exact(e, "y", d2, d1, ny);
    }

    size_t o = 2, na = 3, mid = 5, nb = 4, in = 3, total = o * na * mid * nb * in;
    e = start("swap_axes", "[%zu, %zu, %zu, %zu, %zu]", o, na, mid, nb, in);
    float *s = rnd(total, 1), *t1 = rnd(total, 1), *t2 = rnd(total, 1);
    C->swap_axes(&cpu_ctx, o, na, mid, nb, in, s, t1);
    DEVICE(e, G->swap_axes(&dev_ctx, o, na, mid, nb, in, s, t2));
    exact(e, "dst", t2, t1, total);

    int d = 13;
    size_t sr = 9;
    e = start("standardize", "rows %zu d %d", sr, d);
    float *sx = rnd(sr * d, 3), *mean = rnd(d, 1), *sc = positive(d, 0.5f, 1);
    float *z1 = rnd(sr * d, 1), *z2 = rnd(sr * d, 1);
    C->standardize(&cpu_ctx, sr, d, sx, mean, sc, z1);
    DEVICE(e, G->standardize(&dev_ctx, sr, d, sx, mean, sc, z2));
    exact(e, "y", z2, z1, sr * d);

    const char *kinds[] = {"relu", "gelu", "tanh"};
    for (int kind = VL_NN_RELU; kind <= VL_NN_TANH; kind++) {
        float *ax = rnd(n, 4), *dy = rnd(n, 1), *f1 = rnd(n, 1), *f2 = rnd(n, 1);
        e = start("activation_forward", "%s n %zu", kinds[kind], n);
        C->activation_forward(&cpu_ctx, kind, n, ax, f1);
        DEVICE(e, G->activation_forward(&dev_ctx, kind, n, ax, f2));
        exact(e, "y", f2, f1, n);
        e = start("activation_backward", "%s n %zu", kinds[kind], n);
        C->activation_backward(&cpu_ctx, kind, n, ax, dy, f1);
        DEVICE(e, G->activation_backward(&dev_ctx, kind, n, ax, dy, f2));
        exact(e, "dx", f2, f1, n);
    }
    release();
}

/* -- optimiser steps and dropout -- */

static void optimisers(void)
{
    size_t n = 1001;
    float *g = rnd(n, 1), *w1 = rnd(n, 1), *w2 = copy_of(w1, n);
    float *b1 = rnd(n, 0.1f), *b2 = copy_of(b1, n);
    struct entry *e = start("sgd_step", "n %zu, no momentum", n);
    C->sgd_step(&cpu_ctx, n, w1, g, NULL, 0.1f, 0.01f, 0.0f, 0, 1);
    DEVICE(e, G->sgd_step(&dev_ctx, n, w2, g, NULL, 0.1f, 0.01f, 0.0f, 0, 1));
    exact(e, "w", w2, w1, n);
    for (int nesterov = 0; nesterov <= 1; nesterov++)
        for (int first = 0; first <= 1; first++) {
            e = start("sgd_step", "n %zu, momentum, nesterov %d, first %d", n, nesterov, first);
            C->sgd_step(&cpu_ctx, n, w1, g, b1, 0.1f, 0.01f, 0.9f, nesterov, first);
            DEVICE(e, G->sgd_step(&dev_ctx, n, w2, g, b2, 0.1f, 0.01f, 0.9f, nesterov, first));
            exact(e, "w", w2, w1, n);
            exact(e, "buf", b2, b1, n);
        }
    float *m1 = rnd(n, 0.1f), *m2 = copy_of(m1, n), *v1 = positive(n, 0, 0.1f);
    float *v2 = copy_of(v1, n);
    e = start("adamw_step", "n %zu", n);
    C->adamw_step(&cpu_ctx, n, w1, g, m1, v1, 1e-3f, 0.01f, 0.9f, 0.999f, 1e-8f, 0.0037f, 0.054f);
    DEVICE(e, G->adamw_step(&dev_ctx, n, w2, g, m2, v2, 1e-3f, 0.01f, 0.9f, 0.999f, 1e-8f, 0.0037f,
                            0.054f));
    exact(e, "w", w2, w1, n);
    exact(e, "m", m2, m1, n);
    exact(e, "v", v2, v1, n);

    /* each call's deviates are (seed, i) for a seed drawn from the context's
     * generator: two calls draw two seeds; the generator reseeded as at an
     * epoch's start gives the first call's masks again */
    size_t sizes[] = {n, 7, n};
    struct vl_rng start_rng = dev_ctx.rng;
    for (int k = 0; k < 3; k++) {
        size_t m = sizes[k];
        if (k == 2) dev_ctx.rng = start_rng; /* as the trainer reseeds per epoch */
        float *x = rnd(m, 1), *mask = rnd(m, 1), *y = rnd(m, 1);
        float *want_mask = rnd(m, 1), *want_y = rnd(m, 1), keep = 1.0f / (1.0f - 0.3f);
        struct vl_rng peek = dev_ctx.rng;
        uint64_t seed = vl_rng_next(&peek);
        e = start("dropout_forward", "n %zu p 0.3, call %d", m, k + 1);
        DEVICE(e, G->dropout_forward(&dev_ctx, m, 0.3f, x, mask, y));
        for (size_t i = 0; i < m; i++) {
            want_mask[i] = vl_nn_kern_dropout_mask(vl_nn_kern_uniform_at(seed, i), 0.3f, keep);
            want_y[i] = x[i] * want_mask[i];
        }
        exact(e, "mask", mask, want_mask, m);
        exact(e, "y", y, want_y, m);
    }
    release();
}

/* -- sums -- */

static void sums(void)
{
    size_t ns[] = {1, 1001, 100003, 5000001};
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
        struct entry *e = start("sum_squares", "n %zu", ns[k]);
        float *x = rnd(ns[k], 2);
        double a1 = 1.5, a2 = 1.5;
        C->sum_squares(&cpu_ctx, ns[k], x, &a1);
        DEVICE(e, G->sum_squares(&dev_ctx, ns[k], x, &a2));
        note_error(e, "acc", 1, SQUARES_TOL, error_of(a2, a1), 0, a2, a1);
        release();
    }

    size_t rows = 37, ld = 50;
    int cols = 45;
    struct entry *e = start("bias_grad", "rows %zu cols %d ld %zu", rows, cols, ld);
    float *dy = rnd(rows * ld, 1), *db1 = rnd(cols, 1), *db2 = copy_of(db1, cols);
    C->bias_grad(&cpu_ctx, rows, cols, ld, dy, db1);
    DEVICE(e, G->bias_grad(&dev_ctx, rows, cols, ld, dy, db2));
    near(e, "db", db2, db1, cols, SUM_TOL);

    /* inner 1: a warp per run (33 runs: five blocks, the last with one
     * busy warp); else columns */
    size_t shapes[][3] = {{3, 7, 5}, {33, 65, 1}, {1, 1, 1}, {2, 300, 40}, {9, 3, 1}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        size_t o = shapes[k][0], l = shapes[k][1], in = shapes[k][2];
        e = start("mean_forward", "[%zu, %zu, %zu]", o, l, in);
        float *x = rnd(o * l * in, 2), *y1 = rnd(o * in, 1), *y2 = rnd(o * in, 1);
        C->mean_forward(&cpu_ctx, o, l, in, x, y1);
        DEVICE(e, G->mean_forward(&dev_ctx, o, l, in, x, y2));
        near(e, "y", y2, y1, o * in, SUM_TOL);
        e = start("mean_backward", "[%zu, %zu, %zu]", o, l, in);
        float *d1 = rnd(o * l * in, 1), *d2 = rnd(o * l * in, 1);
        C->mean_backward(&cpu_ctx, o, l, in, y1, d1);
        DEVICE(e, G->mean_backward(&dev_ctx, o, l, in, y1, d2));
        exact(e, "dx", d2, d1, o * l * in);
    }

    for (int cls = 0; cls <= 1; cls++) {
        int n = 3, np = 5, e_ = 7, tk = np + cls;
        e = start("patch_tokens_forward", "n %d np %d e %d cls %d", n, np, e_, cls);
        float *conv = rnd((size_t)n * e_ * np, 1), *ct = rnd(e_, 1), *pos = rnd(tk * e_, 1);
        float *y1 = rnd((size_t)n * tk * e_, 1), *y2 = rnd((size_t)n * tk * e_, 1);
        C->patch_tokens_forward(&cpu_ctx, n, np, e_, cls, conv, ct, pos, y1);
        DEVICE(e, G->patch_tokens_forward(&dev_ctx, n, np, e_, cls, conv, ct, pos, y2));
        exact(e, "y", y2, y1, (size_t)n * tk * e_);
        e = start("patch_tokens_backward", "n %d np %d e %d cls %d", n, np, e_, cls);
        float *dc1 = rnd((size_t)n * e_ * np, 1), *dc2 = rnd((size_t)n * e_ * np, 1);
        float *dp1 = rnd(tk * e_, 1), *dp2 = copy_of(dp1, tk * e_);
        float *dk1 = rnd(e_, 1), *dk2 = copy_of(dk1, e_);
        C->patch_tokens_backward(&cpu_ctx, n, np, e_, cls, y1, dc1, dp1, dk1);
        DEVICE(e, G->patch_tokens_backward(&dev_ctx, n, np, e_, cls, y1, dc2, dp2, dk2));
        exact(e, "dconv", dc2, dc1, (size_t)n * e_ * np);
        near(e, "dpos", dp2, dp1, tk * e_, SUM_TOL);
        near(e, "dcls", dk2, dk1, e_, SUM_TOL);
    }

    int n = 3, groups = 3, len = 5, emb = 7;
    size_t t = (size_t)n * groups * len * emb;
    e = start("group_embed_forward", "n %d groups %d len %d e %d", n, groups, len, emb);
    float *x = rnd(t, 1), *em = rnd(groups * emb, 1), *y1 = rnd(t, 1), *y2 = rnd(t, 1);
    C->group_embed_forward(&cpu_ctx, n, groups, len, emb, x, em, y1);
    DEVICE(e, G->group_embed_forward(&dev_ctx, n, groups, len, emb, x, em, y2));
    exact(e, "y", y2, y1, t);
    e = start("group_embed_backward", "n %d groups %d len %d e %d", n, groups, len, emb);
    float *d1 = rnd(groups * emb, 1), *d2 = copy_of(d1, groups * emb);
    C->group_embed_backward(&cpu_ctx, n, groups, len, emb, x, d1);
    DEVICE(e, G->group_embed_backward(&dev_ctx, n, groups, len, emb, x, d2));
    near(e, "demb", d2, d1, groups * emb, SUM_TOL);
    release();
}

/* -- losses -- */

static void losses(void)
{
    /* 33 rows: one block of row threads; 300: two, and a strided total */
    int shapes[][2] = {{33, 1}, {33, 3}, {33, 11}, {300, 3}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++)
        for (int weighted = 0; weighted <= 1; weighted++) {
            int n = shapes[k][0], c = shapes[k][1];
            size_t nc = (size_t)n * c;
            float *logits = rnd(nc, 3), *w = positive(c, 0.5f, 1);
            float *d1 = rnd(nc, 1), *d2 = rnd(nc, 1), l1, l2;
            int *labels = hold(malloc((size_t)n * sizeof *labels));
            for (int i = 0; i < n; i++)
                labels[i] = (i * 7 + 3) % c;
            const float *cw = weighted ? w : NULL;
            struct entry *e = start("cross_entropy", "n %d c %d weighted %d", n, c, weighted);
            C->cross_entropy(&cpu_ctx, n, c, logits, labels, cw, &l1, d1);
            DEVICE(e, G->cross_entropy(&dev_ctx, n, c, logits, labels, cw, &l2, d2));
            near(e, "loss", &l2, &l1, 1, SUM_TOL);
            /* scale w / wsum: wsum a sum of weights in two orders */
            if (weighted)
                near(e, "dlogits", d2, d1, nc, SUM_TOL);
            else
                exact(e, "dlogits", d2, d1, nc);
            e = start("hinge_loss", "n %d c %d weighted %d", n, c, weighted);
            C->hinge_loss(&cpu_ctx, n, c, logits, labels, cw, 1.0f, &l1, d1);
            DEVICE(e, G->hinge_loss(&dev_ctx, n, c, logits, labels, cw, 1.0f, &l2, d2));
            near(e, "loss", &l2, &l1, 1, SUM_TOL);
            exact(e, "dlogits", d2, d1, nc);
            e = start("hinge_loss", "n %d c %d weighted %d, no dlogits", n, c, weighted);
            C->hinge_loss(&cpu_ctx, n, c, logits, labels, cw, 1.0f, &l1, NULL);
            DEVICE(e, G->hinge_loss(&dev_ctx, n, c, logits, labels, cw, 1.0f, &l2, NULL));
            near(e, "loss", &l2, &l1, 1, SUM_TOL);
            if (weighted) continue;
            e = start("squared_hinge_ovr", "n %d c %d", n, c);
            C->squared_hinge_ovr(&cpu_ctx, n, c, logits, labels, &l1, d1);
            DEVICE(e, G->squared_hinge_ovr(&dev_ctx, n, c, logits, labels, &l2, d2));
            near(e, "loss", &l2, &l1, 1, SUM_TOL);
            exact(e, "dlogits", d2, d1, nc);
        }
    int label0 = 0;
    float l1 = 7, l2 = 7;
    struct entry *e = start("cross_entropy", "n 0");
    C->cross_entropy(&cpu_ctx, 0, 3, NULL, &label0, NULL, &l1, NULL);
    DEVICE(e, G->cross_entropy(&dev_ctx, 0, 3, NULL, &label0, NULL, &l2, NULL));
    exact(e, "loss", &l2, &l1, 1);
    release();
}

/* -- pooling -- */

static void pools(void)
{
    struct vl_nn_pool_geom geoms[] = {
        {VL_NN_POOL_MAX, 2, 3, 7, 5, 3, 2, 1, 0, 0},
        {VL_NN_POOL_MAX, 1, 1, 8, 8, 3, 1, 1, 0, 0},
        {VL_NN_POOL_MAX, 3, 5, 13, 11, 2, 2, 0, 0, 0},
        {VL_NN_POOL_AVG, 2, 3, 7, 5, 3, 2, 1, 0, 0},
        {VL_NN_POOL_AVG, 1, 1, 5, 5, 2, 3, 1, 0, 0},
        {VL_NN_POOL_ADAPTIVE_AVG, 2, 3, 7, 5, 0, 0, 0, 3, 2},
        {VL_NN_POOL_ADAPTIVE_AVG, 1, 2, 3, 3, 0, 0, 0, 5, 4},
    };
    const char *kinds[] = {"max", "avg", "adaptive avg"};
    for (size_t k = 0; k < sizeof geoms / sizeof geoms[0]; k++) {
        struct vl_nn_pool_geom g = geoms[k];
        if (g.kind != VL_NN_POOL_ADAPTIVE_AVG) {
            g.oh = (g.h + 2 * g.padding - g.kernel) / g.stride + 1;
            g.ow = (g.w + 2 * g.padding - g.kernel) / g.stride + 1;
        }
        size_t in = (size_t)g.n * g.c * g.h * g.w, out = (size_t)g.n * g.c * g.oh * g.ow;
        float *x = rnd(in, 2), *y1 = rnd(out, 1), *y2 = rnd(out, 1), *dy = rnd(out, 1);
        float *d1 = rnd(in, 1), *d2 = rnd(in, 1);
        int *a1 = hold(calloc(out, sizeof(int))), *a2 = hold(calloc(out, sizeof(int)));
        struct entry *e = start("pool2d_forward", "%s [%d, %d, %d, %d] to %dx%d", kinds[g.kind],
                                g.n, g.c, g.h, g.w, g.oh, g.ow);
        C->pool2d_forward(&cpu_ctx, &g, x, y1, a1);
        DEVICE(e, G->pool2d_forward(&dev_ctx, &g, x, y2, a2));
        exact(e, "y", y2, y1, out);
        if (g.kind == VL_NN_POOL_MAX && memcmp(a1, a2, out * sizeof(int)) != 0)
            fail(e, "argmax differs");
        e = start("pool2d_backward", "%s [%d, %d, %d, %d] to %dx%d", kinds[g.kind], g.n, g.c, g.h,
                  g.w, g.oh, g.ow);
        C->pool2d_backward(&cpu_ctx, &g, dy, a1, d1);
        DEVICE(e, G->pool2d_backward(&dev_ctx, &g, dy, a1, d2));
        exact(e, "dx", d2, d1, in);
    }

    int vh[] = {9, 5}, vw[] = {7, 3};
    struct vl_nn_area_geom ag = {6, 2, 9, 7, 4, 3, vh, vw};
    size_t in = 6 * 2 * 9 * 7, out = 6 * 2 * 16;
    float *x = rnd(in, 2), *y1 = rnd(out, 1), *y2 = rnd(out, 1), *d1 = rnd(in, 1), *d2 = rnd(in, 1);
    struct entry *e = start("area_pool_forward", "m 6 c 2 9x7 grid 4 frames 3");
    C->area_pool_forward(&cpu_ctx, &ag, x, y1);
    DEVICE(e, G->area_pool_forward(&dev_ctx, &ag, x, y2));
    exact(e, "y", y2, y1, out);
    e = start("area_pool_backward", "m 6 c 2 9x7 grid 4 frames 3");
    C->area_pool_backward(&cpu_ctx, &ag, y1, d1);
    DEVICE(e, G->area_pool_backward(&dev_ctx, &ag, y1, d2));
    exact(e, "dx", d2, d1, in);
    release();
}

/* -- norms -- */

static void batchnorms(void)
{
    int shapes[][3] = {{1, 1, 2}, {3, 5, 7}, {2, 3, 33}, {7, 2, 1}, {4, 3, 300}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++)
        for (int training = 0; training <= 1; training++) {
            int n = shapes[k][0], c = shapes[k][1], s = shapes[k][2];
            size_t t = (size_t)n * c * s;
            float *x = rnd(t, 2), *gm = rnd(c, 1.5f), *bt = rnd(c, 0.5f), *rm1 = rnd(c, 0.1f);
            float *rv1 = positive(c, 1, 0.1f), *rm2 = copy_of(rm1, c), *rv2 = copy_of(rv1, c);
            float *y1 = rnd(t, 1), *y2 = rnd(t, 1), *me1 = rnd(c, 1), *me2 = rnd(c, 1);
            float *is1 = rnd(c, 1), *is2 = rnd(c, 1);
            struct entry *e =
                start("batchnorm_forward", "[%d, %d, %d] training %d", n, c, s, training);
            C->batchnorm_forward(&cpu_ctx, n, c, s, x, gm, bt, rm1, rv1, 0.1f, 1e-5f, training, y1,
                                 me1, is1);
            DEVICE(e, G->batchnorm_forward(&dev_ctx, n, c, s, x, gm, bt, rm2, rv2, 0.1f, 1e-5f,
                                           training, y2, me2, is2));
            near(e, "y", y2, y1, t, SUM_TOL);
            near(e, "mean", me2, me1, c, SUM_TOL);
            near(e, "invstd", is2, is1, c, SUM_TOL);
            near(e, "running mean", rm2, rm1, c, SUM_TOL);
            near(e, "running var", rv2, rv1, c, SUM_TOL);

            float *dy = rnd(t, 1), *dx1 = rnd(t, 1), *dx2 = rnd(t, 1), *dg1 = rnd(c, 1);
            float *dg2 = copy_of(dg1, c), *db1 = rnd(c, 1), *db2 = copy_of(db1, c);
            e = start("batchnorm_backward", "[%d, %d, %d] batch stats %d", n, c, s, training);
            C->batchnorm_backward(&cpu_ctx, n, c, s, x, gm, me1, is1, training, dy, dx1, dg1, db1);
            DEVICE(e, G->batchnorm_backward(&dev_ctx, n, c, s, x, gm, me1, is1, training, dy, dx2,
                                            dg2, db2));
            near(e, "dx", dx2, dx1, t, SUM_TOL);
            near(e, "dgamma", dg2, dg1, c, SUM_TOL);
            near(e, "dbeta", db2, db1, c, SUM_TOL);
            e = start("batchnorm_backward", "[%d, %d, %d] batch stats %d, no dx", n, c, s,
                      training);
            C->batchnorm_backward(&cpu_ctx, n, c, s, x, gm, me1, is1, training, dy, NULL, dg1, db1);
            DEVICE(e, G->batchnorm_backward(&dev_ctx, n, c, s, x, gm, me1, is1, training, dy, NULL,
                                            dg2, db2));
            near(e, "dgamma", dg2, dg1, c, SUM_TOL);
            near(e, "dbeta", db2, db1, c, SUM_TOL);
        }
    release();
}

static void layernorms(void)
{
    int shapes[][2] = {{1, 1}, {5, 7}, {9, 33}, {3, 101}, {70, 64}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        size_t rows = (size_t)shapes[k][0], t = rows * shapes[k][1];
        int dim = shapes[k][1];
        float *x = rnd(t, 2), *gm = rnd(dim, 1.5f), *bt = rnd(dim, 0.5f), *y1 = rnd(t, 1);
        float *y2 = rnd(t, 1), *me1 = rnd(rows, 1), *me2 = rnd(rows, 1), *is1 = rnd(rows, 1);
        float *is2 = rnd(rows, 1);
        struct entry *e = start("layernorm_forward", "rows %zu dim %d", rows, dim);
        C->layernorm_forward(&cpu_ctx, rows, dim, x, gm, bt, 1e-5f, y1, me1, is1);
        DEVICE(e, G->layernorm_forward(&dev_ctx, rows, dim, x, gm, bt, 1e-5f, y2, me2, is2));
        near(e, "y", y2, y1, t, SUM_TOL);
        near(e, "mean", me2, me1, rows, SUM_TOL);
        near(e, "invstd", is2, is1, rows, SUM_TOL);

        float *dy = rnd(t, 1), *dx1 = rnd(t, 1), *dx2 = rnd(t, 1), *dg1 = rnd(dim, 1);
        float *dg2 = copy_of(dg1, dim), *db1 = rnd(dim, 1), *db2 = copy_of(db1, dim);
        e = start("layernorm_backward", "rows %zu dim %d", rows, dim);
        C->layernorm_backward(&cpu_ctx, rows, dim, x, gm, me1, is1, dy, dx1, dg1, db1);
        DEVICE(e, G->layernorm_backward(&dev_ctx, rows, dim, x, gm, me1, is1, dy, dx2, dg2, db2));
        near(e, "dx", dx2, dx1, t, SUM_TOL);
        near(e, "dgamma", dg2, dg1, dim, ROWS_TOL);
        near(e, "dbeta", db2, db1, dim, ROWS_TOL);
        e = start("layernorm_backward", "rows %zu dim %d, no dx", rows, dim);
        C->layernorm_backward(&cpu_ctx, rows, dim, x, gm, me1, is1, dy, NULL, dg1, db1);
        DEVICE(e, G->layernorm_backward(&dev_ctx, rows, dim, x, gm, me1, is1, dy, NULL, dg2, db2));
        near(e, "dgamma", dg2, dg1, dim, ROWS_TOL);
        near(e, "dbeta", db2, db1, dim, ROWS_TOL);
    }
    release();
}

/* -- row softmax and the GRU cell -- */

static void softmax_and_gru(void)
{
    /* 13 rows: two blocks of 8 warps, three warps idle */
    int widths[] = {1, 7, 33, 65, 100};
    for (size_t k = 0; k < sizeof widths / sizeof widths[0]; k++) {
        size_t rows = 13, t = rows * widths[k];
        int cols = widths[k], masked = k == 2;
        uint8_t *mask = hold(calloc((size_t)cols, 1));
        for (int j = 0; j < cols; j++)
            mask[j] = j % 3 == 1;
        float *x1 = rnd(t, 4), *x2 = copy_of(x1, t);
        struct entry *e = start("softmax_rows", "rows %zu cols %d masked %d", rows, cols, masked);
        C->softmax_rows(&cpu_ctx, rows, cols, x1, masked ? mask : NULL);
        DEVICE(e, G->softmax_rows(&dev_ctx, rows, cols, x2, masked ? mask : NULL));
        near(e, "x", x2, x1, t, SUM_TOL);
        float *dp1 = rnd(t, 1), *dp2 = copy_of(dp1, t);
        e = start("softmax_rows_backward", "rows %zu cols %d, dx aliasing dp", rows, cols);
        C->softmax_rows_backward(&cpu_ctx, rows, cols, x1, dp1, dp1);
        DEVICE(e, G->softmax_rows_backward(&dev_ctx, rows, cols, x1, dp2, dp2));
        near(e, "dx", dp2, dp1, t, SUM_TOL);
    }
    uint8_t all[5] = {1, 1, 1, 1, 1};
    float *x1 = rnd(15, 1), *x2 = copy_of(x1, 15);
    struct entry *e = start("softmax_rows", "rows 3 cols 5, all masked");
    C->softmax_rows(&cpu_ctx, 3, 5, x1, all);
    DEVICE(e, G->softmax_rows(&dev_ctx, 3, 5, x2, all));
    exact(e, "x", x2, x1, 15);

    for (int has_prev = 0; has_prev <= 1; has_prev++) {
        int n = 3, hs = 11, ldi = 40, ldh = 35, ldp = 13, ldg = 36, ldy = 12, lddi = 34, lddh = 38;
        float *gi = rnd((size_t)n * ldi, 2), *gh = rnd((size_t)n * ldh, 2);
        float *prev = has_prev ? rnd((size_t)n * ldp, 1) : NULL;
        float *g1 = rnd((size_t)n * ldg, 1), *g2 = copy_of(g1, (size_t)n * ldg);
        float *h1 = rnd((size_t)n * ldy, 1), *h2 = copy_of(h1, (size_t)n * ldy);
        e = start("gru_cell_forward", "n %d hs %d h_prev %d", n, hs, has_prev);
        C->gru_cell_forward(&cpu_ctx, n, hs, gi, ldi, gh, ldh, prev, ldp, g1, ldg, h1, ldy);
        DEVICE(e,
               G->gru_cell_forward(&dev_ctx, n, hs, gi, ldi, gh, ldh, prev, ldp, g2, ldg, h2, ldy));
        exact(e, "gates", g2, g1, (size_t)n * ldg);
        exact(e, "h", h2, h1, (size_t)n * ldy);
        float *dh = rnd((size_t)n * hs, 1), *di1 = rnd((size_t)n * lddi, 1);
        float *di2 = copy_of(di1, (size_t)n * lddi), *dg1 = rnd((size_t)n * lddh, 1);
        float *dg2 = copy_of(dg1, (size_t)n * lddh), *dp1 = rnd((size_t)n * hs, 1);
        float *dp2 = rnd((size_t)n * hs, 1);
        e = start("gru_cell_backward", "n %d hs %d h_prev %d", n, hs, has_prev);
        C->gru_cell_backward(&cpu_ctx, n, hs, gh, ldh, prev, ldp, g1, ldg, dh, di1, lddi, dg1, lddh,
                             dp1);
        DEVICE(e, G->gru_cell_backward(&dev_ctx, n, hs, gh, ldh, prev, ldp, g1, ldg, dh, di2, lddi,
                                       dg2, lddh, dp2));
        exact(e, "dgi", di2, di1, (size_t)n * lddi);
        exact(e, "dgh", dg2, dg1, (size_t)n * lddh);
        exact(e, "dh_prev", dp2, dp1, (size_t)n * hs);
    }
    release();
}

/* -- the table and the report -- */

/* Every entry the kernel files fill is one this test covers: the table's
 * filled pointers (the struct is pointers only) less name and the memory
 * entries, against KERNEL_ENTRIES.  0 or -1, saying why. */
static int check_coverage(void)
{
    size_t memory[] = {
        offsetof(struct vl_nn_backend, name),     offsetof(struct vl_nn_backend, alloc),
        offsetof(struct vl_nn_backend, free),     offsetof(struct vl_nn_backend, upload),
        offsetof(struct vl_nn_backend, download), offsetof(struct vl_nn_backend, sync),
        offsetof(struct vl_nn_backend, host_alloc), offsetof(struct vl_nn_backend, host_free),
        offsetof(struct vl_nn_backend, stage_upload), offsetof(struct vl_nn_backend, stage_release),
        offsetof(struct vl_nn_backend, stage_wait),
        offsetof(struct vl_nn_backend, mem_info), offsetof(struct vl_nn_backend, check)};
    size_t filled = 0, covered = 0;
    for (size_t off = 0; off + sizeof(void *) <= sizeof *G; off += sizeof(void *)) {
        void *p;
        memcpy(&p, (const char *)G + off, sizeof p);
        int is_memory = 0;
        for (size_t i = 0; i < sizeof memory / sizeof memory[0]; i++)
            is_memory |= memory[i] == off;
        filled += p && !is_memory;
    }
    for (size_t i = 0; i < N_ENTRIES; i++) {
        void *p;
        memcpy(&p, (const char *)G + entries[i].offset, sizeof p);
        if (!p) printf("%s: not filled by the kernel files\n", entries[i].name);
        covered += p != NULL;
    }
    if (filled != covered || covered != N_ENTRIES) {
        printf("the kernel files fill %zu entries, this test covers %zu of %zu\n", filled, covered,
               N_ENTRIES);
        return -1;
    }
    return 0;
}

static int report(void)
{
    int failed = 0;
    for (size_t i = 0; i < N_ENTRIES; i++) {
        struct entry *e = &entries[i];
        char how[96];
        if (!e->cases) fail(e, "no case ran");
        if (e->cases && !e->launches) fail(e, "no kernel was launched");
        if (e->tol_parts && e->exact_parts)
            snprintf(how, sizeof how, "exact + rel %-5g worst %.2g", e->tol, e->worst);
        else if (e->tol_parts)
            snprintf(how, sizeof how, "rel %-5g worst %.2g", e->tol, e->worst);
        else
            snprintf(how, sizeof how, "exact");
        printf("%-22s %2d cases %8zu values %4lu launches  %-32s %s\n", e->name, e->cases,
               e->values, e->launches, how, e->failed ? "FAILED" : "ok");
        if (e->failed) printf("    %s\n", e->first);
        failed += e->failed != 0;
    }
    printf("%d of %zu entries failed\n", failed, N_ENTRIES);
    return failed;
}

int main(void)
{
    struct vl_error err = {0};
    vl_nn_ctx_init(&cpu_ctx, 1);
    vl_nn_ctx_init(&dev_ctx, 1);
    C = cpu_ctx.backend;
    if (vl_cuda_nn_module.attach(&dev_ctx, 0, VL_CUDA_NN_PRECISION_FP32, DROPOUT_SEED, &err) != 0) {
        printf("attach: %s\n", err.msg);
        return 1;
    }
    G = dev_ctx.backend;
    int bad = check_coverage() != 0;
    elementwise();
    optimisers();
    sums();
    losses();
    pools();
    batchnorms();
    layernorms();
    softmax_and_gru();
    bad |= report() != 0;
    vl_cuda_nn_module.detach(&dev_ctx);
    vl_nn_ctx_free(&dev_ctx);
    vl_nn_ctx_free(&cpu_ctx);
    return bad;
}
