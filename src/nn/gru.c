/* gru.c - a single-layer, batch-first GRU with PyTorch's equations and
 * parameter layout (gates r, z, n stacked in that order):
 *   r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
 *   z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
 *   n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
 *   h' = (1 - z) * n + z * h
 * The input projections of all steps are one sgemm; each step then does one
 * sgemm for the recurrent projection and one cell kernel.  Backward runs
 * through every step (full BPTT) with the gates and projections kept from
 * forward. */
#include <math.h>
#include <string.h>

#include "nn/backend.h"
#include "nn/layers.h"

int vl_nn_gru_init(struct vl_nn_gru *l, struct vl_nn_params *reg, const char *name, int input_size,
                   int hidden_size, struct vl_rng *rng, struct vl_error *err)
{
    memset(l, 0, sizeof *l);
    if (input_size < 1 || hidden_size < 1)
        return vl_error_set(err, "gru %s: bad sizes %d, %d", name, input_size, hidden_size);
    l->input_size = input_size;
    l->hidden_size = hidden_size;
    int h3 = 3 * hidden_size, wih[2] = {h3, input_size}, whh[2] = {h3, hidden_size};
    if (!(l->weight_ih = vl_nn_params_add(reg, name, "weight_ih_l0", 2, wih, 1, 1, err)) ||
        !(l->weight_hh = vl_nn_params_add(reg, name, "weight_hh_l0", 2, whh, 1, 1, err)) ||
        !(l->bias_ih = vl_nn_params_add(reg, name, "bias_ih_l0", 1, &h3, 1, 0, err)) ||
        !(l->bias_hh = vl_nn_params_add(reg, name, "bias_hh_l0", 1, &h3, 1, 0, err)))
        return -1;
    float bound = 1.0f / sqrtf((float)hidden_size);
    vl_nn_init_uniform(&l->weight_ih->value, bound, rng);
    vl_nn_init_uniform(&l->weight_hh->value, bound, rng);
    vl_nn_init_uniform(&l->bias_ih->value, bound, rng);
    vl_nn_init_uniform(&l->bias_hh->value, bound, rng);
    return 0;
}

int vl_nn_gru_forward(struct vl_nn_ctx *ctx, struct vl_nn_gru *l, const struct vl_nn_tensor *x,
                      struct vl_nn_tensor **y, struct vl_error *err)
{
    char b[64];
    if (x->ndim != 3 || x->shape[2] != l->input_size)
        return vl_error_set(err, "gru: input %s is not [N, T, %d]", vl_nn_shape_str(x, b, sizeof b),
                            l->input_size);
    int n = x->shape[0], t = x->shape[1], hs = l->hidden_size, h3 = 3 * hs, in = l->input_size;
    int gshape[3] = {n, t, h3}, yshape[3] = {n, t, hs};
    if (vl_nn_tensor_resize_ctx(ctx, &l->gi, 3, gshape, err) < 0 ||
        vl_nn_tensor_resize_ctx(ctx, &l->gh, 3, gshape, err) < 0 ||
        vl_nn_tensor_resize_ctx(ctx, &l->gates, 3, gshape, err) < 0 ||
        vl_nn_tensor_resize_ctx(ctx, &l->y, 3, yshape, err) < 0)
        return -1;
    const struct vl_nn_backend *be = ctx->backend;
    be->copy(ctx, (size_t)n * t, (size_t)h3, l->bias_ih->value.data, 0, l->gi.data, (size_t)h3);
    be->gemm(ctx, 0, 1, n * t, h3, in, 1.0f, x->data, in, l->weight_ih->value.data, in, 1.0f,
             l->gi.data, h3);
    int ldg = t * h3, ldy = t * hs;
    for (int s = 0; s < t; s++) {
        float *gh = l->gh.data + (size_t)s * h3;
        const float *hp = s ? l->y.data + (size_t)(s - 1) * hs : NULL;
        be->copy(ctx, (size_t)n, (size_t)h3, l->bias_hh->value.data, 0, gh, (size_t)ldg);
        if (hp)
            be->gemm(ctx, 0, 1, n, h3, hs, 1.0f, hp, ldy, l->weight_hh->value.data, hs, 1.0f, gh,
                     ldg);
        be->gru_cell_forward(ctx, n, hs, l->gi.data + (size_t)s * h3, ldg, gh, ldg, hp, ldy,
                             l->gates.data + (size_t)s * h3, ldg, l->y.data + (size_t)s * hs, ldy);
    }
    l->x = x;
    *y = &l->y;
    return 0;
}

