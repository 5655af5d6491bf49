/* Gradient checks of the sequence layers and the losses against central
 * finite differences (tolerances in test_nn_check.h): multi-head attention
 * with and without a key padding mask, the GRU over several steps, the ViT
 * patch embedding, the transformer encoder block, softmax cross-entropy
 * (plain and class-weighted) and the multiclass hinge loss.  Also: a masked
 * key has no influence on the other positions. */
#include "nn/layers.h"
#include "test.h"
#include "test_nn_check.h"

static struct vl_nn_ctx ctx;
static struct vl_error err;

struct masked {
    void *layer;
    const uint8_t *mask;
};

static int fw_attention(struct vl_nn_ctx *c, void *s, const struct vl_nn_tensor *x,
                        struct vl_nn_tensor **y, struct vl_error *e)
{
    struct masked *m = s;
    return vl_nn_attention_forward(c, m->layer, x, m->mask, y, e);
}

static int bw_attention(struct vl_nn_ctx *c, void *s, const struct vl_nn_tensor *dy,
                        struct vl_nn_tensor **dx, struct vl_error *e)
{
    struct masked *m = s;
    return vl_nn_attention_backward(c, m->layer, dy, dx, e);
}

static int fw_encoder(struct vl_nn_ctx *c, void *s, const struct vl_nn_tensor *x,
                      struct vl_nn_tensor **y, struct vl_error *e)
{
    struct masked *m = s;
    return vl_nn_encoder_block_forward(c, m->layer, x, m->mask, y, e);
}

static int bw_encoder(struct vl_nn_ctx *c, void *s, const struct vl_nn_tensor *dy,
                      struct vl_nn_tensor **dx, struct vl_error *e)
{
    struct masked *m = s;
    return vl_nn_encoder_block_backward(c, m->layer, dy, dx, e);
}

static int fw_gru(struct vl_nn_ctx *c, void *s, const struct vl_nn_tensor *x,
                  struct vl_nn_tensor **y, struct vl_error *e)
{
    return vl_nn_gru_forward(c, s, x, y, e);
}

static int bw_gru(struct vl_nn_ctx *c, void *s, const struct vl_nn_tensor *dy,
                  struct vl_nn_tensor **dx, struct vl_error *e)
{
    return vl_nn_gru_backward(c, s, dy, dx, e);
}

static int fw_patch(struct vl_nn_ctx *c, void *s, const struct vl_nn_tensor *x,
                    struct vl_nn_tensor **y, struct vl_error *e)
{
    return vl_nn_patch_embed_forward(c, s, x, y, e);
}

static int bw_patch(struct vl_nn_ctx *c, void *s, const struct vl_nn_tensor *dy,
                    struct vl_nn_tensor **dx, struct vl_error *e)
{
    return vl_nn_patch_embed_backward(c, s, dy, dx, e);
}

static void input(struct vl_nn_tensor *x, int ndim, const int *shape, uint64_t seed)
{
    vl_nn_tensor_init(x);
    vl_nn_tensor_resize(x, ndim, shape, &err);
    gc_fill(x, -1.0, 1.0, seed);
}

static void test_attention(int with_mask)
{
    struct vl_nn_params reg;
    struct vl_nn_attention l;
    struct vl_rng rng;
    struct vl_nn_tensor x;
    vl_nn_params_init(&reg);
    vl_rng_seed(&rng, 21);
    CHECK(vl_nn_attention_init(&l, &reg, "attn", 8, 2, &rng, &err) == 0);
    CHECK(vl_nn_params_find(&reg, "attn.in_proj_weight") != NULL);
    CHECK(vl_nn_params_find(&reg, "attn.out_proj.bias") != NULL);
    /* biases are zero at init; make them matter */
    gc_fill(&l.in_proj.bias->value, -0.3, 0.3, 22);
    gc_fill(&l.out_proj.bias->value, -0.3, 0.3, 23);
    int shape[3] = {2, 5, 8};
    input(&x, 3, shape, 24);
    /* sample 0: no padding; sample 1: its last two positions padded */
    uint8_t mask[10] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1};
    struct masked m = {&l, with_mask ? mask : NULL};
    struct gc_case c = {.name = with_mask ? "attention, masked" : "attention",
                        .forward = fw_attention,
                        .backward = bw_attention,
                        .state = &m,
                        .params = &reg,
                        .x = &x};
    CHECK(gradcheck(&ctx, &c) == 0);
    if (with_mask) {
        /* changing a padded token changes no other position's output */
        struct vl_nn_tensor *y, before;
        vl_nn_tensor_init(&before);
        CHECK(vl_nn_attention_forward(&ctx, &l, &x, mask, &y, &err) == 0);
        vl_nn_tensor_copy(&before, y, &err);
        for (int k = 0; k < 8; k++)
            x.data[(5 + 4) * 8 + k] += 3.0f;
        CHECK(vl_nn_attention_forward(&ctx, &l, &x, mask, &y, &err) == 0);
        for (int pos = 0; pos < 10; pos++) {
            if (pos == 9) continue; /* the changed token's own query */
            for (int k = 0; k < 8; k++)
                CHECK(y->data[pos * 8 + k] == before.data[pos * 8 + k]);
        }
        /* no attention weight on a padded key */
        for (int h = 0; h < 2; h++)
            for (int q = 0; q < 5; q++) {
                const float *p = l.probs.data + ((size_t)(1 * 2 + h) * 5 + q) * 5;
                CHECK(p[3] == 0.0f && p[4] == 0.0f);
                CHECK(fabsf(p[0] + p[1] + p[2] - 1.0f) < 1e-5f);
            }
        vl_nn_tensor_free(&before);
    }
    vl_nn_attention_free(&l);
    vl_nn_tensor_free(&x);
    vl_nn_params_free(&reg);
}

