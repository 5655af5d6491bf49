/* layers.h - the layers of the neural-network core, each with a forward and
 * a backward pass, and the two classification losses.
 *
 * Every layer follows one pattern:
 *   - vl_nn_X_init(layer, reg, name, ..., rng, err) registers the layer's
 *     parameters in reg as "name.weight", "name.bias", ... with PyTorch's
 *     names and shapes and initialises them as PyTorch does by default (the
 *     vl_nn_init_* functions re-initialise, e.g. He normal for a ReLU CNN);
 *   - vl_nn_X_forward(ctx, layer, x, &y, err) computes y, a tensor the layer
 *     owns and reuses, valid until the layer's next forward; the layer keeps
 *     a pointer to x (not a copy) for backward, so x must stay unchanged
 *     until then;
 *   - vl_nn_X_backward(ctx, layer, dy, &dx, err) takes dy of y's shape,
 *     accumulates (+=) the parameter gradients and computes dx (layer-owned)
 *     unless dx is NULL (the first layer of a model needs no input gradient);
 *   - vl_nn_X_free(layer) frees what the layer owns; its parameters belong
 *     to the registry.
 * One forward, then at most one backward, per layer instance and batch: to
 * apply the same weights to several inputs, stack them along the batch axis
 * (frames of a clip as [N*T, C, H, W], a free view).
 * All return 0, or -1 with err naming the layer and the bad shape.
 *
 * Layout: images NCHW, sequences [N, T, D] (batch first), conv1d [N, C, T]. */
#ifndef VL_NN_LAYERS_H
#define VL_NN_LAYERS_H

#include <stdint.h>

#include "nn/tensor.h"

/* -- linear: y = x W^T + b over the last axis; any leading axes -- */

struct vl_nn_linear {
    int in_features, out_features;
    struct vl_nn_param *weight; /* [out, in] */
    struct vl_nn_param *bias;   /* [out], or NULL */
    const struct vl_nn_tensor *x;
    struct vl_nn_tensor y, dx;
};

/* Registers name.weight [out, in] and (when bias) name.bias [out], both
 * U(-1/sqrt(in), 1/sqrt(in)) as PyTorch's nn.Linear. */
int vl_nn_linear_init(struct vl_nn_linear *l, struct vl_nn_params *reg, const char *name,
                      int in_features, int out_features, int bias, struct vl_rng *rng,
                      struct vl_error *err);
/* x [..., in] -> y [..., out]. */
int vl_nn_linear_forward(struct vl_nn_ctx *ctx, struct vl_nn_linear *l,
                         const struct vl_nn_tensor *x, struct vl_nn_tensor **y,
                         struct vl_error *err);
/* dy [..., out] -> dx [..., in]; accumulates weight and bias gradients. */
int vl_nn_linear_backward(struct vl_nn_ctx *ctx, struct vl_nn_linear *l,
                          const struct vl_nn_tensor *dy, struct vl_nn_tensor **dx,
                          struct vl_error *err);
/* Frees the layer's activations. */
void vl_nn_linear_free(struct vl_nn_linear *l);

/* -- conv2d: NCHW, im2col + sgemm, square kernel, stride and zero padding -- */

struct vl_nn_conv2d {
    int in_channels, out_channels, kernel, stride, padding;
    struct vl_nn_param *weight; /* [out, in, k, k] */
    struct vl_nn_param *bias;   /* [out], or NULL */
    const struct vl_nn_tensor *x;
    struct vl_nn_tensor y, dx;
};

/* Registers name.weight [out, in, k, k] and name.bias [out], initialised as
 * PyTorch's nn.Conv2d (U(-1/sqrt(fan_in), ..), fan_in = in*k*k). */
int vl_nn_conv2d_init(struct vl_nn_conv2d *l, struct vl_nn_params *reg, const char *name,
                      int in_channels, int out_channels, int kernel, int stride, int padding,
                      int bias, struct vl_rng *rng, struct vl_error *err);
/* x [N, in, H, W] -> y [N, out, (H+2p-k)/s+1, (W+2p-k)/s+1]. */
int vl_nn_conv2d_forward(struct vl_nn_ctx *ctx, struct vl_nn_conv2d *l,
                         const struct vl_nn_tensor *x, struct vl_nn_tensor **y,
                         struct vl_error *err);
