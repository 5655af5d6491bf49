/* The element-wise bodies that CUDA kernels share with the host
 * (the headers of src/nn/kern) against the CPU backend's table entries and against the
 * loops the layers ran before those entries existed (written out here as
 * the reference), bit for bit, on odd sizes (1, 7, 33, 1001 values; rows of
 * 1, 3 and 11 classes).  Also the counter-based dropout deviate (range,
 * repeatability, spread) and the CPU table's memory entries. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/backend.h"
#include "nn/kern/act.h"
#include "nn/kern/dropout.h"
#include "nn/kern/loss.h"
#include "nn/kern/optim.h"
#include "test.h"

static const size_t sizes[] = {1, 7, 33, 1001};
#define NSIZES (sizeof sizes / sizeof *sizes)
#define MAXN 1001

static struct vl_nn_ctx ctx;
static const struct vl_nn_backend *be;

/* n values in [-s, s), from a fixed generator, with a few exact zeros and
 * values near zero (ReLU's and the hinge's kinks). */
static void fill(float *x, size_t n, float s, uint64_t seed)
{
    struct vl_rng r;
    vl_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)vl_rng_range(&r, -s, s);
    if (n > 3) x[3] = 0.0f;
    if (n > 5) x[5] = 1e-30f;
}

#define SAME(a, b, n) (memcmp((a), (b), (n) * sizeof *(a)) == 0)

