/* Gradient checks of the single-input layers against central finite
 * differences (tolerances in test_nn_check.h): linear, conv2d, conv1d,
 * batch norm (training and eval), layer norm, ReLU, GELU, tanh, max,
 * average and adaptive pooling, the mean over axes, and dropout. */
#include "nn/layers.h"
#include "test.h"
#include "test_nn_check.h"

#define WRAP(kind)                                                                                 \
    static int fw_##kind(struct vl_nn_ctx *ctx, void *s, const struct vl_nn_tensor *x,             \
                         struct vl_nn_tensor **y, struct vl_error *e)                              \
    {                                                                                              \
        return vl_nn_##kind##_forward(ctx, s, x, y, e);                                            \
    }                                                                                              \
    static int bw_##kind(struct vl_nn_ctx *ctx, void *s, const struct vl_nn_tensor *dy,            \
                         struct vl_nn_tensor **dx, struct vl_error *e)                             \
    {                                                                                              \
        return vl_nn_##kind##_backward(ctx, s, dy, dx, e);                                         \
    }

WRAP(linear)
WRAP(conv2d)
WRAP(conv1d)
WRAP(batchnorm)
WRAP(layernorm)
WRAP(activation)
WRAP(pool2d)
WRAP(mean)
WRAP(dropout)

static struct vl_nn_ctx ctx;
static struct vl_error err;

static void input(struct vl_nn_tensor *x, int ndim, const int *shape, uint64_t seed)
{
    vl_nn_tensor_init(x);
    vl_nn_tensor_resize(x, ndim, shape, &err);
    gc_fill(x, -1.0, 1.0, seed);
}

static void test_linear(void)
{
    struct vl_nn_params reg;
    struct vl_nn_linear l;
    struct vl_rng rng;
    struct vl_nn_tensor x;
    vl_nn_params_init(&reg);
    vl_rng_seed(&rng, 1);
    CHECK(vl_nn_linear_init(&l, &reg, "fc", 5, 3, 1, &rng, &err) == 0);
    int shape[3] = {2, 3, 5}; /* leading axes are flattened */
    input(&x, 3, shape, 2);
    struct gc_case c = GC_CASE("linear", linear, &l, &reg, &x);
    CHECK(gradcheck(&ctx, &c) == 0);
    CHECK(vl_nn_params_find(&reg, "fc.weight")->value.shape[0] == 3);
    vl_nn_linear_free(&l);
    vl_nn_tensor_free(&x);
    vl_nn_params_free(&reg);
}

static void test_conv2d(int stride, int padding, int kernel)
{
    struct vl_nn_params reg;
    struct vl_nn_conv2d l;
    struct vl_rng rng;
    struct vl_nn_tensor x;
    vl_nn_params_init(&reg);
    vl_rng_seed(&rng, 3);
    CHECK(vl_nn_conv2d_init(&l, &reg, "conv", 3, 4, kernel, stride, padding, 1, &rng, &err) == 0);
    int shape[4] = {2, 3, 6, 5};
    input(&x, 4, shape, 4);
    char name[64];
    snprintf(name, sizeof name, "conv2d k%d s%d p%d", kernel, stride, padding);
    struct gc_case c = GC_CASE(name, conv2d, &l, &reg, &x);
    CHECK(gradcheck(&ctx, &c) == 0);
    vl_nn_conv2d_free(&l);
    vl_nn_tensor_free(&x);
    vl_nn_params_free(&reg);
}

static void test_conv1d(void)
{
    struct vl_nn_params reg;
    struct vl_nn_conv1d l;
    struct vl_rng rng;
    struct vl_nn_tensor x;
    vl_nn_params_init(&reg);
    vl_rng_seed(&rng, 5);
    CHECK(vl_nn_conv1d_init(&l, &reg, "tconv", 4, 3, 3, 2, 1, 1, &rng, &err) == 0);
    int shape[3] = {2, 4, 7};
    input(&x, 3, shape, 6);
    struct gc_case c = GC_CASE("conv1d k3 s2 p1", conv1d, &l, &reg, &x);
    CHECK(gradcheck(&ctx, &c) == 0);
    CHECK(l.y.shape[2] == 4);
    vl_nn_conv1d_free(&l);
    vl_nn_tensor_free(&x);
    vl_nn_params_free(&reg);
}