/* dy -> dx [N, in, H, W]; accumulates weight and bias gradients. */
int vl_nn_conv2d_backward(struct vl_nn_ctx *ctx, struct vl_nn_conv2d *l,
                          const struct vl_nn_tensor *dy, struct vl_nn_tensor **dx,
                          struct vl_error *err);
/* Frees the layer's activations. */
void vl_nn_conv2d_free(struct vl_nn_conv2d *l);

/* -- conv1d over time: [N, C, T], PyTorch's nn.Conv1d -- */

struct vl_nn_conv1d {
    int in_channels, out_channels, kernel, stride, padding;
    struct vl_nn_param *weight; /* [out, in, k] */
    struct vl_nn_param *bias;   /* [out], or NULL */
    const struct vl_nn_tensor *x;
    struct vl_nn_tensor y, dx;
};

/* Registers name.weight [out, in, k] and name.bias [out] (PyTorch's init). */
int vl_nn_conv1d_init(struct vl_nn_conv1d *l, struct vl_nn_params *reg, const char *name,
                      int in_channels, int out_channels, int kernel, int stride, int padding,
                      int bias, struct vl_rng *rng, struct vl_error *err);
/* x [N, in, T] -> y [N, out, (T+2p-k)/s+1]. */
int vl_nn_conv1d_forward(struct vl_nn_ctx *ctx, struct vl_nn_conv1d *l,
                         const struct vl_nn_tensor *x, struct vl_nn_tensor **y,
                         struct vl_error *err);
/* dy -> dx [N, in, T]; accumulates weight and bias gradients. */
int vl_nn_conv1d_backward(struct vl_nn_ctx *ctx, struct vl_nn_conv1d *l,
                          const struct vl_nn_tensor *dy, struct vl_nn_tensor **dx,
                          struct vl_error *err);
/* Frees the layer's activations. */
void vl_nn_conv1d_free(struct vl_nn_conv1d *l);

/* -- batch norm over axis 1 of [N, C], [N, C, L] or [N, C, H, W] -- */

struct vl_nn_batchnorm {
    int channels;
    float momentum, eps;              /* 0.1 and 1e-5, as PyTorch */
    struct vl_nn_param *weight;       /* [C], ones */
    struct vl_nn_param *bias;         /* [C], zeros */
    struct vl_nn_param *running_mean; /* [C] buffer, zeros */
    struct vl_nn_param *running_var;  /* [C] buffer, ones (unbiased batch variance) */
    const struct vl_nn_tensor *x;
    int batch_stats;                  /* whether the last forward used batch statistics */
    struct vl_nn_tensor mean, invstd; /* [C] of the last forward */
    struct vl_nn_tensor y, dx;
};

/* Registers name.weight, name.bias, name.running_mean and name.running_var
 * (the two last as buffers), as PyTorch's BatchNorm1d/2d. */
int vl_nn_batchnorm_init(struct vl_nn_batchnorm *l, struct vl_nn_params *reg, const char *name,
                         int channels, struct vl_error *err);
/* Training (ctx->training): normalises by the batch's statistics and updates
 * the running ones with momentum; eval: normalises by the running ones. */
int vl_nn_batchnorm_forward(struct vl_nn_ctx *ctx, struct vl_nn_batchnorm *l,
                            const struct vl_nn_tensor *x, struct vl_nn_tensor **y,
                            struct vl_error *err);
/* dy -> dx, through the batch statistics when the forward used them. */
int vl_nn_batchnorm_backward(struct vl_nn_ctx *ctx, struct vl_nn_batchnorm *l,
                             const struct vl_nn_tensor *dy, struct vl_nn_tensor **dx,
                             struct vl_error *err);
/* Frees the layer's activations. */
void vl_nn_batchnorm_free(struct vl_nn_batchnorm *l);

/* -- layer norm over the last axis -- */

struct vl_nn_layernorm {
    int dim;
    float eps;                  /* 1e-5 */
    struct vl_nn_param *weight; /* [dim], ones */
    struct vl_nn_param *bias;   /* [dim], zeros */
    const struct vl_nn_tensor *x;
    struct vl_nn_tensor mean, invstd; /* one per row of the last forward */
    struct vl_nn_tensor y, dx;
};