static void test_gru(void)
{
    struct vl_nn_params reg;
    struct vl_nn_gru l;
    struct vl_rng rng;
    struct vl_nn_tensor x;
    vl_nn_params_init(&reg);
    vl_rng_seed(&rng, 25);
    CHECK(vl_nn_gru_init(&l, &reg, "gru", 3, 4, &rng, &err) == 0);
    CHECK(vl_nn_params_find(&reg, "gru.weight_ih_l0")->value.shape[0] == 12);
    CHECK(vl_nn_params_find(&reg, "gru.bias_hh_l0") != NULL);
    int shape[3] = {2, 5, 3}; /* five steps: gradients flow back through all of them */
    input(&x, 3, shape, 26);
    struct gc_case c = GC_CASE("gru, 5 steps", gru, &l, &reg, &x);
    CHECK(gradcheck(&ctx, &c) == 0);
    vl_nn_gru_free(&l);
    vl_nn_tensor_free(&x);
    vl_nn_params_free(&reg);
}

static void test_patch_embed(int cls)
{
    struct vl_nn_params reg;
    struct vl_nn_patch_embed l;
    struct vl_rng rng;
    struct vl_nn_tensor x;
    vl_nn_params_init(&reg);
    vl_rng_seed(&rng, 27);
    CHECK(vl_nn_patch_embed_init(&l, &reg, "patch", 3, 4, 6, 2, 5, cls, &rng, &err) == 0);
    int shape[4] = {2, 3, 4, 6};
    input(&x, 4, shape, 28);
    struct gc_case c =
        GC_CASE(cls ? "patch embed, class token" : "patch embed", patch, &l, &reg, &x);
    CHECK(gradcheck(&ctx, &c) == 0);
    CHECK(l.y.shape[1] == 6 + cls && l.y.shape[2] == 5);
    CHECK(vl_nn_params_find(&reg, "patch.pos_embed")->value.shape[1] == 6 + cls);
    vl_nn_patch_embed_free(&l);
    vl_nn_tensor_free(&x);
    vl_nn_params_free(&reg);
}

static void test_encoder(void)
{
    struct vl_nn_params reg;
    struct vl_nn_encoder_block l;
    struct vl_rng rng;
    struct vl_nn_tensor x;
    vl_nn_params_init(&reg);
    vl_rng_seed(&rng, 29);
    CHECK(vl_nn_encoder_block_init(&l, &reg, "layers.0", 8, 2, 12, 0.1f, &rng, &err) == 0);
    CHECK(vl_nn_params_find(&reg, "layers.0.self_attn.in_proj_weight") != NULL);
    CHECK(vl_nn_params_find(&reg, "layers.0.linear1.weight") != NULL);
    CHECK(vl_nn_params_find(&reg, "layers.0.norm2.bias") != NULL);
    int shape[3] = {2, 4, 8};
    input(&x, 3, shape, 30);
    uint8_t mask[8] = {0, 0, 0, 0, 0, 0, 0, 1};
    struct masked m = {&l, mask};
    struct gc_case c = {.name = "encoder block, dropout",
                        .forward = fw_encoder,
                        .backward = bw_encoder,
                        .state = &m,
                        .params = &reg,
                        .x = &x};
    CHECK(gradcheck(&ctx, &c) == 0);
    vl_nn_encoder_block_free(&l);
    vl_nn_tensor_free(&x);
    vl_nn_params_free(&reg);
}

