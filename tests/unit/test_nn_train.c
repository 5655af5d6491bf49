/* End-to-end behaviour of the neural-network core: a tiny MLP learns XOR;
 * two training runs from one seed give the same bits (and another seed does
 * not); batch norm's running statistics and its eval mode follow PyTorch;
 * tensors reuse their buffers; the registry refuses duplicate names. */
#include <math.h>

#include "nn/layers.h"
#include "nn/optim.h"
#include "test.h"

static struct vl_error err;

static void test_xor(void)
{
    struct vl_nn_ctx ctx;
    struct vl_nn_params reg;
    struct vl_rng rng;
    struct vl_nn_linear fc1, fc2;
    struct vl_nn_activation act;
    struct vl_nn_optim opt;
    struct vl_nn_tensor x, dlogits, *h, *y, *d;
    static const float in[8] = {0, 0, 0, 1, 1, 0, 1, 1};
    static const int labels[4] = {0, 1, 1, 0};
    int shape[2] = {4, 2};
    vl_nn_ctx_init(&ctx, 1);
    vl_nn_params_init(&reg);
    vl_rng_seed(&rng, 11);
    vl_nn_tensor_init(&x);
    vl_nn_tensor_init(&dlogits);
    vl_nn_tensor_resize(&x, 2, shape, &err);
    memcpy(x.data, in, sizeof in);
    CHECK(vl_nn_linear_init(&fc1, &reg, "fc1", 2, 16, 1, &rng, &err) == 0);
    CHECK(vl_nn_linear_init(&fc2, &reg, "fc2", 16, 2, 1, &rng, &err) == 0);
    vl_nn_activation_init(&act, VL_NN_TANH);
    struct vl_nn_optim_config c = vl_nn_optim_defaults(VL_NN_ADAMW);
    c.weight_decay = 0.0f;
    CHECK(vl_nn_optim_init(&opt, &reg, &c, &err) == 0);
    float loss = 0.0f;
    for (int step = 0; step < 400; step++) {
        vl_nn_params_zero_grad(&reg);
        int rc = vl_nn_linear_forward(&ctx, &fc1, &x, &h, &err) |
                 vl_nn_activation_forward(&ctx, &act, h, &h, &err) |
                 vl_nn_linear_forward(&ctx, &fc2, h, &y, &err) |
                 vl_nn_cross_entropy(&ctx, y, labels, NULL, &loss, &dlogits, &err) |
                 vl_nn_linear_backward(&ctx, &fc2, &dlogits, &d, &err) |
                 vl_nn_activation_backward(&ctx, &act, d, &d, &err) |
                 vl_nn_linear_backward(&ctx, &fc1, d, NULL, &err);
        CHECK(rc == 0);
        vl_nn_optim_step(&opt, 0.05f);
    }
    printf("xor: loss %.5f after 400 steps\n", loss);
    CHECK(loss < 0.02f);
    for (int i = 0; i < 4; i++) {
        int pred = y->data[2 * i + 1] > y->data[2 * i];
        CHECK(pred == labels[i]);
    }
    vl_nn_linear_free(&fc1);
    vl_nn_linear_free(&fc2);
    vl_nn_activation_free(&act);
    vl_nn_optim_free(&opt);
    vl_nn_tensor_free(&x);
    vl_nn_tensor_free(&dlogits);
    vl_nn_params_free(&reg);
    vl_nn_ctx_free(&ctx);
}

/* A small variable-aspect-ratio CNN: conv, batch norm, ReLU, max pool,
 * dropout, adaptive pool, global mean, linear; trained a few steps on
 * batches of two different image sizes.  Returns the final parameters
 * concatenated (malloc'd) and their count. */
