/* optim.h - optimisers, learning-rate schedules and gradient clipping over a
 * struct vl_nn_params registry.
 *
 * The update rules are PyTorch's, so a run here and a run of the same model
 * in PyTorch from the same weights take the same steps:
 *   SGD:   g = grad + wd*p (when p->decay);  b = mu*b + g (b = g at the first
 *          step);  g = nesterov ? g + mu*b : b;  p -= lr*g
 *   AdamW: p -= lr*wd*p (when p->decay);  m = b1*m + (1-b1)*g;
 *          v = b2*v + (1-b2)*g^2;  p -= lr * (m/(1-b1^t)) / (sqrt(v/(1-b2^t)) + eps)
 * Weight decay applies only to parameters registered with decay = 1
 * (weights and kernels), the usual practice for biases, norms and
 * embeddings; PyTorch's bare default decays all of them.
 *
 * The optimiser's state (momentum buffers, Adam moments, the step count)
 * is public so that a checkpoint can save it and a resumed run restore it:
 * state[i] belongs to params->items[i]. */
#ifndef VL_NN_OPTIM_H
#define VL_NN_OPTIM_H

#include "nn/tensor.h"

enum vl_nn_optim_kind { VL_NN_SGD, VL_NN_ADAMW };

struct vl_nn_optim_config {
    enum vl_nn_optim_kind kind;
    float weight_decay;      /* SGD: L2 added to the gradient; AdamW: decoupled */
    float momentum;          /* SGD; 0 for plain SGD */
    int nesterov;            /* SGD, with momentum > 0 */
    float beta1, beta2, eps; /* AdamW: 0.9, 0.999, 1e-8 as PyTorch */
};

struct vl_nn_optim_state {
    struct vl_nn_tensor m; /* SGD momentum buffer, or Adam's first moment */
    struct vl_nn_tensor v; /* Adam's second moment; empty for SGD */
};

struct vl_nn_optim {
    struct vl_nn_optim_config config;
    struct vl_nn_params *params;     /* not owned */
    struct vl_nn_optim_state *state; /* one per registry item, owned */
    size_t count;                    /* registry items when created */
    long step;                       /* steps taken */
    struct vl_nn_ctx *ctx;           /* not owned; whose backend steps; NULL: the CPU's */
};

/* Returns PyTorch's defaults for kind (SGD: momentum 0; AdamW: betas 0.9,
 * 0.999, eps 1e-8, weight decay 0.01). */
struct vl_nn_optim_config vl_nn_optim_defaults(enum vl_nn_optim_kind kind);
/* Creates an optimiser over every trainable parameter of params (register
 * them all first); zeroed state.  -1 for a bad config (negative rates,
 * nesterov without momentum, betas outside [0, 1)). */
int vl_nn_optim_init(struct vl_nn_optim *o, struct vl_nn_params *params,
                     const struct vl_nn_optim_config *config, struct vl_error *err);
/* Makes the steps run on ctx's backend (where the parameters live); ctx
 * must outlive o.  Until then, and with NULL, they run on the CPU's. */
void vl_nn_optim_bind(struct vl_nn_optim *o, struct vl_nn_ctx *ctx);
/* Takes one step with learning rate lr from the accumulated gradients. */
void vl_nn_optim_step(struct vl_nn_optim *o, float lr);
/* Frees the optimiser's state. */
void vl_nn_optim_free(struct vl_nn_optim *o);

/* Scales every trainable gradient so that their global L2 norm is at most
 * max_norm (as torch.nn.utils.clip_grad_norm_); returns the norm before. */
float vl_nn_clip_grad_norm(struct vl_nn_params *params, float max_norm);
/* The same on ctx's backend (NULL: the CPU's): the squares summed in
 * parameter order in double, the scaling by the backend's scale entry. */
float vl_nn_clip_grad_norm_ctx(struct vl_nn_ctx *ctx, struct vl_nn_params *params, float max_norm);

/* -- learning-rate schedules, a pure function of the step -- */

enum vl_nn_schedule_kind {
    VL_NN_LR_CONSTANT,
    VL_NN_LR_STEP,   /* lr * gamma^(floor(step / step_size)) */
    VL_NN_LR_COSINE, /* linear warmup, then cosine from lr to min_lr at total_steps */
};

struct vl_nn_schedule {
    enum vl_nn_schedule_kind kind;
    float lr;          /* base */
    long warmup_steps; /* all kinds: ramp linearly from lr/warmup to lr over these */
    long step_size;    /* STEP */
    float gamma;       /* STEP */
    long total_steps;  /* COSINE */
    float min_lr;      /* COSINE */
};

/* Returns the learning rate of step (0-based). */
float vl_nn_schedule_lr(const struct vl_nn_schedule *s, long step);

#endif
