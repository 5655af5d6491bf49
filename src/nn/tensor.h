/* tensor.h - float32 tensors, the named-parameter registry and the execution
 * context of the neural-network core.
 *
 * A tensor is a contiguous row-major float32 array of up to five dimensions.
 * It owns its buffer (cap > 0) or is a view of another tensor's buffer
 * (cap == 0, made by vl_nn_tensor_view).  vl_nn_tensor_resize reallocates
 * only when the new size exceeds the capacity, so a layer that owns its
 * output and input-gradient tensors allocates them on the first batch of a
 * shape and reuses them afterwards: no allocation in the training loop.
 *
 * Parameters live in a struct vl_nn_params registry, each with a stable
 * dotted name ("conv1.weight", "gru.weight_ih_l0") and the shape PyTorch
 * gives the same layer, so a checkpoint written from the registry loads into
 * the PyTorch twin of a model by name.  Buffers (batch-norm running
 * statistics) are registered too, with trainable = 0: they are saved, but
 * have no gradient and no optimiser step.
 *
 * Gradients accumulate (+=) in backward, as in PyTorch; call
 * vl_nn_params_zero_grad before each batch.
 *
 * struct vl_nn_ctx is what every forward and backward call takes: the
 * compute backend (struct vl_nn_backend in nn/backend.h; the CPU one unless
 * a GPU backend is chosen), whether the model is training (dropout, batch
 * norm), the seeded generator of dropout masks, and a scratch buffer that
 * kernels share (im2col columns). */
#ifndef VL_NN_TENSOR_H
#define VL_NN_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "util/rng.h"

#define VL_NN_MAX_DIMS 5

/* Where a tensor's data lives: host memory, or the memory of a context's
 * backend (its alloc entry; a CUDA device's).  The CPU backend's memory is
 * the host's.  A context whose mem is VL_NN_MEM_DEVICE places the tensors
 * that vl_nn_tensor_resize_ctx first allocates for it, and those that
 * vl_nn_tensor_place moves there, in its backend's memory: such a tensor
 * keeps that context as its owner and grows and is freed through the
 * owner's alloc and free entries, so the owner must outlive it (and stay on
 * the backend that allocated it).  The host never reads or writes a device
 * tensor's data but through vl_nn_tensor_read and vl_nn_tensor_write. */
enum vl_nn_mem { VL_NN_MEM_HOST = 0, VL_NN_MEM_DEVICE = 1 };

struct vl_nn_tensor {
    float *data;
    enum vl_nn_mem mem; /* VL_NN_MEM_HOST unless a device context placed it */
    int ndim;
    int shape[VL_NN_MAX_DIMS];
    size_t size; /* elements: the product of shape[0..ndim) */
    size_t cap;  /* elements allocated; 0 for a view, which never frees data */
    struct vl_nn_ctx *owner; /* VL_NN_MEM_DEVICE: whose backend allocated data; not owned */
};

/* Sets t to an empty owned tensor (no allocation). */
void vl_nn_tensor_init(struct vl_nn_tensor *t);
/* Gives t the shape (ndim <= 5, every dim >= 1), growing its buffer only when
 * needed, where it lives (a device tensor through its owner); contents are
 * unspecified.  Returns -1 (err set) for a bad shape, a view that would have
 * to grow, or a device allocation that failed (the backend's check then
 * says why; t is left empty there); aborts when host memory runs out. */
int vl_nn_tensor_resize(struct vl_nn_tensor *t, int ndim, const int *shape, struct vl_error *err);
/* The same, but a tensor without a buffer yet is first placed where ctx puts
 * tensors (ctx NULL or on the host: exactly vl_nn_tensor_resize).  What every
 * layer calls for the tensors it owns. */
struct vl_nn_ctx;
int vl_nn_tensor_resize_ctx(struct vl_nn_ctx *ctx, struct vl_nn_tensor *t, int ndim,
                            const int *shape, struct vl_error *err);
/* Moves a host tensor's buffer to ctx's memory (upload, then the host buffer
 * freed) when ctx places tensors on a device; nothing otherwise, or for a
 * tensor already there.  -1 (err set, t unchanged) when the allocation
 * failed or t is a view. */
int vl_nn_tensor_place(struct vl_nn_ctx *ctx, struct vl_nn_tensor *t, struct vl_error *err);
/* Copies t's size floats to host memory out, wherever t lives. */
void vl_nn_tensor_read(const struct vl_nn_tensor *t, float *out);
/* Copies t's size floats from host memory in into t, wherever t lives. */
void vl_nn_tensor_write(struct vl_nn_tensor *t, const float *in);
/* Like vl_nn_tensor_resize, then sets every element to 0. */
int vl_nn_tensor_zeros(struct vl_nn_tensor *t, int ndim, const int *shape, struct vl_error *err);
/* Returns a non-owning view of t's data with another shape of the same size
 * (the caller checks the size; asserted); valid while t's buffer is. */
struct vl_nn_tensor vl_nn_tensor_view(const struct vl_nn_tensor *t, int ndim, const int *shape);
/* Resizes dst to src's shape and copies src's data into it. */
int vl_nn_tensor_copy(struct vl_nn_tensor *dst, const struct vl_nn_tensor *src,
                      struct vl_error *err);
/* Sets every element of t to v. */
void vl_nn_tensor_fill(struct vl_nn_tensor *t, float v);
/* dst += alpha * src, element-wise; the sizes must match (asserted). */
void vl_nn_tensor_axpy(struct vl_nn_tensor *dst, float alpha, const struct vl_nn_tensor *src);
/* dst = src with axes a and b exchanged (0 <= a, b < ndim), host tensors;
 * dst must not alias src.  Its own inverse: the backward of a swap is the
 * same swap. */