/* Registers name.weight and name.bias [dim], as PyTorch's nn.LayerNorm. */
int vl_nn_layernorm_init(struct vl_nn_layernorm *l, struct vl_nn_params *reg, const char *name,
                         int dim, struct vl_error *err);
/* x [..., dim] -> y of x's shape. */
int vl_nn_layernorm_forward(struct vl_nn_ctx *ctx, struct vl_nn_layernorm *l,
                            const struct vl_nn_tensor *x, struct vl_nn_tensor **y,
                            struct vl_error *err);
/* dy -> dx; accumulates weight and bias gradients. */
int vl_nn_layernorm_backward(struct vl_nn_ctx *ctx, struct vl_nn_layernorm *l,
                             const struct vl_nn_tensor *dy, struct vl_nn_tensor **dx,
                             struct vl_error *err);
/* Frees the layer's activations. */
void vl_nn_layernorm_free(struct vl_nn_layernorm *l);

/* -- element-wise activations -- */

enum vl_nn_act_kind {
    VL_NN_RELU,
    VL_NN_GELU, /* exact, with erf, as PyTorch's default */
    VL_NN_TANH,
};

struct vl_nn_activation {
    enum vl_nn_act_kind kind;
    const struct vl_nn_tensor *x;
    struct vl_nn_tensor y, dx;
};

/* Sets up an activation of that kind (no parameters). */
void vl_nn_activation_init(struct vl_nn_activation *l, enum vl_nn_act_kind kind);
/* y = f(x), any shape. */
int vl_nn_activation_forward(struct vl_nn_ctx *ctx, struct vl_nn_activation *l,
                             const struct vl_nn_tensor *x, struct vl_nn_tensor **y,
                             struct vl_error *err);
/* dx = f'(x) * dy. */
int vl_nn_activation_backward(struct vl_nn_ctx *ctx, struct vl_nn_activation *l,
                              const struct vl_nn_tensor *dy, struct vl_nn_tensor **dx,
                              struct vl_error *err);
/* Frees the layer's activations. */
void vl_nn_activation_free(struct vl_nn_activation *l);

/* -- dropout (inverted: kept values scaled by 1/(1-p)); identity in eval -- */

struct vl_nn_dropout {
    float p;
    int active;               /* whether the last forward dropped anything */
    struct vl_nn_tensor mask; /* 0 or 1/(1-p) per element of the last forward */
    struct vl_nn_tensor y, dx;
};

/* Sets up dropout with drop probability p in [0, 1). */
void vl_nn_dropout_init(struct vl_nn_dropout *l, float p);
/* Draws the mask from ctx->rng when ctx->training and p > 0; else copies. */
int vl_nn_dropout_forward(struct vl_nn_ctx *ctx, struct vl_nn_dropout *l,
                          const struct vl_nn_tensor *x, struct vl_nn_tensor **y,
                          struct vl_error *err);
/* dx = mask * dy. */
int vl_nn_dropout_backward(struct vl_nn_ctx *ctx, struct vl_nn_dropout *l,
                           const struct vl_nn_tensor *dy, struct vl_nn_tensor **dx,
                           struct vl_error *err);
/* Frees the layer's activations. */
void vl_nn_dropout_free(struct vl_nn_dropout *l);

/* -- 2-D pooling over NCHW -- */

enum vl_nn_pool_kind {
    VL_NN_POOL_MAX,          /* kernel, stride, padding (padding counts as -inf) */
    VL_NN_POOL_AVG,          /* kernel, stride, padding (zeros counted, as PyTorch) */
    VL_NN_POOL_ADAPTIVE_AVG, /* a fixed output size from any input size */
};

struct vl_nn_pool2d {
    enum vl_nn_pool_kind kind;
    int kernel, stride, padding; /* MAX and AVG */
    int out_h, out_w;            /* ADAPTIVE_AVG */
    int in_shape[4];             /* of the last forward */
    int *argmax;                 /* MAX: the input index of each output; owned */
    size_t argmax_cap;
    struct vl_nn_tensor y, dx;
};

