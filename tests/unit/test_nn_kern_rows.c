/* The per-output bodies of src/nn/kern/pool.h and src/nn/kern/norm.h, which
 * the CUDA backend's kernels run one thread per value (src/cuda/nn/), on
 * the host against the CPU table's entries, bit for bit, on odd shapes:
 * max, average (padded, strided with gaps) and adaptive pooling forward
 * and, by gathering, backward; content-area pooling on ragged extents; the
 * element-wise halves of batch norm and layer norm (running statistics,
 * invstd, the normalisation, the input gradients) from statistics summed in
 * the CPU's order.  The device's sums run in a tree of their own, so only
 * their bodies can be held to the CPU's bits here. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/backend.h"
#include "nn/kern/norm.h"
#include "nn/kern/pool.h"
#include "test.h"

static struct vl_nn_ctx ctx;
static const struct vl_nn_backend *be;

#define SAME(a, b, n) (memcmp((a), (b), (n) * sizeof *(a)) == 0)

/* n values in [-s, s) from a fixed generator; when ties, rounded to halves
 * so that windows hold equal values (max pooling's first-of-equals). */
static void fill(float *x, size_t n, float s, uint64_t seed, int ties)
{
    struct vl_rng r;
    vl_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        x[i] = (float)vl_rng_range(&r, -s, s);
        if (ties) x[i] = floorf(x[i] * 2.0f) / 2.0f;
    }
}

static float *floats(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof *p);
    if (!p) abort();
    return p;
}

/* -- 2-D pooling -- */

struct pool_case {
    enum vl_nn_pool_kind kind;
    int n, c, h, w, kernel, stride, padding, oh, ow; /* oh, ow: adaptive only */
};

static const struct pool_case pool_cases[] = {
    {VL_NN_POOL_MAX, 1, 1, 1, 1, 1, 1, 0, 0, 0},
    {VL_NN_POOL_MAX, 2, 3, 7, 5, 3, 2, 1, 0, 0},
    {VL_NN_POOL_MAX, 1, 2, 9, 11, 2, 2, 0, 0, 0},
    {VL_NN_POOL_MAX, 1, 1, 8, 8, 3, 1, 1, 0, 0},
    {VL_NN_POOL_MAX, 3, 1, 6, 9, 4, 3, 2, 0, 0},
    {VL_NN_POOL_AVG, 2, 3, 7, 5, 3, 2, 1, 0, 0},
    {VL_NN_POOL_AVG, 1, 1, 5, 5, 2, 3, 1, 0, 0},
    {VL_NN_POOL_AVG, 1, 2, 11, 7, 5, 2, 2, 0, 0},
    {VL_NN_POOL_AVG, 1, 1, 1, 1, 1, 1, 0, 0, 0},
    {VL_NN_POOL_ADAPTIVE_AVG, 2, 3, 7, 5, 0, 0, 0, 3, 2},
    {VL_NN_POOL_ADAPTIVE_AVG, 1, 1, 5, 11, 0, 0, 0, 4, 7},
    {VL_NN_POOL_ADAPTIVE_AVG, 1, 2, 3, 3, 0, 0, 0, 5, 4},
    {VL_NN_POOL_ADAPTIVE_AVG, 1, 1, 9, 9, 0, 0, 0, 1, 1},
};