/* The loss over logits x, as a "layer" with a scalar output. */
struct loss_case {
    int hinge;
    const int *labels;
    const float *weights;
    struct vl_nn_tensor out, grad, dx;
};

static int fw_loss(struct vl_nn_ctx *c, void *s, const struct vl_nn_tensor *x,
                   struct vl_nn_tensor **y, struct vl_error *e)
{
    struct loss_case *l = s;
    int one = 1;
    float v;
    int rc = l->hinge ? vl_nn_hinge_loss(c, x, l->labels, l->weights, 1.0f, &v, &l->grad, e)
                      : vl_nn_cross_entropy(c, x, l->labels, l->weights, &v, &l->grad, e);
    if (rc < 0 || vl_nn_tensor_resize(&l->out, 1, &one, e) < 0) return -1;
    l->out.data[0] = v;
    *y = &l->out;
    return 0;
}

static int bw_loss(struct vl_nn_ctx *c, void *s, const struct vl_nn_tensor *dy,
                   struct vl_nn_tensor **dx, struct vl_error *e)
{
    struct loss_case *l = s;
    if (vl_nn_tensor_copy(&l->dx, &l->grad, e) < 0) return -1;
    for (size_t i = 0; i < l->dx.size; i++)
        l->dx.data[i] *= dy->data[0];
    *dx = &l->dx;
    return 0;
}

static void test_loss(int hinge, int weighted)
{
    static const int labels[6] = {0, 2, 1, 3, 3, 0};
    static const float weights[4] = {1.0f, 2.0f, 0.5f, 3.0f};
    struct loss_case l = {.hinge = hinge, .labels = labels, .weights = weighted ? weights : NULL};
    struct vl_nn_tensor x;
    int shape[2] = {6, 4};
    input(&x, 2, shape, 31);
    for (size_t i = 0; i < x.size; i++)
        x.data[i] *= 2.0f;
    char name[64];
    snprintf(name, sizeof name, "%s%s", hinge ? "hinge" : "cross-entropy",
             weighted ? ", class weights" : "");
    struct gc_case c = {
        .name = name, .forward = fw_loss, .backward = bw_loss, .state = &l, .x = &x, .h = 1e-3};
    CHECK(gradcheck(&ctx, &c) == 0);
    vl_nn_tensor_free(&l.out);
    vl_nn_tensor_free(&l.grad);
    vl_nn_tensor_free(&l.dx);
    vl_nn_tensor_free(&x);
}

/* Known values: cross-entropy of logits (0, 0) is log 2; hinge with the right
 * class ahead by more than the margin is 0; a bad label is an error. */
static void test_loss_values(void)
{
    struct vl_nn_tensor x;
    int shape[2] = {1, 2}, label = 1, bad = 2;
    float loss;
    vl_nn_tensor_init(&x);
    vl_nn_tensor_zeros(&x, 2, shape, &err);
    CHECK(vl_nn_cross_entropy(&ctx, &x, &label, NULL, &loss, NULL, &err) == 0);
    CHECK(fabsf(loss - logf(2.0f)) < 1e-6f);
    x.data[1] = 1.5f;
    CHECK(vl_nn_hinge_loss(&ctx, &x, &label, NULL, 1.0f, &loss, NULL, &err) == 0);
    CHECK(loss == 0.0f);
    x.data[1] = 0.5f; /* margin 1 - 0.5 = 0.5, divided by C = 2 */
    CHECK(vl_nn_hinge_loss(&ctx, &x, &label, NULL, 1.0f, &loss, NULL, &err) == 0);
    CHECK(fabsf(loss - 0.25f) < 1e-6f);
    CHECK(vl_nn_cross_entropy(&ctx, &x, &bad, NULL, &loss, NULL, &err) == -1);
    CHECK_CONTAINS(err.msg, "label 2");
    vl_nn_tensor_free(&x);
}

int main(void)
{
    vl_nn_ctx_init(&ctx, 1);
    test_attention(0);
    test_attention(1);
    test_gru();
    test_patch_embed(0);
    test_patch_embed(1);
    test_encoder();
    test_loss(0, 0);
    test_loss(0, 1);
    test_loss(1, 0);
    test_loss(1, 1);
    test_loss_values();
    vl_nn_ctx_free(&ctx);
    TEST_DONE();
}