/* Max pooling, as PyTorch's nn.MaxPool2d(kernel, stride, padding). */
void vl_nn_maxpool2d_init(struct vl_nn_pool2d *l, int kernel, int stride, int padding);
/* Average pooling, as nn.AvgPool2d(kernel, stride, padding). */
void vl_nn_avgpool2d_init(struct vl_nn_pool2d *l, int kernel, int stride, int padding);
/* Adaptive average pooling to out_h x out_w, as nn.AdaptiveAvgPool2d: cell i
 * of H covers rows floor(i*H/out_h) to ceil((i+1)*H/out_h). */
void vl_nn_adaptive_avgpool2d_init(struct vl_nn_pool2d *l, int out_h, int out_w);
/* x [N, C, H, W] -> y [N, C, OH, OW]. */
int vl_nn_pool2d_forward(struct vl_nn_ctx *ctx, struct vl_nn_pool2d *l,
                         const struct vl_nn_tensor *x, struct vl_nn_tensor **y,
                         struct vl_error *err);
/* dy -> dx [N, C, H, W]. */
int vl_nn_pool2d_backward(struct vl_nn_ctx *ctx, struct vl_nn_pool2d *l,
                          const struct vl_nn_tensor *dy, struct vl_nn_tensor **dx,
                          struct vl_error *err);
/* Frees the layer's activations. */
void vl_nn_pool2d_free(struct vl_nn_pool2d *l);

/* -- mean over a range of axes: global average pooling, pooling over time -- */

struct vl_nn_mean {
    int first, last; /* axes averaged, inclusive; negative counts from the end */
    int in_ndim, in_shape[VL_NN_MAX_DIMS];
    struct vl_nn_tensor y, dx;
};

/* Averages axes first..last (inclusive) away: (2, -1) is global average
 * pooling of [N, C, H, W] or [N, C, T] to [N, C]; (1, 1) pools [N, T, D]
 * over time to [N, D]. */
void vl_nn_mean_init(struct vl_nn_mean *l, int first, int last);
/* x -> y without the averaged axes. */
int vl_nn_mean_forward(struct vl_nn_ctx *ctx, struct vl_nn_mean *l, const struct vl_nn_tensor *x,
                       struct vl_nn_tensor **y, struct vl_error *err);
/* dy -> dx of x's shape (dy spread evenly). */
int vl_nn_mean_backward(struct vl_nn_ctx *ctx, struct vl_nn_mean *l, const struct vl_nn_tensor *dy,
                        struct vl_nn_tensor **dx, struct vl_error *err);
/* Frees the layer's activations. */
void vl_nn_mean_free(struct vl_nn_mean *l);

/* -- multi-head self-attention, batch first, as nn.MultiheadAttention -- */

struct vl_nn_attention {
    int embed_dim, num_heads;
    struct vl_nn_linear in_proj;  /* name.in_proj_weight [3E, E], name.in_proj_bias [3E] */
    struct vl_nn_linear out_proj; /* name.out_proj.weight [E, E], name.out_proj.bias [E] */
    const uint8_t *mask;          /* of the last forward */
    int batch, length;            /* of the last forward */
    struct vl_nn_tensor probs;    /* [N, H, L, L] attention weights */
    struct vl_nn_tensor heads;    /* [N, L, E]: every head's output, concatenated */
    struct vl_nn_tensor dqkv;     /* [N, L, 3E] */
    struct vl_nn_tensor dprobs;   /* [H, L, L]: one sample's heads */
};

/* Registers the projections (Xavier uniform weights, zero biases, as
 * PyTorch); embed_dim must be divisible by num_heads. */
int vl_nn_attention_init(struct vl_nn_attention *l, struct vl_nn_params *reg, const char *name,
                         int embed_dim, int num_heads, struct vl_rng *rng, struct vl_error *err);
/* x [N, L, E] -> y [N, L, E]; key_padding_mask is NULL or [N, L] bytes,
 * nonzero for padded positions no query may attend to (PyTorch's True); it
 * must stay valid until backward.  A row whose keys are all masked gives 0. */