static float *train_cnn(uint64_t seed, size_t *count)
{
    struct vl_nn_ctx ctx;
    struct vl_nn_params reg;
    struct vl_rng rng;
    struct vl_nn_conv2d conv;
    struct vl_nn_batchnorm bn;
    struct vl_nn_activation relu;
    struct vl_nn_pool2d pool, adapt;
    struct vl_nn_dropout drop;
    struct vl_nn_mean gap;
    struct vl_nn_linear fc;
    struct vl_nn_optim opt;
    struct vl_nn_tensor x, dlogits, *t;
    int labels[3] = {0, 2, 1};
    vl_nn_ctx_init(&ctx, seed);
    vl_nn_params_init(&reg);
    vl_rng_seed(&rng, seed);
    vl_nn_tensor_init(&x);
    vl_nn_tensor_init(&dlogits);
    vl_nn_conv2d_init(&conv, &reg, "conv1", 3, 6, 3, 1, 1, 0, &rng, &err);
    vl_nn_init_kaiming_normal(&conv.weight->value, 3 * 9, &rng);
    vl_nn_batchnorm_init(&bn, &reg, "bn1", 6, &err);
    vl_nn_activation_init(&relu, VL_NN_RELU);
    vl_nn_maxpool2d_init(&pool, 2, 2, 0);
    vl_nn_dropout_init(&drop, 0.2f);
    vl_nn_adaptive_avgpool2d_init(&adapt, 2, 2);
    vl_nn_mean_init(&gap, 2, -1);
    vl_nn_linear_init(&fc, &reg, "fc", 6, 3, 1, &rng, &err);
    struct vl_nn_optim_config c = vl_nn_optim_defaults(VL_NN_SGD);
    c.momentum = 0.9f;
    c.weight_decay = 1e-4f;
    vl_nn_optim_init(&opt, &reg, &c, &err);
    for (int step = 0; step < 6; step++) {
        int shape[4] = {3, 3, step % 2 ? 8 : 6, step % 2 ? 8 : 12};
        vl_nn_tensor_resize(&x, 4, shape, &err);
        for (size_t i = 0; i < x.size; i++)
            x.data[i] = (float)vl_rng_range(&rng, -1, 1);
        float loss;
        vl_nn_params_zero_grad(&reg);
        int rc = vl_nn_conv2d_forward(&ctx, &conv, &x, &t, &err) |
                 vl_nn_batchnorm_forward(&ctx, &bn, t, &t, &err) |
                 vl_nn_activation_forward(&ctx, &relu, t, &t, &err) |
                 vl_nn_pool2d_forward(&ctx, &pool, t, &t, &err) |
                 vl_nn_dropout_forward(&ctx, &drop, t, &t, &err) |
                 vl_nn_pool2d_forward(&ctx, &adapt, t, &t, &err) |
                 vl_nn_mean_forward(&ctx, &gap, t, &t, &err) |
                 vl_nn_linear_forward(&ctx, &fc, t, &t, &err) |
                 vl_nn_cross_entropy(&ctx, t, labels, NULL, &loss, &dlogits, &err) |
                 vl_nn_linear_backward(&ctx, &fc, &dlogits, &t, &err) |
                 vl_nn_mean_backward(&ctx, &gap, t, &t, &err) |
                 vl_nn_pool2d_backward(&ctx, &adapt, t, &t, &err) |
                 vl_nn_dropout_backward(&ctx, &drop, t, &t, &err) |
                 vl_nn_pool2d_backward(&ctx, &pool, t, &t, &err) |
                 vl_nn_activation_backward(&ctx, &relu, t, &t, &err) |
                 vl_nn_batchnorm_backward(&ctx, &bn, t, &t, &err) |
                 vl_nn_conv2d_backward(&ctx, &conv, t, NULL, &err);
        CHECK(rc == 0);
        vl_nn_clip_grad_norm(&reg, 5.0f);
        vl_nn_optim_step(&opt, 0.05f);
    }
    size_t n = 0;
    for (size_t i = 0; i < reg.count; i++)
        n += reg.items[i]->value.size;
    float *out = malloc(n * sizeof *out), *p = out;
    for (size_t i = 0; i < reg.count; i++) {
        memcpy(p, reg.items[i]->value.data, reg.items[i]->value.size * sizeof *p);
        p += reg.items[i]->value.size;
    }
    *count = n;
    vl_nn_conv2d_free(&conv);
    vl_nn_batchnorm_free(&bn);
    vl_nn_activation_free(&relu);
    vl_nn_pool2d_free(&pool);
    vl_nn_pool2d_free(&adapt);
    vl_nn_dropout_free(&drop);
    vl_nn_mean_free(&gap);
    vl_nn_linear_free(&fc);
    vl_nn_optim_free(&opt);
    vl_nn_tensor_free(&x);
    vl_nn_tensor_free(&dlogits);
    vl_nn_params_free(&reg);
    vl_nn_ctx_free(&ctx);
    return out;
}