static void test_activations(void)
{
    float x[MAXN], dy[MAXN], ref[MAXN], kern[MAXN], out[MAXN];
    for (size_t s = 0; s < NSIZES; s++) {
        size_t n = sizes[s];
        fill(x, n, 4.0f, 1 + s);
        fill(dy, n, 1.0f, 11 + s);
        /* GELU forward: the loop cpu.c ran before act.h */
        for (size_t i = 0; i < n; i++) {
            ref[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
            kern[i] = vl_nn_kern_gelu(x[i]);
        }
        be->activation_forward(&ctx, VL_NN_GELU, n, x, out);
        CHECK(SAME(ref, kern, n) && SAME(ref, out, n));
        for (size_t i = 0; i < n; i++) {
            float cdf = 0.5f * (1.0f + erff(x[i] * 0.70710678118654752f));
            float pdf = 0.39894228040143268f * expf(-0.5f * x[i] * x[i]);
            ref[i] = dy[i] * (cdf + x[i] * pdf);
            kern[i] = dy[i] * vl_nn_kern_gelu_grad(x[i]);
        }
        be->activation_backward(&ctx, VL_NN_GELU, n, x, dy, out);
        CHECK(SAME(ref, kern, n) && SAME(ref, out, n));
        /* GELU's derivative against a central difference */
        for (size_t i = 0; i < n; i++) {
            double h = 1e-3, num = ((double)vl_nn_kern_gelu((float)(x[i] + h)) -
                                    vl_nn_kern_gelu((float)(x[i] - h))) /
                                   (2 * h);
            CHECK(fabs(num - vl_nn_kern_gelu_grad(x[i])) < 2e-3);
        }
        for (size_t i = 0; i < n; i++) {
            ref[i] = x[i] > 0.0f ? x[i] : 0.0f;
            kern[i] = vl_nn_kern_relu(x[i]);
        }
        be->activation_forward(&ctx, VL_NN_RELU, n, x, out);
        CHECK(SAME(ref, kern, n) && SAME(ref, out, n));
        for (size_t i = 0; i < n; i++) {
            float t = tanhf(x[i]);
            ref[i] = dy[i] * (1.0f - t * t);
            kern[i] = vl_nn_kern_tanh_backward(x[i], dy[i]);
        }
        be->activation_backward(&ctx, VL_NN_TANH, n, x, dy, out);
        CHECK(SAME(ref, kern, n) && SAME(ref, out, n));
    }
}

static float ref_sigmoid(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

static void test_gru_cell(void)
{
    enum { ROWS = 3, HS = 11, H3 = 3 * HS };
    float gi[ROWS * H3], gh[ROWS * H3], hp[ROWS * HS], dh[ROWS * HS];
    float gates[ROWS * H3], h[ROWS * HS], rg[ROWS * H3], rh[ROWS * HS];
    float dgi[ROWS * H3], dgh[ROWS * H3], dprev[ROWS * HS];
    fill(gi, ROWS * H3, 2.0f, 21);
    fill(gh, ROWS * H3, 2.0f, 22);
    fill(hp, ROWS * HS, 1.0f, 23);
    fill(dh, ROWS * HS, 1.0f, 24);
    be->gru_cell_forward(&ctx, ROWS, HS, gi, H3, gh, H3, hp, HS, gates, H3, h, HS);
    for (int b = 0; b < ROWS; b++)
        for (int j = 0; j < HS; j++) { /* gru.c's cell before act.h */
            const float *i_ = gi + b * H3, *h_ = gh + b * H3;
            float r = ref_sigmoid(i_[j] + h_[j]);
            float z = ref_sigmoid(i_[HS + j] + h_[HS + j]);
            float nn = tanhf(i_[2 * HS + j] + r * h_[2 * HS + j]);
            rg[b * H3 + j] = r, rg[b * H3 + HS + j] = z, rg[b * H3 + 2 * HS + j] = nn;
            rh[b * HS + j] = (1.0f - z) * nn + z * hp[b * HS + j];
        }
    CHECK(SAME(gates, rg, (size_t)ROWS * H3) && SAME(h, rh, (size_t)ROWS * HS));
    be->gru_cell_backward(&ctx, ROWS, HS, gh, H3, hp, HS, gates, H3, dh, dgi, H3, dgh, H3, dprev);
    int same = 1;
    for (int b = 0; b < ROWS; b++)
        for (int j = 0; j < HS; j++) {
            const float *g = gates + b * H3;
            float r = g[j], z = g[HS + j], nn = g[2 * HS + j], d = dh[b * HS + j];
            float dn = d * (1.0f - z) * (1.0f - nn * nn);
            float dz = d * (hp[b * HS + j] - nn) * z * (1.0f - z);
            float dr = dn * gh[b * H3 + 2 * HS + j] * r * (1.0f - r);
            same &= dgi[b * H3 + j] == dr && dgi[b * H3 + HS + j] == dz &&
                    dgi[b * H3 + 2 * HS + j] == dn && dgh[b * H3 + 2 * HS + j] == dn * r &&
                    dprev[b * HS + j] == d * z;
        }
    CHECK(same);
}

static void test_sgd(void)
{
    float w0[MAXN], g[MAXN], b0[MAXN], wr[MAXN], br[MAXN], wk[MAXN], bk[MAXN], wb[MAXN], bb[MAXN];
    for (size_t s = 0; s < NSIZES; s++)
        for (int variant = 0; variant < 4; variant++) { /* plain, momentum, nesterov, first */
            size_t n = sizes[s];
            float lr = 0.05f, wd = 0.01f, mu = variant ? 0.9f : 0.0f;
            int nesterov = variant == 2, first = variant == 3;
            fill(w0, n, 1.0f, 31 + s);
            fill(g, n, 1.0f, 41 + s);
            fill(b0, n, 0.5f, 51 + s);
            memcpy(wr, w0, n * sizeof *w0), memcpy(br, b0, n * sizeof *b0);
            for (size_t i = 0; i < n; i++) { /* optim.c's sgd_step before kern/optim.h */
                float d = g[i] + wd * wr[i];
                if (mu > 0.0f) {
                    br[i] = first ? d : mu * br[i] + d;
                    d = nesterov ? d + mu * br[i] : br[i];
                }
                wr[i] -= lr * d;
            }
            memcpy(wk, w0, n * sizeof *w0), memcpy(bk, b0, n * sizeof *b0);
            for (size_t i = 0; i < n; i++)
                wk[i] = vl_nn_kern_sgd(wk[i], g[i], &bk[i], lr, wd, mu, nesterov, first);
            memcpy(wb, w0, n * sizeof *w0), memcpy(bb, b0, n * sizeof *b0);
            be->sgd_step(&ctx, n, wb, g, mu > 0.0f ? bb : NULL, lr, wd, mu, nesterov, first);
            CHECK(SAME(wr, wk, n) && SAME(wr, wb, n));
            CHECK(SAME(br, bk, n) && SAME(br, bb, n));
        }
}

static void test_adamw(void)
{
    float w0[MAXN], g[MAXN], wr[MAXN], mr[MAXN], vr[MAXN], wk[MAXN], mk[MAXN], vk[MAXN], wb[MAXN],
        mb[MAXN], vb[MAXN];
    for (size_t s = 0; s < NSIZES; s++) {
        size_t n = sizes[s];
        float lr = 1e-3f, wd = 0.01f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
        fill(w0, n, 1.0f, 61 + s);
        memcpy(wr, w0, n * sizeof *w0), memcpy(wk, w0, n * sizeof *w0);
        memcpy(wb, w0, n * sizeof *w0);
        memset(mr, 0, sizeof mr), memset(vr, 0, sizeof vr), memset(mk, 0, sizeof mk);
        memset(vk, 0, sizeof vk), memset(mb, 0, sizeof mb), memset(vb, 0, sizeof vb);
        for (long step = 1; step <= 3; step++) { /* three steps: the moments carry over */
            fill(g, n, 1.0f, 71 + s * 8 + (uint64_t)step);
            double bc1 = 1.0 - pow(b1, (double)step), bc2 = 1.0 - pow(b2, (double)step);
            float step_size = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2);
            for (size_t i = 0; i < n; i++) { /* optim.c's adamw_step before kern/optim.h */
                wr[i] -= lr * wd * wr[i];
                mr[i] = b1 * mr[i] + (1.0f - b1) * g[i];
                vr[i] = b2 * vr[i] + (1.0f - b2) * g[i] * g[i];
                wr[i] -= step_size * mr[i] / (sqrtf(vr[i]) / bc2_sqrt + eps);
            }
            for (size_t i = 0; i < n; i++)
                wk[i] = vl_nn_kern_adamw(wk[i], g[i], &mk[i], &vk[i], lr, wd, b1, b2, eps,
                                         step_size, bc2_sqrt);
            be->adamw_step(&ctx, n, wb, g, mb, vb, lr, wd, b1, b2, eps, step_size, bc2_sqrt);
        }
        CHECK(SAME(wr, wk, n) && SAME(wr, wb, n));
        CHECK(SAME(mr, mk, n) && SAME(mr, mb, n) && SAME(vr, vk, n) && SAME(vr, vb, n));
    }
}

/* The row's largest value into *mx; returns sum exp(row - mx) (loss.c's
 * steps before kern/loss.h). */
static double ref_max_sumexp(const float *row, int c, float *mx)
{
    *mx = row[0];
    for (int j = 1; j < c; j++)
        if (row[j] > *mx) *mx = row[j];
    double sum = 0.0;
    for (int j = 0; j < c; j++)
        sum += exp((double)row[j] - *mx);
    return sum;
}

/* loss.c's cross-entropy before kern/loss.h. */
static float ref_cross_entropy(int n, int c, const float *x, const int *y, const float *cw,
                               float *d)
{
    double total = 0.0, wsum = 0.0;
    float mx;
    for (int i = 0; i < n; i++) {
        const float *row = x + (size_t)i * c;
        double w = cw ? cw[y[i]] : 1.0;
        double sum = ref_max_sumexp(row, c, &mx);
        total += w * (mx + log(sum) - row[y[i]]);
        wsum += w;
    }
    for (int i = 0; i < n; i++) {
        const float *row = x + (size_t)i * c;
        double scale = wsum > 0.0 ? (cw ? cw[y[i]] : 1.0) / wsum : 0.0;
        double sum = ref_max_sumexp(row, c, &mx);
        for (int j = 0; j < c; j++)
            d[(size_t)i * c + j] = (float)(scale * (exp((double)row[j] - mx) / sum - (j == y[i])));
    }
    return wsum > 0.0 ? (float)(total / wsum) : 0.0f;
}

static void test_losses(void)
{
    static const int classes[] = {1, 3, 11};
    enum { N = 33, MAXC = 11 };
    float x[N * MAXC], dref[N * MAXC], dout[N * MAXC], cw[MAXC];
    int y[N];
    for (size_t k = 0; k < sizeof classes / sizeof *classes; k++) {
        int c = classes[k];
        fill(x, (size_t)N * c, 3.0f, 81 + k);
        fill(cw, (size_t)c, 1.0f, 91 + k);
        for (int j = 0; j < c; j++)
            cw[j] = 0.5f + fabsf(cw[j]);
        for (int i = 0; i < N; i++)
            y[i] = (i * 7 + 3) % c;
        for (int weighted = 0; weighted < 2; weighted++) {
            const float *w = weighted ? cw : NULL;
            float lref = ref_cross_entropy(N, c, x, y, w, dref), lout = -1.0f;
            be->cross_entropy(&ctx, N, c, x, y, w, &lout, dout);
            CHECK(lref == lout && SAME(dref, dout, (size_t)N * c));
            /* multiclass hinge, the loop of loss.c before kern/loss.h */
            double total = 0.0;
            memset(dref, 0, sizeof dref);
            float margin = 1.0f;
            for (int i = 0; i < N; i++) {
                const float *row = x + (size_t)i * c;
                double scale = (w ? w[y[i]] : 1.0) / ((double)c * N);
                for (int j = 0; j < c; j++) {
                    if (j == y[i]) continue;
                    double m = (double)margin - row[y[i]] + row[j];
                    if (m <= 0.0) continue;
                    total += scale * m;
                    dref[(size_t)i * c + j] += (float)scale;
                    dref[(size_t)i * c + y[i]] -= (float)scale;
                }
            }
            memset(dout, 0x7f, sizeof dout); /* the entry must clear what it does not set */
            be->hinge_loss(&ctx, N, c, x, y, w, margin, &lout, dout);
            CHECK((float)total == lout && SAME(dref, dout, (size_t)N * c));
        }
        /* one-vs-rest squared hinge, trainer.c's loop before kern/loss.h */
        double total = 0.0;
        for (int i = 0; i < N; i++)
            for (int j = 0; j < c; j++) {
                double yy = j == y[i] ? 1.0 : -1.0, m = 1.0 - yy * x[(size_t)i * c + j];
                total += m > 0 ? m * m : 0;
                dref[(size_t)i * c + j] = m > 0 ? (float)(-2.0 * yy * m / N) : 0;
            }
        float lout = -1.0f;
        be->squared_hinge_ovr(&ctx, N, c, x, y, &lout, dout);
        CHECK((float)(total / N) == lout && SAME(dref, dout, (size_t)N * c));
        /* a row function and its batch agree on a single row */
        double one = 0.0;
        vl_nn_kern_sq_hinge_row(x, c, y[0], 1, &one, NULL);
        be->squared_hinge_ovr(&ctx, 1, c, x, y, &lout, NULL);
        CHECK((float)one == lout);
    }
}

static void test_dropout(void)
{
    float x[MAXN], mask[MAXN], y[MAXN];
    for (size_t s = 0; s < NSIZES; s++) {
        size_t n = sizes[s];
        float p = 0.3f, keep = 1.0f / (1.0f - p);
        fill(x, n, 1.0f, 101 + s);
        struct vl_rng r;
        vl_rng_seed(&r, 7 + s);
        ctx.rng = r;
        be->dropout_forward(&ctx, n, p, x, mask, y);
        int same = 1; /* the CPU's masks are pool.c's sequence: one deviate per value, in order */
        for (size_t i = 0; i < n; i++) {
            double u = vl_rng_uniform(&r);
            float m = u < p ? 0.0f : keep;
            same &= mask[i] == m && vl_nn_kern_dropout_mask(u, p, keep) == m && y[i] == x[i] * m;
        }
        CHECK(same);
        CHECK(memcmp(&r, &ctx.rng, sizeof r) == 0); /* exactly n deviates drawn */
    }
    CHECK(vl_nn_kern_dropout_mask(0.29, 0.3f, 2.0f) == 0.0f);
    CHECK(vl_nn_kern_dropout_mask(0.31, 0.3f, 2.0f) == 2.0f);
    /* the device's deviate: in [0, 1), a function of (seed, counter), spread evenly */
    double sum = 0.0;
    int low = 0, repeats = 1, differs = 0;
    for (uint64_t i = 0; i < 100000; i++) {
        double u = vl_nn_kern_uniform_at(42, i);
        CHECK(u >= 0.0 && u < 1.0);
        sum += u;
        low += u < 0.3;
        repeats &= u == vl_nn_kern_uniform_at(42, i);
        differs += u != vl_nn_kern_uniform_at(43, i);
    }
    CHECK(fabs(sum / 100000 - 0.5) < 0.01 && abs(low - 30000) < 1000);
    CHECK(repeats && differs > 99990);
}

static void test_reductions(void)
{
    enum { ROWS = 33, COLS = 7, LD = 9 };
    float dy[ROWS * LD], db[COLS], ref[COLS], y[ROWS * LD], bias[COLS];
    fill(dy, ROWS * LD, 1.0f, 111);
    fill(db, COLS, 1.0f, 112);
    memcpy(ref, db, sizeof db);
    for (int o = 0; o < COLS; o++) { /* linear.c's bias sum before the entry */
        double s = 0.0;
        for (int r = 0; r < ROWS; r++)
            s += dy[(size_t)r * LD + o];
        ref[o] += (float)s;
    }
    be->bias_grad(&ctx, ROWS, COLS, LD, dy, db);
    CHECK(SAME(ref, db, COLS));
    fill(bias, COLS, 1.0f, 113);
    memset(y, 0, sizeof y);
    be->copy(&ctx, ROWS, COLS, bias, 0, y, LD); /* a bias broadcast */
    CHECK(y[(ROWS - 1) * LD + COLS - 1] == bias[COLS - 1] && y[LD - 1] == 0.0f);
    CHECK(memcmp(y + 5 * LD, bias, sizeof bias) == 0);
    /* standardisation, four lanes at a time and the rest alone: rows of 1, 7 and 33 values */
    for (size_t k = 0; k < 3; k++) {
        int d = (int)sizes[k];
        float x[3 * 33], mean[33], sc[33], got[3 * 33];
        fill(x, 3 * (size_t)d, 5.0f, 141 + k), fill(mean, (size_t)d, 1.0f, 151 + k);
        fill(sc, (size_t)d, 1.0f, 161 + k);
        for (int j = 0; j < d; j++)
            sc[j] = 0.25f + fabsf(sc[j]);
        be->standardize(&ctx, 3, d, x, mean, sc, got);
        int same = 1;
        for (int i = 0; i < 3 * d; i++)
            same &= got[i] == (x[i] - mean[i % d]) / sc[i % d];
        CHECK(same);
    }
    double acc = 1.0, want = 1.0;
    for (size_t i = 0; i < ROWS * LD; i++)
        want += (double)dy[i] * dy[i];
    be->sum_squares(&ctx, ROWS * LD, dy, &acc);
    CHECK(acc == want);
}

static void test_layout(void)
{
    /* [2, 3, 5, 7, 1] and [1, 7, 1, 3, 11]: axes 1 and 3 exchanged, against tensor.c's
     * loop before the swap_axes entry */
    static const size_t dims[][5] = {{2, 3, 5, 7, 1}, {1, 7, 1, 3, 11}};
    float src[MAXN], want[MAXN], got[MAXN];
    for (size_t k = 0; k < 2; k++) {
        size_t outer = dims[k][0], na = dims[k][1], mid = dims[k][2], nb = dims[k][3],
               inner = dims[k][4];
        fill(src, outer * na * mid * nb * inner, 1.0f, 121 + k);
        for (size_t o = 0; o < outer; o++)
            for (size_t i = 0; i < na; i++)
                for (size_t m = 0; m < mid; m++)
                    for (size_t j = 0; j < nb; j++)
                        memcpy(want + (((o * nb + j) * mid + m) * na + i) * inner,
                               src + (((o * na + i) * mid + m) * nb + j) * inner,
                               inner * sizeof *src);
        be->swap_axes(&ctx, outer, na, mid, nb, inner, src, got);
        CHECK(SAME(want, got, outer * na * mid * nb * inner));
    }
    /* strided rows: row 2 of every [A, L, E] block (the ViT-GRU's last token) */
    enum { A = 3, L = 5, E = 7 };
    float tokens[A * L * E], pick[A * E];
    fill(tokens, A * L * E, 1.0f, 131);
    be->copy(&ctx, A, E, tokens + 2 * E, L * E, pick, E);
    CHECK(memcmp(pick + E, tokens + (L + 2) * E, E * sizeof *pick) == 0);
    be->fill(&ctx, 7, -0.0f, got);
    CHECK(got[6] == 0.0f && signbit(got[6]));
}

static void test_memory(void)
{
    float host[7] = {1, 2, 3, 4, 5, 6, 7}, back[7] = {0};
    float *dev = be->alloc(&ctx, sizeof host);
    CHECK(dev != NULL);
    be->upload(&ctx, dev, host, sizeof host);
    be->sync(&ctx);
    be->download(&ctx, back, dev, sizeof host);
    CHECK(SAME(host, back, 7));
    be->free(&ctx, dev);
    be->free(&ctx, NULL);
    /* a tensor knows its space; a view keeps it; tensor.c grows host tensors only */
    struct vl_nn_tensor t, v;
    struct vl_error err;
    int shape[2] = {2, 3}, six = 6, big = 64;
    vl_nn_tensor_init(&t);
    CHECK(t.mem == VL_NN_MEM_HOST);
    CHECK(vl_nn_tensor_resize(&t, 2, shape, &err) == 0);
    t.mem = VL_NN_MEM_DEVICE; /* as a device backend would mark a tensor it placed */
    v = vl_nn_tensor_view(&t, 1, &six);
    CHECK(v.mem == VL_NN_MEM_DEVICE);
    CHECK(vl_nn_tensor_resize(&t, 1, &six, &err) == 0); /* within capacity */
    CHECK(vl_nn_tensor_resize(&t, 1, &big, &err) < 0);
    CHECK_CONTAINS(err.msg, "device tensor");
    t.mem = VL_NN_MEM_HOST;
    vl_nn_tensor_free(&t);
}

int main(void)
{
    vl_nn_ctx_init(&ctx, 1);
    be = ctx.backend;
    test_activations();
    test_gru_cell();
    test_sgd();
    test_adamw();
    test_losses();
    test_dropout();
    test_reductions();
    test_layout();
    test_memory();
    vl_nn_ctx_free(&ctx);
    TEST_DONE();
}