static void test_pool2d(void)
{
    for (size_t t = 0; t < sizeof pool_cases / sizeof *pool_cases; t++) {
        const struct pool_case *pc = &pool_cases[t];
        struct vl_nn_pool_geom g = {pc->kind,   pc->n,      pc->c,       pc->h,  pc->w,
                                    pc->kernel, pc->stride, pc->padding, pc->oh, pc->ow};
        if (pc->kind != VL_NN_POOL_ADAPTIVE_AVG) {
            g.oh = (g.h + 2 * g.padding - g.kernel) / g.stride + 1;
            g.ow = (g.w + 2 * g.padding - g.kernel) / g.stride + 1;
        }
        size_t planes = (size_t)g.n * g.c, in = planes * g.h * g.w, out = planes * g.oh * g.ow;
        float *x = floats(in), *y = floats(out), *yk = floats(out), *dy = floats(out);
        float *dx = floats(in), *dxk = floats(in);
        int *am = calloc(out, sizeof *am), *amk = calloc(out, sizeof *amk);
        if (!am || !amk) abort();
        fill(x, in, 3.0f, 100 + t, g.kind == VL_NN_POOL_MAX);
        if (g.kind == VL_NN_POOL_MAX && in > 4)
            x[in / 2] = NAN; /* a NaN wins its windows, as the CPU's */
        fill(dy, out, 1.0f, 200 + t, 0);

        be->pool2d_forward(&ctx, &g, x, y, am);
        for (size_t p = 0; p < planes; p++)
            for (int o = 0; o < g.oh * g.ow; o++)
                yk[p * g.oh * g.ow + o] = vl_nn_kern_pool_at(&g, x + p * g.h * g.w, o / g.ow,
                                                             o % g.ow, &amk[p * g.oh * g.ow + o]);
        CHECK(SAME(y, yk, out));
        if (g.kind == VL_NN_POOL_MAX) CHECK(SAME(am, amk, out));

        be->pool2d_backward(&ctx, &g, dy, am, dx);
        for (size_t p = 0; p < planes; p++)
            for (int e = 0; e < g.h * g.w; e++)
                dxk[p * g.h * g.w + e] = vl_nn_kern_pool_grad_at(
                    &g, dy + p * g.oh * g.ow, am + p * g.oh * g.ow, e / g.w, e % g.w);
        CHECK(SAME(dx, dxk, in));
        if (!SAME(dx, dxk, in) || !SAME(y, yk, out))
            fprintf(stderr, "pool case %zu differs (kind %d, %dx%d k%d s%d p%d)\n", t, g.kind, g.h,
                    g.w, g.kernel, g.stride, g.padding);
        free(x), free(y), free(yk), free(dy), free(dx), free(dxk), free(am), free(amk);
    }
}

/* -- content-area pooling -- */

struct area_case {
    int samples, frames, c, h, w, grid;
    int vh[3], vw[3];
};

static const struct area_case area_cases[] = {
    {2, 3, 2, 9, 7, 4, {9, 5}, {7, 3}},
    {1, 1, 1, 5, 5, 1, {5}, {5}},
    {3, 1, 3, 8, 11, 3, {8, 2, 7}, {11, 1, 6}},
    {2, 2, 1, 6, 6, 4, {2, 6}, {1, 5}},
    {1, 5, 2, 13, 3, 5, {13}, {3}},
};

static void test_area_pool(void)
{
    for (size_t t = 0; t < sizeof area_cases / sizeof *area_cases; t++) {
        const struct area_case *ac = &area_cases[t];
        struct vl_nn_area_geom g = {
            ac->samples * ac->frames, ac->c, ac->h, ac->w, ac->grid, ac->frames, ac->vh, ac->vw};
        size_t planes = (size_t)g.m * g.c, in = planes * g.h * g.w, out = planes * g.grid * g.grid;
        float *x = floats(in), *y = floats(out), *yk = floats(out), *dy = floats(out);
        float *dx = floats(in), *dxk = floats(in);
        fill(x, in, 2.0f, 300 + t, 0);
        fill(dy, out, 1.0f, 400 + t, 0);
        be->area_pool_forward(&ctx, &g, x, y);
        be->area_pool_backward(&ctx, &g, dy, dx);
        for (size_t p = 0; p < planes; p++) {
            int s = (int)(p / g.c) / g.frames;
            for (int o = 0; o < g.grid * g.grid; o++)
                yk[p * g.grid * g.grid + o] = vl_nn_kern_area_mean_at(
                    x + p * g.h * g.w, g.w, g.grid, g.vh[s], g.vw[s], o / g.grid, o % g.grid);
            for (int e = 0; e < g.h * g.w; e++)
                dxk[p * g.h * g.w + e] = vl_nn_kern_area_grad_at(
                    dy + p * g.grid * g.grid, g.grid, g.vh[s], g.vw[s], e / g.w, e % g.w);
        }
        CHECK(SAME(y, yk, out));
        CHECK(SAME(dx, dxk, in));
        free(x), free(y), free(yk), free(dy), free(dx), free(dxk);
    }
}