int vl_nn_attention_forward(struct vl_nn_ctx *ctx, struct vl_nn_attention *l,
                            const struct vl_nn_tensor *x, const uint8_t *key_padding_mask,
                            struct vl_nn_tensor **y, struct vl_error *err);
/* dy -> dx [N, L, E]; accumulates the projections' gradients. */
int vl_nn_attention_backward(struct vl_nn_ctx *ctx, struct vl_nn_attention *l,
                             const struct vl_nn_tensor *dy, struct vl_nn_tensor **dx,
                             struct vl_error *err);
/* Frees the layer's activations. */
void vl_nn_attention_free(struct vl_nn_attention *l);

/* -- GRU: one layer, batch first, h0 = 0, full backpropagation through time -- */

struct vl_nn_gru {
    int input_size, hidden_size;
    struct vl_nn_param *weight_ih; /* name.weight_ih_l0 [3H, I], gates r, z, n */
    struct vl_nn_param *weight_hh; /* name.weight_hh_l0 [3H, H] */
    struct vl_nn_param *bias_ih;   /* name.bias_ih_l0 [3H] */
    struct vl_nn_param *bias_hh;   /* name.bias_hh_l0 [3H] */
    const struct vl_nn_tensor *x;
    struct vl_nn_tensor gi;    /* [N, T, 3H]: x W_ih^T + b_ih */
    struct vl_nn_tensor gh;    /* [N, T, 3H]: h_{t-1} W_hh^T + b_hh */
    struct vl_nn_tensor gates; /* [N, T, 3H]: r, z, n after their nonlinearity */
    struct vl_nn_tensor y;     /* [N, T, H]: h_t */
    struct vl_nn_tensor dgi, dgh, dh, dx;
};

/* Registers the four tensors with PyTorch's nn.GRU names and its init
 * U(-1/sqrt(H), 1/sqrt(H)). */
int vl_nn_gru_init(struct vl_nn_gru *l, struct vl_nn_params *reg, const char *name, int input_size,
                   int hidden_size, struct vl_rng *rng, struct vl_error *err);
/* x [N, T, I] -> y [N, T, H] (every step's hidden state; the last step,
 * y[:, T-1], is h_n). */
int vl_nn_gru_forward(struct vl_nn_ctx *ctx, struct vl_nn_gru *l, const struct vl_nn_tensor *x,
                      struct vl_nn_tensor **y, struct vl_error *err);
/* dy [N, T, H] (zeros where only h_n is used) -> dx [N, T, I]. */
int vl_nn_gru_backward(struct vl_nn_ctx *ctx, struct vl_nn_gru *l, const struct vl_nn_tensor *dy,
                       struct vl_nn_tensor **dx, struct vl_error *err);
/* Frees the layer's activations. */
void vl_nn_gru_free(struct vl_nn_gru *l);

/* -- ViT patch embedding: conv2d with stride = kernel = patch, then tokens -- */

struct vl_nn_patch_embed {
    int embed_dim, patch, grid_h, grid_w, cls;
    struct vl_nn_conv2d proj;      /* name.proj.weight [E, C, p, p], name.proj.bias [E] */
    struct vl_nn_param *cls_token; /* name.cls_token [1, 1, E], or NULL */
    struct vl_nn_param *pos_embed; /* name.pos_embed [1, P (+1), E] */
    struct vl_nn_tensor y, dconv;
};

/* Registers the projection, an optional class token and a learned position
 * embedding (truncated normal, std 0.02) for images of img_h x img_w (both
 * divisible by patch). */
int vl_nn_patch_embed_init(struct vl_nn_patch_embed *l, struct vl_nn_params *reg, const char *name,
                           int in_channels, int img_h, int img_w, int patch, int embed_dim,
                           int cls_token, struct vl_rng *rng, struct vl_error *err);
/* x [N, C, img_h, img_w] -> y [N, (1 +) P, E] with the position embedding
 * added; the class token, when present, is token 0. */
int vl_nn_patch_embed_forward(struct vl_nn_ctx *ctx, struct vl_nn_patch_embed *l,
                              const struct vl_nn_tensor *x, struct vl_nn_tensor **y,
                              struct vl_error *err);