static void test_determinism(void)
{
    size_t na, nb, nc;
    float *a = train_cnn(7, &na), *b = train_cnn(7, &nb), *c = train_cnn(8, &nc);
    CHECK(na == nb && na == nc);
    CHECK(memcmp(a, b, na * sizeof *a) == 0);
    CHECK(memcmp(a, c, na * sizeof *a) != 0);
    free(a);
    free(b);
    free(c);
}

static void test_batchnorm_train_eval(void)
{
    struct vl_nn_ctx ctx;
    struct vl_nn_params reg;
    struct vl_nn_batchnorm bn;
    struct vl_nn_tensor x, *y;
    int shape[3] = {4, 2, 3}; /* [N, C, L]: 12 values per channel */
    vl_nn_ctx_init(&ctx, 1);
    vl_nn_params_init(&reg);
    vl_nn_tensor_init(&x);
    vl_nn_tensor_resize(&x, 3, shape, &err);
    for (size_t i = 0; i < x.size; i++)
        x.data[i] = (float)((i * 7) % 11) * 0.5f + (float)i * 0.1f;
    CHECK(vl_nn_batchnorm_init(&bn, &reg, "bn", 2, &err) == 0);
    bn.weight->value.data[1] = 2.0f;
    bn.bias->value.data[1] = 0.5f;
    CHECK(vl_nn_batchnorm_forward(&ctx, &bn, &x, &y, &err) == 0);
    for (int ch = 0; ch < 2; ch++) {
        double s = 0, sq = 0, ys = 0, ysq = 0;
        for (int n = 0; n < 4; n++)
            for (int l = 0; l < 3; l++) {
                double v = x.data[(n * 2 + ch) * 3 + l], w = y->data[(n * 2 + ch) * 3 + l];
                s += v;
                sq += v * v;
                ys += w;
                ysq += w * w;
            }
        double mean = s / 12, var = sq / 12 - mean * mean;
        /* running: momentum 0.1 from (0, 1), with the unbiased variance */
        CHECK(fabs(bn.running_mean->value.data[ch] - 0.1 * mean) < 1e-5);
        CHECK(fabs(bn.running_var->value.data[ch] - (0.9 + 0.1 * var * 12 / 11)) < 1e-4);
        /* training output: normalised by the batch, then scaled and shifted */
        double g = ch ? 2.0 : 1.0, b = ch ? 0.5 : 0.0, ym = ys / 12;
        CHECK(fabs(ym - b) < 1e-5);
        CHECK(fabs((ysq / 12 - ym * ym) - g * g * var / (var + 1e-5)) < 1e-3);
    }
    /* eval: the running statistics, not the batch's */
    ctx.training = 0;
    CHECK(vl_nn_batchnorm_forward(&ctx, &bn, &x, &y, &err) == 0);
    for (size_t i = 0; i < x.size; i++) {
        int ch = (int)(i / 3) % 2;
        double rm = bn.running_mean->value.data[ch], rv = bn.running_var->value.data[ch];
        double want = (x.data[i] - rm) / sqrt(rv + 1e-5) * (ch ? 2.0 : 1.0) + (ch ? 0.5 : 0.0);
        CHECK(fabs(y->data[i] - want) < 1e-4);
    }
    float rm0 = bn.running_mean->value.data[0];
    CHECK(vl_nn_batchnorm_forward(&ctx, &bn, &x, &y, &err) == 0);
    CHECK(bn.running_mean->value.data[0] == rm0); /* eval leaves them alone */
    vl_nn_batchnorm_free(&bn);
    vl_nn_tensor_free(&x);
    vl_nn_params_free(&reg);
    vl_nn_ctx_free(&ctx);
}

