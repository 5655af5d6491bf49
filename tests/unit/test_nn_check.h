/* test_nn_check.h - the finite-difference gradient check shared by the
 * neural-network tests.
 *
 * A layer y = f(x; params) is checked through the scalar L = sum(r * y) with
 * a fixed random r: backward from dy = r gives dL/dx and dL/dparams, which
 * must match central differences (L(v + h) - L(v - h)) / 2h for every
 * element of x and of every trainable parameter.  The layers compute in
 * float32 and L is summed in double, so the tolerance is
 * |analytic - numeric| <= atol + rtol * max(|analytic|, |numeric|), with
 * h = 1e-2, rtol = 2e-3, atol = 2e-4 unless a test states otherwise: the
 * float32 rounding of L, divided by the step, is about 1e-5, and the
 * truncation error of the central difference, h^2 f''' / 6, about 1e-5 for
 * these smooth layers; the worst case observed is under a fifth of the
 * tolerance.  Inputs keep clear of kinks (ReLU at 0, max-pool ties, hinge
 * margins) by more than h. */
#ifndef VL_TEST_NN_CHECK_H
#define VL_TEST_NN_CHECK_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/layers.h"
#include "test.h"

struct gc_case {
    const char *name;
    /* forward and backward of the layer under test on state */
    int (*forward)(struct vl_nn_ctx *ctx, void *state, const struct vl_nn_tensor *x,
                   struct vl_nn_tensor **y, struct vl_error *err);
    int (*backward)(struct vl_nn_ctx *ctx, void *state, const struct vl_nn_tensor *dy,
                    struct vl_nn_tensor **dx, struct vl_error *err);
    void *state;
    struct vl_nn_params *params; /* may be NULL */
    struct vl_nn_tensor *x;
    double h, rtol, atol; /* 0: the defaults above */
};

/* A case for the layer functions fw_<kind> and bw_<kind> of the test file. */
#define GC_CASE(nm, kind, st, pr, xx)                                                              \
    ((struct gc_case){.name = (nm),                                                                \
                      .forward = fw_##kind,                                                        \
                      .backward = bw_##kind,                                                       \
                      .state = (st),                                                               \
                      .params = (pr),                                                              \
                      .x = (xx)})

/* Fills t with uniform values in [lo, hi) from seed. */
static void gc_fill(struct vl_nn_tensor *t, double lo, double hi, uint64_t seed)
{
    struct vl_rng r;
    vl_rng_seed(&r, seed);
    for (size_t i = 0; i < t->size; i++)
        t->data[i] = (float)vl_rng_range(&r, lo, hi);
}

static double gc_loss(struct vl_nn_ctx *ctx, struct gc_case *c, const struct vl_nn_tensor *r)
{
    struct vl_error err;
    struct vl_nn_tensor *y;
    vl_rng_seed(&ctx->rng, 4242); /* dropout draws the same mask every time */
    if (c->forward(ctx, c->state, c->x, &y, &err) < 0) {
        fprintf(stderr, "%s: forward: %s\n", c->name, err.msg);
        return NAN;
    }
    double s = 0.0;
    for (size_t i = 0; i < y->size; i++)
        s += (double)r->data[i] * y->data[i];
    return s;
}

/* Compares analytic against numeric for every element of v; returns the
 * number of mismatches (and prints the first few). */
static int gc_compare(struct vl_nn_ctx *ctx, struct gc_case *c, const struct vl_nn_tensor *r,
                      float *v, size_t n, const float *analytic, const char *what)
{
    double h = c->h > 0 ? c->h : 1e-2, rtol = c->rtol > 0 ? c->rtol : 2e-3;
    double atol = c->atol > 0 ? c->atol : 2e-4, worst = 0.0;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        float keep = v[i];
        v[i] = (float)(keep + h);
        double step = (double)v[i];
        double lp = gc_loss(ctx, c, r);
        v[i] = (float)(keep - h);
        step -= (double)v[i];
        double lm = gc_loss(ctx, c, r);
        v[i] = keep;
        double num = (lp - lm) / step, ana = analytic[i];
        double diff = fabs(num - ana), tol = atol + rtol * fmax(fabs(num), fabs(ana));
        if (diff / tol > worst) worst = diff / tol;
        if (!(diff <= tol)) {
            if (bad < 5)
                fprintf(stderr, "%s: d/d%s[%zu]: analytic %.6g, numeric %.6g\n", c->name, what, i,
                        ana, num);
            bad++;
        }
    }
    printf("%-28s d/d%-24s %5zu values, worst error %.3f of tolerance\n", c->name, what, n, worst);
    return bad;
}

/* Runs the check on x and every trainable parameter; returns 0 when all match. */
static int gradcheck(struct vl_nn_ctx *ctx, struct gc_case *c)
{
    struct vl_error err;
    struct vl_nn_tensor *y, *dx = NULL, r, gx;
    vl_nn_tensor_init(&r);
    vl_nn_tensor_init(&gx);
    vl_rng_seed(&ctx->rng, 4242);
    if (c->forward(ctx, c->state, c->x, &y, &err) < 0) {
        fprintf(stderr, "%s: forward: %s\n", c->name, err.msg);
        return 1;
    }
    vl_nn_tensor_resize(&r, y->ndim, y->shape, &err);
    gc_fill(&r, -1.0, 1.0, 77);
    if (c->params) vl_nn_params_zero_grad(c->params);
    if (c->backward(ctx, c->state, &r, &dx, &err) < 0) {
        fprintf(stderr, "%s: backward: %s\n", c->name, err.msg);
        return 1;
    }
    vl_nn_tensor_copy(&gx, dx, &err);
    int bad = 0;
    if (gx.size != c->x->size) {
        fprintf(stderr, "%s: input gradient has the wrong size\n", c->name);
        bad++;
    } else {
        bad += gc_compare(ctx, c, &r, c->x->data, c->x->size, gx.data, "x");
    }
    for (size_t i = 0; c->params && i < c->params->count; i++) {
        struct vl_nn_param *p = c->params->items[i];
        if (!p->trainable) continue;
        struct vl_nn_tensor g;
        vl_nn_tensor_init(&g);
        vl_nn_tensor_copy(&g, &p->grad, &err);
        bad += gc_compare(ctx, c, &r, p->value.data, p->value.size, g.data, p->name);
        vl_nn_tensor_free(&g);
    }
    vl_nn_tensor_free(&r);
    vl_nn_tensor_free(&gx);
    return bad;
}

#endif