static void test_batchnorm(int training, int ndim)
{
    struct vl_nn_params reg;
    struct vl_nn_batchnorm l;
    struct vl_nn_tensor x;
    vl_nn_params_init(&reg);
    CHECK(vl_nn_batchnorm_init(&l, &reg, "bn", 3, &err) == 0);
    /* non-trivial affine parameters and running statistics */
    gc_fill(&l.weight->value, 0.5, 1.5, 7);
    gc_fill(&l.bias->value, -0.5, 0.5, 8);
    gc_fill(&l.running_mean->value, -0.2, 0.2, 9);
    gc_fill(&l.running_var->value, 0.5, 2.0, 10);
    int shape[4] = {4, 3, 3, 2};
    input(&x, ndim, shape, 11);
    ctx.training = training;
    struct gc_case c =
        GC_CASE(training ? "batchnorm train" : "batchnorm eval", batchnorm, &l, &reg, &x);
    CHECK(gradcheck(&ctx, &c) == 0);
    ctx.training = 1;
    vl_nn_batchnorm_free(&l);
    vl_nn_tensor_free(&x);
    vl_nn_params_free(&reg);
}

static void test_layernorm(void)
{
    struct vl_nn_params reg;
    struct vl_nn_layernorm l;
    struct vl_nn_tensor x;
    vl_nn_params_init(&reg);
    CHECK(vl_nn_layernorm_init(&l, &reg, "ln", 6, &err) == 0);
    gc_fill(&l.weight->value, 0.5, 1.5, 12);
    gc_fill(&l.bias->value, -0.5, 0.5, 13);
    int shape[3] = {2, 3, 6};
    input(&x, 3, shape, 14);
    struct gc_case c = GC_CASE("layernorm", layernorm, &l, &reg, &x);
    CHECK(gradcheck(&ctx, &c) == 0);
    vl_nn_layernorm_free(&l);
    vl_nn_tensor_free(&x);
    vl_nn_params_free(&reg);
}

static void test_activation(enum vl_nn_act_kind kind, const char *name)
{
    struct vl_nn_activation l;
    struct vl_nn_tensor x;
    vl_nn_activation_init(&l, kind);
    int shape[2] = {4, 9};
    input(&x, 2, shape, 15);
    /* keep ReLU's inputs off its kink by more than the step */
    for (size_t i = 0; i < x.size; i++)
        if (fabsf(x.data[i]) < 0.05f) x.data[i] = x.data[i] < 0 ? -0.1f : 0.1f;
    struct gc_case c = GC_CASE(name, activation, &l, NULL, &x);
    CHECK(gradcheck(&ctx, &c) == 0);
    vl_nn_activation_free(&l);
    vl_nn_tensor_free(&x);
}

/* Distinct values 0.05 apart, shuffled: no max-pool ties within the step. */
static void distinct_input(struct vl_nn_tensor *x, int ndim, const int *shape)
{
    struct vl_rng r;
    input(x, ndim, shape, 16);
    vl_rng_seed(&r, 17);
    for (size_t i = 0; i < x->size; i++)
        x->data[i] = 0.05f * (float)i - 1.0f;
    for (size_t i = x->size - 1; i > 0; i--) {
        size_t j = vl_rng_next(&r) % (i + 1);
        float t = x->data[i];
        x->data[i] = x->data[j];
        x->data[j] = t;
    }
}

static void test_pool(struct vl_nn_pool2d *l, const char *name, int h, int w, int oh, int ow)
{
    struct vl_nn_tensor x;
    int shape[4] = {2, 2, h, w};
    distinct_input(&x, 4, shape);
    struct gc_case c = GC_CASE(name, pool2d, l, NULL, &x);
    c.h = 5e-3;
    CHECK(gradcheck(&ctx, &c) == 0);
    CHECK(l->y.shape[2] == oh && l->y.shape[3] == ow);
    vl_nn_pool2d_free(l);
    vl_nn_tensor_free(&x);
}