static void test_tensor_reuse_and_views(void)
{
    struct vl_nn_tensor t, u;
    int big[2] = {4, 6}, small[3] = {2, 3, 2};
    vl_nn_tensor_init(&t);
    vl_nn_tensor_init(&u);
    CHECK(vl_nn_tensor_resize(&t, 2, big, &err) == 0);
    float *p = t.data;
    CHECK(vl_nn_tensor_resize(&t, 3, small, &err) == 0 && t.data == p && t.size == 12);
    CHECK(vl_nn_tensor_resize(&t, 2, big, &err) == 0 && t.data == p); /* no reallocation */
    for (size_t i = 0; i < t.size; i++)
        t.data[i] = (float)i;
    /* swap_axes is its own inverse */
    CHECK(vl_nn_tensor_swap_axes(&u, &t, 0, 1, &err) == 0);
    CHECK(u.shape[0] == 6 && u.shape[1] == 4 && u.data[1] == 6.0f);
    struct vl_nn_tensor w;
    vl_nn_tensor_init(&w);
    CHECK(vl_nn_tensor_swap_axes(&w, &u, 1, 0, &err) == 0);
    CHECK(memcmp(w.data, t.data, t.size * sizeof(float)) == 0);
    /* a view shares data and cannot grow */
    int flat[1] = {24}, huge[1] = {100};
    struct vl_nn_tensor v = vl_nn_tensor_view(&t, 1, flat);
    CHECK(v.data == t.data && v.cap == 0);
    CHECK(vl_nn_tensor_resize(&v, 1, huge, &err) == -1);
    vl_nn_tensor_free(&v); /* leaves t's buffer alone */
    CHECK(t.data == p);
    int bad[2] = {0, 3};
    CHECK(vl_nn_tensor_resize(&t, 2, bad, &err) == -1);
    vl_nn_tensor_free(&t);
    vl_nn_tensor_free(&u);
    vl_nn_tensor_free(&w);
}

/* A layer's output buffer is allocated once per shape and reused. */
static void test_layer_reuses_output(void)
{
    struct vl_nn_ctx ctx;
    struct vl_nn_params reg;
    struct vl_rng rng;
    struct vl_nn_conv2d conv;
    struct vl_nn_tensor x, *y, *dx;
    int shape[4] = {2, 3, 8, 8};
    vl_nn_ctx_init(&ctx, 1);
    vl_nn_params_init(&reg);
    vl_rng_seed(&rng, 1);
    vl_nn_tensor_init(&x);
    vl_nn_tensor_zeros(&x, 4, shape, &err);
    vl_nn_conv2d_init(&conv, &reg, "c", 3, 4, 3, 1, 1, 1, &rng, &err);
    CHECK(vl_nn_conv2d_forward(&ctx, &conv, &x, &y, &err) == 0);
    CHECK(vl_nn_conv2d_backward(&ctx, &conv, y, &dx, &err) == 0);
    float *py = y->data, *pdx = dx->data, *ps = ctx.scratch;
    for (int i = 0; i < 3; i++) {
        CHECK(vl_nn_conv2d_forward(&ctx, &conv, &x, &y, &err) == 0);
        CHECK(vl_nn_conv2d_backward(&ctx, &conv, y, &dx, &err) == 0);
    }
    CHECK(y->data == py && dx->data == pdx && ctx.scratch == ps);
    /* a wrong input names the layer and the shape */
    int wrong[4] = {2, 5, 8, 8};
    vl_nn_tensor_zeros(&x, 4, wrong, &err);
    CHECK(vl_nn_conv2d_forward(&ctx, &conv, &x, &y, &err) == -1);
    CHECK_CONTAINS(err.msg, "conv2d: input [2, 5, 8, 8]");
    vl_nn_conv2d_free(&conv);
    vl_nn_tensor_free(&x);
    vl_nn_params_free(&reg);
    vl_nn_ctx_free(&ctx);
}

static void test_registry(void)
{
    struct vl_nn_params reg;
    struct vl_rng rng;
    struct vl_nn_linear a, b;
    vl_nn_params_init(&reg);
    vl_rng_seed(&rng, 1);
    CHECK(vl_nn_linear_init(&a, &reg, "head", 4, 2, 1, &rng, &err) == 0);
    CHECK(vl_nn_linear_init(&b, &reg, "head", 4, 2, 1, &rng, &err) == -1);
    CHECK_CONTAINS(err.msg, "head.weight registered twice");
    CHECK(vl_nn_params_trainable_count(&reg) == 10);
    CHECK_STR(reg.items[0]->name, "head.weight");
    CHECK(reg.items[0]->decay == 1 && reg.items[1]->decay == 0);
    vl_nn_params_free(&reg);
}

int main(void)
{
    test_xor();
    test_determinism();
    test_batchnorm_train_eval();
    test_tensor_reuse_and_views();
    test_layer_reuses_output();
    test_registry();
    TEST_DONE();
}
