/* The optimisers against hand-computed steps (SGD with momentum, weight
 * decay and Nesterov; AdamW with decoupled decay), the learning-rate
 * schedules, and gradient clipping by global norm. */
#include <math.h>

#include "nn/optim.h"
#include "test.h"

static struct vl_error err;

#define NEAR(a, b) (fabs((double)(a) - (double)(b)) < 1e-6)

/* A registry of one decayed weight [2] and one undecayed bias [1]. */
static void two_params(struct vl_nn_params *reg, struct vl_nn_param **w, struct vl_nn_param **b)
{
    int two = 2, one = 1;
    vl_nn_params_init(reg);
    *w = vl_nn_params_add(reg, "m", "weight", 1, &two, 1, 1, &err);
    *b = vl_nn_params_add(reg, "m", "bias", 1, &one, 1, 0, &err);
    (*w)->value.data[0] = 1.0f;
    (*w)->value.data[1] = -2.0f;
    (*b)->value.data[0] = 1.0f;
}

static void set_grads(struct vl_nn_param *w, struct vl_nn_param *b)
{
    w->grad.data[0] = 0.5f;
    w->grad.data[1] = 0.25f;
    b->grad.data[0] = 0.5f;
}

static void test_sgd_momentum(void)
{
    struct vl_nn_params reg;
    struct vl_nn_param *w, *b;
    struct vl_nn_optim o;
    two_params(&reg, &w, &b);
    struct vl_nn_optim_config c = vl_nn_optim_defaults(VL_NN_SGD);
    c.momentum = 0.9f;
    c.weight_decay = 0.01f;
    CHECK(vl_nn_optim_init(&o, &reg, &c, &err) == 0);
    set_grads(w, b);
    vl_nn_optim_step(&o, 0.1f);
    /* d = g + 0.01 w = (0.51, 0.23); buf = d; w -= 0.1 d.  The bias has no decay. */
    CHECK(NEAR(w->value.data[0], 0.949));
    CHECK(NEAR(w->value.data[1], -2.023));
    CHECK(NEAR(b->value.data[0], 0.95));
    vl_nn_optim_step(&o, 0.1f);
    /* d = (0.50949, 0.22977); buf = 0.9 (0.51, 0.23) + d = (0.96849, 0.43677) */
    CHECK(NEAR(w->value.data[0], 0.949 - 0.096849));
    CHECK(NEAR(w->value.data[1], -2.023 - 0.043677));
    CHECK(NEAR(b->value.data[0], 0.95 - 0.1 * (0.9 * 0.5 + 0.5)));
    CHECK(o.step == 2);
    vl_nn_optim_free(&o);
    vl_nn_params_free(&reg);
}

static void test_sgd_nesterov(void)
{
    struct vl_nn_params reg;
    struct vl_nn_param *w, *b;
    struct vl_nn_optim o;
    two_params(&reg, &w, &b);
    struct vl_nn_optim_config c = vl_nn_optim_defaults(VL_NN_SGD);
    c.momentum = 0.9f;
    c.nesterov = 1;
    CHECK(vl_nn_optim_init(&o, &reg, &c, &err) == 0);
    set_grads(w, b);
    vl_nn_optim_step(&o, 0.1f);
    /* buf = g; d = g + 0.9 buf = 1.9 g */
    CHECK(NEAR(w->value.data[0], 1.0 - 0.1 * 1.9 * 0.5));
    vl_nn_optim_step(&o, 0.1f);
    /* buf = 0.9 g + g = 1.9 g; d = g + 0.9 * 1.9 g = 2.71 g */
    CHECK(NEAR(w->value.data[0], 1.0 - 0.1 * 1.9 * 0.5 - 0.1 * 2.71 * 0.5));
    vl_nn_optim_free(&o);
    vl_nn_params_free(&reg);
}

static void test_adamw(void)
{
    struct vl_nn_params reg;
    struct vl_nn_param *w, *b;
    struct vl_nn_optim o;
    two_params(&reg, &w, &b);
    struct vl_nn_optim_config c = vl_nn_optim_defaults(VL_NN_ADAMW);
    CHECK(NEAR(c.weight_decay, 0.01) && NEAR(c.beta1, 0.9) && NEAR(c.beta2, 0.999));
    CHECK(vl_nn_optim_init(&o, &reg, &c, &err) == 0);
    set_grads(w, b);
    vl_nn_optim_step(&o, 0.1f);
    /* step 1: m/(1-b1) = g, sqrt(v/(1-b2)) = |g|, so the step is lr * sign(g)
     * (less eps), after the decoupled decay w -= lr * wd * w */
    double step = 0.1 * 0.5 / (0.5 + 1e-8);
    CHECK(NEAR(w->value.data[0], 1.0 - 0.1 * 0.01 * 1.0 - step));
    CHECK(NEAR(w->value.data[1], -2.0 + 0.1 * 0.01 * 2.0 - 0.1 * 0.25 / (0.25 + 1e-8)));
    CHECK(NEAR(b->value.data[0], 1.0 - step));
    /* step 2 with gradient 0 for w[0]: m = 0.045, v = 0.00024975 */
    w->grad.data[0] = 0.0f;
    double w0 = w->value.data[0];
    vl_nn_optim_step(&o, 0.1f);
    double mhat = 0.9 * 0.05 / (1 - 0.81), vhat = 0.999 * 0.00025 / (1 - 0.998001);
    CHECK(NEAR(w->value.data[0], w0 * (1 - 0.001) - 0.1 * mhat / (sqrt(vhat) + 1e-8)));
    vl_nn_optim_free(&o);
    vl_nn_params_free(&reg);
}