/* dy -> dx [N, C, img_h, img_w]; accumulates every parameter's gradient. */
int vl_nn_patch_embed_backward(struct vl_nn_ctx *ctx, struct vl_nn_patch_embed *l,
                               const struct vl_nn_tensor *dy, struct vl_nn_tensor **dx,
                               struct vl_error *err);
/* Frees the layer's activations. */
void vl_nn_patch_embed_free(struct vl_nn_patch_embed *l);

/* -- pre-norm transformer encoder block, as nn.TransformerEncoderLayer(
 *    norm_first=True, activation="gelu", batch_first=True):
 *    h = x + drop(attn(norm1(x)));  y = h + drop(linear2(drop(gelu(linear1(norm2(h)))))) -- */

struct vl_nn_encoder_block {
    struct vl_nn_layernorm norm1, norm2;
    struct vl_nn_attention self_attn;
    struct vl_nn_linear linear1, linear2;
    struct vl_nn_activation act;
    struct vl_nn_dropout drop_attn, drop_mlp, drop_out;
    struct vl_nn_tensor h, y, dh, dx;
};

/* Registers name.norm1.*, name.self_attn.*, name.linear1.*, name.linear2.*,
 * name.norm2.* with PyTorch's names; dropout p (0 for none). */
int vl_nn_encoder_block_init(struct vl_nn_encoder_block *l, struct vl_nn_params *reg,
                             const char *name, int dim, int num_heads, int mlp_dim, float dropout,
                             struct vl_rng *rng, struct vl_error *err);
/* x [N, L, E] -> y [N, L, E]; key_padding_mask as for attention. */
int vl_nn_encoder_block_forward(struct vl_nn_ctx *ctx, struct vl_nn_encoder_block *l,
                                const struct vl_nn_tensor *x, const uint8_t *key_padding_mask,
                                struct vl_nn_tensor **y, struct vl_error *err);
/* dy -> dx [N, L, E]. */
int vl_nn_encoder_block_backward(struct vl_nn_ctx *ctx, struct vl_nn_encoder_block *l,
                                 const struct vl_nn_tensor *dy, struct vl_nn_tensor **dx,
                                 struct vl_error *err);
/* Frees the block's activations. */
void vl_nn_encoder_block_free(struct vl_nn_encoder_block *l);

/* -- losses over logits [N, C] and labels in 0..C-1 -- */

/* Softmax cross-entropy, the mean over the batch; with class_weight ([C] or
 * NULL) the weighted mean sum(w[y_i] l_i) / sum(w[y_i]), as PyTorch.  Writes
 * the loss to *loss and, when dlogits is not NULL, d loss / d logits into it
 * (resized to [N, C]).  -1 for a label out of range. */
int vl_nn_cross_entropy(struct vl_nn_ctx *ctx, const struct vl_nn_tensor *logits, const int *labels,
                        const float *class_weight, float *loss, struct vl_nn_tensor *dlogits,
                        struct vl_error *err);
/* Multiclass hinge loss, as PyTorch's nn.MultiMarginLoss(p=1, margin):
 * l_i = w[y_i] sum_{j != y_i} max(0, margin - x_{y_i} + x_j) / C, the plain
 * mean over the batch; class_weight [C] or NULL.  Gradient as above. */
int vl_nn_hinge_loss(struct vl_nn_ctx *ctx, const struct vl_nn_tensor *logits, const int *labels,
                     const float *class_weight, float margin, float *loss,
                     struct vl_nn_tensor *dlogits, struct vl_error *err);
/* One-vs-rest squared hinge, LinearSVC's loss: the batch mean of
 * sum_c max(0, 1 - y_c x_c)^2 with y_c = +1 for the true class, else -1.
 * Gradient as above. */
int vl_nn_squared_hinge_ovr(struct vl_nn_ctx *ctx, const struct vl_nn_tensor *logits,
                            const int *labels, float *loss, struct vl_nn_tensor *dlogits,
                            struct vl_error *err);
/* probs = softmax(logits) over the last axis (resized to logits' shape). */
int vl_nn_softmax(struct vl_nn_ctx *ctx, const struct vl_nn_tensor *logits,
                  struct vl_nn_tensor *probs, struct vl_error *err);

#endif