int vl_nn_tensor_swap_axes(struct vl_nn_tensor *dst, const struct vl_nn_tensor *src, int a, int b,
                           struct vl_error *err);
/* The same on ctx's backend (NULL: the CPU's), wherever the tensors live. */
int vl_nn_tensor_swap_axes_ctx(struct vl_nn_ctx *ctx, struct vl_nn_tensor *dst,
                               const struct vl_nn_tensor *src, int a, int b, struct vl_error *err);
/* Returns 1 when a and b have the same ndim and dims. */
int vl_nn_tensor_same_shape(const struct vl_nn_tensor *a, const struct vl_nn_tensor *b);
/* Writes "[2, 3, 4]" into buf (always NUL-terminated), for messages. */
const char *vl_nn_shape_str(const struct vl_nn_tensor *t, char *buf, size_t n);
/* Frees an owned buffer (a device one through its owner; a view is left
 * alone) and empties t. */
void vl_nn_tensor_free(struct vl_nn_tensor *t);

/* -- parameters -- */

struct vl_nn_param {
    char *name;                /* owned; "prefix.name" */
    struct vl_nn_tensor value; /* owned */
    struct vl_nn_tensor grad;  /* owned, same shape; empty when !trainable */
    int trainable;             /* 0: a buffer (running statistics), never stepped */
    int decay;                 /* 1: weight decay applies (weights and kernels, not biases,
                                  norms or embeddings) */
};

struct vl_nn_params {
    struct vl_nn_param **items; /* pointers stay valid as the registry grows */
    size_t count, cap;
};

/* Sets p to an empty registry. */
void vl_nn_params_init(struct vl_nn_params *p);
/* Registers a parameter named "prefix.name" (or "name" when prefix is NULL or
 * empty) of the given shape, zero-filled, with a zeroed gradient when
 * trainable.  Returns the parameter, owned by p; NULL (err set) for a
 * duplicate name or a bad shape. */
struct vl_nn_param *vl_nn_params_add(struct vl_nn_params *p, const char *prefix, const char *name,
                                     int ndim, const int *shape, int trainable, int decay,
                                     struct vl_error *err);
/* Returns the parameter of that exact name, or NULL. */
struct vl_nn_param *vl_nn_params_find(const struct vl_nn_params *p, const char *name);
/* Zeroes every trainable parameter's gradient (host memory). */
void vl_nn_params_zero_grad(struct vl_nn_params *p);
/* The same through ctx's backend, wherever the gradients live. */
void vl_nn_params_zero_grad_ctx(struct vl_nn_ctx *ctx, struct vl_nn_params *p);
/* Moves every parameter's value and gradient to ctx's memory
 * (vl_nn_tensor_place): what a trainer does once the model is built and
 * initialised on the host.  -1 (err naming the parameter) when out of
 * memory; what moved stays moved. */
int vl_nn_params_place(struct vl_nn_ctx *ctx, struct vl_nn_params *p, struct vl_error *err);
/* Returns the number of trainable scalars (what a model summary prints). */
size_t vl_nn_params_trainable_count(const struct vl_nn_params *p);
/* Frees every parameter and the registry's array. */
void vl_nn_params_free(struct vl_nn_params *p);

/* -- initialisation (all draw from rng, so a seed fixes a model's weights) -- */

/* He (Kaiming) normal, for layers followed by ReLU: N(0, 2 / fan_in). */
void vl_nn_init_kaiming_normal(struct vl_nn_tensor *t, int fan_in, struct vl_rng *rng);
/* Xavier (Glorot) uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out)). */
void vl_nn_init_xavier_uniform(struct vl_nn_tensor *t, int fan_in, int fan_out, struct vl_rng *rng);
/* U(-bound, bound): PyTorch's default for Linear and Conv weights and biases
 * is bound = 1 / sqrt(fan_in). */
void vl_nn_init_uniform(struct vl_nn_tensor *t, float bound, struct vl_rng *rng);
/* N(0, std^2) truncated to [-2 std, 2 std] (ViT's class token and position
 * embedding). */
void vl_nn_init_trunc_normal(struct vl_nn_tensor *t, float std, struct vl_rng *rng);

/* -- context -- */

struct vl_nn_backend;

struct vl_nn_ctx {
    const struct vl_nn_backend *backend; /* not owned; vl_nn_backend_cpu() by default */
    void *backend_state;                 /* the backend's handles (cuBLAS, cuDNN), if any */
    int training;                        /* 1: dropout active, batch norm uses batch stats */
    struct vl_rng rng;                   /* dropout masks */
    float *scratch;                      /* shared workspace, grown by vl_nn_ctx_scratch */
    size_t scratch_cap;                  /* elements */
    /* where the tensors this context allocates live: VL_NN_MEM_HOST (the
     * default), or VL_NN_MEM_DEVICE, the backend's memory (whoever attaches
     * a device backend sets it) */
    enum vl_nn_mem mem;
};

/* Initialises ctx on the CPU backend, placing tensors on the host, with
 * dropout seeded by seed, in training mode.  Sets OpenBLAS to one thread:
 * results are then bit-identical run to run, and parallelism comes from
 * vlbuild running several jobs. */
void vl_nn_ctx_init(struct vl_nn_ctx *ctx, uint64_t seed);
/* Returns a host workspace of at least n floats, valid until the next call;
 * owned by ctx; aborts when out of memory. */
float *vl_nn_ctx_scratch(struct vl_nn_ctx *ctx, size_t n);
/* Frees the workspace. */
void vl_nn_ctx_free(struct vl_nn_ctx *ctx);

#endif