static void test_bad_config(void)
{
    struct vl_nn_params reg;
    struct vl_nn_param *w, *b;
    struct vl_nn_optim o;
    two_params(&reg, &w, &b);
    struct vl_nn_optim_config c = vl_nn_optim_defaults(VL_NN_SGD);
    c.nesterov = 1;
    CHECK(vl_nn_optim_init(&o, &reg, &c, &err) == -1);
    CHECK_CONTAINS(err.msg, "nesterov");
    c = vl_nn_optim_defaults(VL_NN_ADAMW);
    c.beta2 = 1.0f;
    CHECK(vl_nn_optim_init(&o, &reg, &c, &err) == -1);
    vl_nn_params_free(&reg);
}

static void test_buffers_not_stepped(void)
{
    struct vl_nn_params reg;
    struct vl_nn_optim o;
    int one = 1;
    vl_nn_params_init(&reg);
    struct vl_nn_param *buf = vl_nn_params_add(&reg, "bn", "running_mean", 1, &one, 0, 0, &err);
    buf->value.data[0] = 3.0f;
    struct vl_nn_optim_config c = vl_nn_optim_defaults(VL_NN_ADAMW);
    CHECK(vl_nn_optim_init(&o, &reg, &c, &err) == 0);
    vl_nn_optim_step(&o, 0.1f);
    CHECK(buf->value.data[0] == 3.0f);
    CHECK(buf->grad.size == 0);
    vl_nn_optim_free(&o);
    vl_nn_params_free(&reg);
}

static void test_clip(void)
{
    struct vl_nn_params reg;
    struct vl_nn_param *w, *b;
    two_params(&reg, &w, &b);
    w->grad.data[0] = 3.0f;
    w->grad.data[1] = 0.0f;
    b->grad.data[0] = 4.0f;
    float norm = vl_nn_clip_grad_norm(&reg, 1.0f);
    CHECK(NEAR(norm, 5.0));
    CHECK(fabs(w->grad.data[0] - 0.6) < 1e-5 && fabs(b->grad.data[0] - 0.8) < 1e-5);
    norm = vl_nn_clip_grad_norm(&reg, 10.0f); /* under the limit: unchanged */
    CHECK(fabs(norm - 1.0) < 1e-5 && fabs(w->grad.data[0] - 0.6) < 1e-5);
    vl_nn_params_free(&reg);
}

static void test_schedules(void)
{
    struct vl_nn_schedule s = {.kind = VL_NN_LR_CONSTANT, .lr = 0.1f};
    CHECK(NEAR(vl_nn_schedule_lr(&s, 0), 0.1) && NEAR(vl_nn_schedule_lr(&s, 999), 0.1));
    s = (struct vl_nn_schedule){.kind = VL_NN_LR_STEP, .lr = 0.1f, .step_size = 10, .gamma = 0.5f};
    CHECK(NEAR(vl_nn_schedule_lr(&s, 9), 0.1));
    CHECK(NEAR(vl_nn_schedule_lr(&s, 10), 0.05));
    CHECK(NEAR(vl_nn_schedule_lr(&s, 25), 0.025));
    s = (struct vl_nn_schedule){
        .kind = VL_NN_LR_COSINE, .lr = 1.0f, .warmup_steps = 4, .total_steps = 14, .min_lr = 0.0f};
    CHECK(NEAR(vl_nn_schedule_lr(&s, 0), 0.25));
    CHECK(NEAR(vl_nn_schedule_lr(&s, 3), 1.0));
    CHECK(NEAR(vl_nn_schedule_lr(&s, 4), 1.0));
    CHECK(NEAR(vl_nn_schedule_lr(&s, 9), 0.5));
    CHECK(NEAR(vl_nn_schedule_lr(&s, 14), 0.0));
    CHECK(NEAR(vl_nn_schedule_lr(&s, 100), 0.0));
}

int main(void)
{
    test_sgd_momentum();
    test_sgd_nesterov();
    test_adamw();
    test_bad_config();
    test_buffers_not_stepped();
    test_clip();
    test_schedules();
    TEST_DONE();
}