static void test_pools(void)
{
    struct vl_nn_pool2d l;
    vl_nn_maxpool2d_init(&l, 3, 2, 1);
    test_pool(&l, "maxpool k3 s2 p1", 7, 6, 4, 3);
    vl_nn_avgpool2d_init(&l, 2, 2, 0);
    test_pool(&l, "avgpool k2 s2", 6, 7, 3, 3);
    vl_nn_avgpool2d_init(&l, 3, 2, 1);
    test_pool(&l, "avgpool k3 s2 p1", 5, 5, 3, 3);
    vl_nn_adaptive_avgpool2d_init(&l, 3, 2);
    test_pool(&l, "adaptive avgpool 3x2 of 7x5", 7, 5, 3, 2);
    vl_nn_adaptive_avgpool2d_init(&l, 3, 2);
    test_pool(&l, "adaptive avgpool 3x2 of 4x9", 4, 9, 3, 2);
}

/* Adaptive pooling of a 5-wide row into 3 cells averages [0,2), [1,4), [3,5),
 * as PyTorch's start = floor(i*W/3), end = ceil((i+1)*W/3). */
static void test_adaptive_windows(void)
{
    struct vl_nn_pool2d l;
    struct vl_nn_tensor x, *y;
    int shape[4] = {1, 1, 1, 5};
    vl_nn_tensor_init(&x);
    vl_nn_tensor_resize(&x, 4, shape, &err);
    for (int i = 0; i < 5; i++)
        x.data[i] = (float)i;
    vl_nn_adaptive_avgpool2d_init(&l, 1, 3);
    CHECK(vl_nn_pool2d_forward(&ctx, &l, &x, &y, &err) == 0);
    CHECK(fabsf(y->data[0] - 0.5f) < 1e-6f);
    CHECK(fabsf(y->data[1] - 2.0f) < 1e-6f);
    CHECK(fabsf(y->data[2] - 3.5f) < 1e-6f);
    vl_nn_pool2d_free(&l);
    vl_nn_tensor_free(&x);
}

static void test_mean(int first, int last, const char *name)
{
    struct vl_nn_mean l;
    struct vl_nn_tensor x;
    int shape[4] = {2, 3, 4, 2};
    input(&x, 4, shape, 18);
    vl_nn_mean_init(&l, first, last);
    struct gc_case c = GC_CASE(name, mean, &l, NULL, &x);
    CHECK(gradcheck(&ctx, &c) == 0);
    vl_nn_mean_free(&l);
    vl_nn_tensor_free(&x);
}

static void test_dropout(void)
{
    struct vl_nn_dropout l;
    struct vl_nn_tensor x, *y;
    int shape[2] = {50, 40};
    input(&x, 2, shape, 19);
    vl_nn_dropout_init(&l, 0.25f);
    struct gc_case c = GC_CASE("dropout p0.25", dropout, &l, NULL, &x);
    CHECK(gradcheck(&ctx, &c) == 0);
    /* about a quarter dropped, the rest scaled by 4/3 */
    vl_rng_seed(&ctx.rng, 1);
    CHECK(vl_nn_dropout_forward(&ctx, &l, &x, &y, &err) == 0);
    size_t zeros = 0;
    for (size_t i = 0; i < y->size; i++) {
        if (y->data[i] == 0.0f)
            zeros++;
        else
            CHECK(fabsf(y->data[i] - x.data[i] / 0.75f) < 1e-5f);
    }
    CHECK(zeros > 400 && zeros < 600);
    /* eval: identity */
    ctx.training = 0;
    CHECK(vl_nn_dropout_forward(&ctx, &l, &x, &y, &err) == 0);
    CHECK(memcmp(y->data, x.data, x.size * sizeof(float)) == 0);
    ctx.training = 1;
    vl_nn_dropout_free(&l);
    vl_nn_tensor_free(&x);
}

int main(void)
{
    vl_nn_ctx_init(&ctx, 1);
    test_linear();
    test_conv2d(1, 0, 3);
    test_conv2d(2, 1, 3);
    test_conv2d(1, 1, 3);
    test_conv2d(1, 2, 3);
    test_conv2d(1, 0, 1);
    test_conv2d(2, 0, 2);
    test_conv1d();
    test_batchnorm(1, 2);
    test_batchnorm(1, 3);
    test_batchnorm(1, 4);
    test_batchnorm(0, 4);
    test_layernorm();
    test_activation(VL_NN_RELU, "relu");
    test_activation(VL_NN_GELU, "gelu");
    test_activation(VL_NN_TANH, "tanh");
    test_pools();
    test_adaptive_windows();
    test_mean(2, -1, "mean (global avgpool)");
    test_mean(1, 1, "mean (over time)");
    test_dropout();
    vl_nn_ctx_free(&ctx);
    TEST_DONE();
}