/* -- batch norm -- */

static const int bn_shapes[][3] = {{1, 1, 2}, {3, 5, 7}, {2, 3, 33}, {7, 2, 1}, {1, 4, 101}};

static void test_batchnorm(void)
{
    for (size_t t = 0; t < sizeof bn_shapes / sizeof *bn_shapes; t++)
        for (int training = 0; training <= 1; training++) {
            int n = bn_shapes[t][0], c = bn_shapes[t][1], s = bn_shapes[t][2];
            size_t total = (size_t)n * c * s, m = (size_t)n * s;
            float *x = floats(total), *dy = floats(total), *y = floats(total);
            float *yk = floats(total), *dx = floats(total), *dxk = floats(total);
            float gamma[8], beta[8], rm[8], rv[8], rmk[8], rvk[8], mean[8], invstd[8];
            float meank[8], invstdk[8], dg[8], db[8], dgk[8], dbk[8];
            fill(x, total, 2.0f, 500 + t, 0);
            fill(dy, total, 1.0f, 600 + t, 0);
            fill(gamma, (size_t)c, 1.5f, 700 + t, 0);
            fill(beta, (size_t)c, 0.5f, 800 + t, 0);
            for (int ch = 0; ch < c; ch++) {
                rm[ch] = rmk[ch] = 0.1f * ch;
                rv[ch] = rvk[ch] = 1.0f + 0.25f * ch;
                dg[ch] = dgk[ch] = 0.5f;
                db[ch] = dbk[ch] = -0.25f;
            }
            be->batchnorm_forward(&ctx, n, c, s, x, gamma, beta, rm, rv, 0.1f, 1e-5f, training, y,
                                  mean, invstd);
            be->batchnorm_backward(&ctx, n, c, s, x, gamma, mean, invstd, training, dy, dx, dg, db);
            for (int ch = 0; ch < c; ch++) {
                double mu, var, sum = 0.0, sq = 0.0;
                if (training) {
                    for (size_t k = 0; k < m; k++)
                        sum += x[((k / s) * c + ch) * s + k % s];
                    mu = sum / (double)m;
                    for (size_t k = 0; k < m; k++) {
                        double d = x[((k / s) * c + ch) * s + k % s] - mu;
                        sq += d * d;
                    }
                    var = sq / (double)m;
                    double unbiased = m > 1 ? sq / (double)(m - 1) : var;
                    rmk[ch] = vl_nn_kern_running(rmk[ch], 0.1f, mu);
                    rvk[ch] = vl_nn_kern_running(rvk[ch], 0.1f, unbiased);
                } else {
                    mu = rmk[ch];
                    var = rvk[ch];
                }
                meank[ch] = (float)mu;
                invstdk[ch] = vl_nn_kern_invstd(var, 1e-5f);
                double sdy = 0.0, sdyx = 0.0;
                for (size_t k = 0; k < m; k++) {
                    size_t at = ((k / s) * c + ch) * s + k % s;
                    yk[at] =
                        vl_nn_kern_bn_apply(x[at], meank[ch], gamma[ch] * invstdk[ch], beta[ch]);
                    sdy += dy[at];
                    sdyx += vl_nn_kern_dy_xhat(dy[at],
                                               vl_nn_kern_norm_xhat(x[at], meank[ch], invstdk[ch]));
                }
                dgk[ch] += (float)sdyx;
                dbk[ch] += (float)sdy;
                float a = training ? (float)(sdy / (double)m) : 0.0f;
                float b = training ? (float)(sdyx / (double)m) : 0.0f;
                for (size_t k = 0; k < m; k++) {
                    size_t at = ((k / s) * c + ch) * s + k % s;
                    dxk[at] = vl_nn_kern_bn_grad(gamma[ch] * invstdk[ch], dy[at], a, x[at],
                                                 meank[ch], invstdk[ch], b);
                }
            }
            size_t cc = (size_t)c;
            CHECK(SAME(rm, rmk, cc) && SAME(rv, rvk, cc));
            CHECK(SAME(mean, meank, cc) && SAME(invstd, invstdk, cc));
            CHECK(SAME(y, yk, total));
            CHECK(SAME(dg, dgk, cc) && SAME(db, dbk, cc));
            CHECK(SAME(dx, dxk, total));
            free(x), free(dy), free(y), free(yk), free(dx), free(dxk);
        }
}