int vl_nn_gru_backward(struct vl_nn_ctx *ctx, struct vl_nn_gru *l, const struct vl_nn_tensor *dy,
                       struct vl_nn_tensor **dx, struct vl_error *err)
{
    if (!l->x) return vl_error_set(err, "gru: backward before forward");
    if (!vl_nn_tensor_same_shape(dy, &l->y))
        return vl_error_set(err, "gru: gradient shape differs from the output's");
    int n = l->x->shape[0], t = l->x->shape[1], hs = l->hidden_size, h3 = 3 * hs;
    int in = l->input_size, ldg = t * h3, ldy = t * hs;
    int hshape[3] = {2, n, hs};
    if (vl_nn_tensor_resize_ctx(ctx, &l->dgi, 3, l->gi.shape, err) < 0 ||
        vl_nn_tensor_resize_ctx(ctx, &l->dgh, 3, l->gh.shape, err) < 0 ||
        vl_nn_tensor_resize_ctx(ctx, &l->dh, 3, hshape, err) < 0)
        return -1;
    const struct vl_nn_backend *be = ctx->backend;
    be->fill(ctx, l->dh.size, 0.0f, l->dh.data);
    float *carry = l->dh.data, *cur = l->dh.data + (size_t)n * hs;
    for (int s = t - 1; s >= 0; s--) {
        /* cur = dy_s + the gradient carried back from step s + 1 */
        be->add(ctx, (size_t)n, (size_t)hs, dy->data + (size_t)s * hs, (size_t)ldy, carry,
                (size_t)hs, cur, (size_t)hs);
        const float *hp = s ? l->y.data + (size_t)(s - 1) * hs : NULL;
        float *dgi = l->dgi.data + (size_t)s * h3, *dgh = l->dgh.data + (size_t)s * h3;
        be->gru_cell_backward(ctx, n, hs, l->gh.data + (size_t)s * h3, ldg, hp, ldy,
                              l->gates.data + (size_t)s * h3, ldg, cur, dgi, ldg, dgh, ldg, carry);
        if (hp) {
            be->gemm(ctx, 0, 0, n, hs, h3, 1.0f, dgh, ldg, l->weight_hh->value.data, hs, 1.0f,
                     carry, hs);
            be->gemm(ctx, 1, 0, h3, hs, n, 1.0f, dgh, ldg, hp, ldy, 1.0f, l->weight_hh->grad.data,
                     hs);
        }
    }
    int rows = n * t;
    be->bias_grad(ctx, (size_t)rows, h3, (size_t)h3, l->dgi.data, l->bias_ih->grad.data);
    be->bias_grad(ctx, (size_t)rows, h3, (size_t)h3, l->dgh.data, l->bias_hh->grad.data);
    be->gemm(ctx, 1, 0, h3, in, rows, 1.0f, l->dgi.data, h3, l->x->data, in, 1.0f,
             l->weight_ih->grad.data, in);
    if (dx) {
        if (vl_nn_tensor_resize_ctx(ctx, &l->dx, 3, l->x->shape, err) < 0) return -1;
        be->gemm(ctx, 0, 0, rows, in, h3, 1.0f, l->dgi.data, h3, l->weight_ih->value.data, in, 0.0f,
                 l->dx.data, in);
        *dx = &l->dx;
    }
    return 0;
}

void vl_nn_gru_free(struct vl_nn_gru *l)
{
    struct vl_nn_tensor *ts[] = {&l->gi,  &l->gh,  &l->gates, &l->y,
                                 &l->dgi, &l->dgh, &l->dh,    &l->dx};
    for (size_t i = 0; i < sizeof ts / sizeof *ts; i++)
        vl_nn_tensor_free(ts[i]);
}