/* -- layer norm -- */

static const int ln_shapes[][2] = {{1, 1}, {3, 7}, {5, 33}, {2, 101}};

static void test_layernorm(void)
{
    for (size_t t = 0; t < sizeof ln_shapes / sizeof *ln_shapes; t++) {
        size_t rows = (size_t)ln_shapes[t][0];
        int dim = ln_shapes[t][1];
        size_t total = rows * dim, d = (size_t)dim;
        float *x = floats(total), *dy = floats(total), *y = floats(total), *yk = floats(total);
        float *dx = floats(total), *dxk = floats(total), *gamma = floats(d), *beta = floats(d);
        float *dg = floats(d), *db = floats(d), *dgk = floats(d), *dbk = floats(d);
        float mean[8], invstd[8], meank[8], invstdk[8];
        fill(x, total, 2.0f, 900 + t, 0);
        fill(dy, total, 1.0f, 1000 + t, 0);
        fill(gamma, d, 1.5f, 1100 + t, 0);
        fill(beta, d, 0.5f, 1200 + t, 0);
        be->layernorm_forward(&ctx, rows, dim, x, gamma, beta, 1e-5f, y, mean, invstd);
        be->layernorm_backward(&ctx, rows, dim, x, gamma, mean, invstd, dy, dx, dg, db);
        for (size_t r = 0; r < rows; r++) {
            const float *p = x + r * d, *dr = dy + r * d;
            double sum = 0.0, sq = 0.0;
            for (int i = 0; i < dim; i++)
                sum += p[i];
            double mu = sum / dim;
            for (int i = 0; i < dim; i++)
                sq += (p[i] - mu) * (p[i] - mu);
            meank[r] = (float)mu;
            invstdk[r] = vl_nn_kern_invstd(sq / dim, 1e-5f);
            double sg = 0.0, sgx = 0.0;
            for (int i = 0; i < dim; i++) {
                yk[r * d + i] = vl_nn_kern_ln_apply(p[i], meank[r], invstdk[r], gamma[i], beta[i]);
                float xh = vl_nn_kern_norm_xhat(p[i], meank[r], invstdk[r]), g = dr[i] * gamma[i];
                dgk[i] += dr[i] * xh;
                dbk[i] += dr[i];
                sg += g;
                sgx += vl_nn_kern_dy_xhat(g, xh);
            }
            float a = (float)(sg / dim), b = (float)(sgx / dim);
            for (int i = 0; i < dim; i++)
                dxk[r * d + i] =
                    vl_nn_kern_ln_grad(invstdk[r], dr[i], gamma[i], a,
                                       vl_nn_kern_norm_xhat(p[i], meank[r], invstdk[r]), b);
        }
        CHECK(SAME(mean, meank, rows) && SAME(invstd, invstdk, rows));
        CHECK(SAME(y, yk, total));
        CHECK(SAME(dg, dgk, d) && SAME(db, dbk, d));
        CHECK(SAME(dx, dxk, total));
        free(x), free(dy), free(y), free(yk), free(dx), free(dxk), free(gamma), free(beta);
        free(dg), free(db), free(dgk), free(dbk);
    }
}

int main(void)
{
    vl_nn_ctx_init(&ctx, 1);
    be = ctx.backend;
    test_pool2d();
    test_area_pool();
    test_batchnorm();
    test_layernorm();
    vl_nn_ctx_free(&ctx);
    TEST_DONE();
}
