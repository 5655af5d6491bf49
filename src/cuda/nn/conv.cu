/* conv.cu - the CUDA backend's convolutions, conv2d_forward and
 * conv2d_backward (nn/backend.h), on cuDNN 9's backend (graph) API only;
 * conv1d is the same path with h = kh = 1.
 *
 * Layouts as the CPU's: x [n, c, h, w], w [k, c, kh, kw], y [n, k, oh, ow],
 * all NCHW-packed fp32; cross-correlation, dilation 1, zero padding ph, pw
 * on both sides (cuDNN's output size is then the CPU's floor
 * (h + 2 ph - kh) / sh + 1).
 *
 * One plan per (geometry, direction, precision), made on first use and
 * cached (shape_cache.h): three tensor descriptors (unique ids 'x', 'w',
 * 'y', byte alignment 4 so any float pointer will do), the convolution
 * descriptor, one operation (CONVOLUTION_FORWARD with alpha 1, beta 0;
 * BACKWARD_DATA with alpha 1, beta 0, dx overwritten; BACKWARD_FILTER with
 * alpha 1, beta 1, so dw accumulates), its operation graph, and the
 * execution plan of the first engine config the heuristics (CUDNN_HEUR_MODE_A,
 * then CUDNN_HEUR_MODE_FALLBACK if A leaves none) offer whose engine is
 * deterministic and has none of the DOWN_CONVERT_INPUTS and
 * REDUCED_PRECISION_REDUCTION numerical notes (accumulation stays fp32)
 * nor, in fp32 (TF32-free), the TENSOR_CORE one, that finalizes, and that
 * wants at most 1 GiB of workspace.
 * Determinism is judged on the engine: cuDNN states it there (the
 * NONDETERMINISTIC note), for whatever knob choices the heuristic made.
 * Every descriptor of a plan lives as long as the plan.  A call then makes
 * only its variant pack (its pointers), executes and frees it.
 * st->dnn_workspace grows (stream-ordered) to the largest workspace a plan
 * has needed.
 *
 * The bias is added and its gradient summed by the two small kernels here:
 * a grid-stride add, and one block per channel that sums each sample's
 * oh x ow values in double through a fixed tree in shared memory and adds
 * them to db sample after sample in float, as the CPU does (no atomics, so
 * the same bits every run).
 *
 * bf16 (VL_CUDA_NN_BF16): each entry casts the fp32 arrays its directions
 * read (x, w, dy) once into bf16 copies in the cache's scratch (bf16.h:
 * round to nearest even, grown by doubling, 256-byte aligned, so those
 * tensors say alignment 16) and runs plans whose input tensors are
 * CUDNN_DATA_BFLOAT16, the compute type CUDNN_DATA_FLOAT, and tensor-core
 * engines allowed.  A plan first asks for its output (y, dx, dw) in fp32,
 * written where the caller wants it (dw with beta 1, as in fp32).  Which
 * engines take bf16 inputs with an fp32 output is cuDNN's to say per
 * geometry (not every engine mixes types), so when that graph gets no
 * engine, quietly, the plan is built again with the output in bf16 too:
 * then the call's output goes to the scratch (beta 0) and a kernel widens
 * it into y or dx, or adds it to dw in fp32.  The plan records which it
 * got; the bias stays fp32 either way.
 * The handle reaches the graph and the plan through
 * CUDNN_ATTR_OPERATIONGRAPH_HANDLE and CUDNN_ATTR_EXECUTION_PLAN_HANDLE:
 * the 9.19 headers mark them deprecated in favour of device-property
 * descriptors, which only cuDNN 9.8 introduced, and cudnn-frontend's graph
 * and plan builders still set them.
 * Compiled by nvcc only; it has never run on a GPU. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/nn/bf16.h"
#include "cuda/nn/nn_cuda.h"
#include "cuda/nn/shape_cache.h"

#define CONV_CACHE_CAPACITY 96
#define CONV_THREADS 256 /* a power of two: bias_grad's tree halves it */
#define CONV_MAX_BLOCKS 4096
#define CONV_MAX_ENGINE_CONFIGS 256
/* an engine wanting more (FFT ones can ask for gigabytes) is passed over */
#define CONV_MAX_WORKSPACE_BYTES ((int64_t)1 << 30)

enum conv_direction { CONV_FORWARD, CONV_BACKWARD_DATA, CONV_BACKWARD_FILTER };

static const char *const direction_names[] = {"forward", "backward data", "backward filter"};

/* the tensors' unique ids in the graph and the variant pack */
enum { UID_X = 'x', UID_W = 'w', UID_Y = 'y' };

/* One plan as the cache keys it: ints only (the geometry's fields, then
 * the direction and the precision), so no padding. */
struct conv_key {
    struct vl_nn_conv_geom g;
    int direction;
    int precision; /* enum vl_cuda_nn_precision */
};
static_assert(sizeof(struct conv_key) == sizeof(struct vl_nn_conv_geom) + 2 * sizeof(int),
              "conv_key has padding");
static_assert(sizeof(struct conv_key) <= VL_CUDA_NN_CACHE_KEY_MAX, "conv_key outgrew the cache");

/* A plan's descriptors, destroyed in reverse order. */
enum { D_X, D_W, D_Y, D_CONV, D_OP, D_GRAPH, D_CFG, D_PLAN, D_COUNT };

struct conv_plan {
    cudnnBackendDescriptor_t desc[D_COUNT];
    int64_t workspace_bytes;
    int output_bf16; /* bf16 only: the output tensor is bf16, widened by the call */
};

/* The tensor role (D_X, D_W or D_Y) each direction writes; it reads the
 * other two. */
static const int output_roles[] = {D_Y, D_X, D_W};

struct vl_cuda_nn_conv_cache {
    struct vl_cuda_nn_cache plans;
    struct vl_cuda_nn_bf16_scratch operands; /* bf16: the copies and bf16 outputs */
};

/* g as text for a failure message. */
static void geometry_describe(const struct vl_nn_conv_geom *g, char *out, size_t n)
{
    snprintf(out, n,
             "n %d c %d h %d w %d k %d kernel %dx%d stride %dx%d padding %dx%d output %dx%d", g->n,
             g->c, g->h, g->w, g->k, g->kh, g->kw, g->sh, g->sw, g->ph, g->pw, g->oh, g->ow);
}

/* key as text for a failure message. */
static void key_describe(const struct conv_key *key, char *out, size_t n)
{
    char geometry[192];
    geometry_describe(&key->g, geometry, sizeof geometry);
    snprintf(out, n, "conv2d %s %s %s", direction_names[key->direction],
             key->precision == VL_CUDA_NN_BF16 ? "bf16" : "fp32", geometry);
}

/* Records rc, when it is an error, as what failed (for key, NULL at init)
 * with cuDNN's status and its last error message; 0 or -1. */
static int dnn_check(struct vl_cuda_nn_state *st, const struct conv_key *key, cudnnStatus_t rc,
                     const char *what)
{
    if (rc == CUDNN_STATUS_SUCCESS) return 0;
    char shape[256] = "cudnn", detail[256] = "";
    if (key) key_describe(key, shape, sizeof shape);
    cudnnGetLastErrorString(detail, sizeof detail);
    int oom = rc == CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED ||
              rc == CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED;
    vl_cuda_nn_fail(st, oom, "%s: %s: %s%s%s", shape, what, cudnnGetErrorString(rc),
                    detail[0] ? ": " : "", detail);
    return -1;
}

/* -- building a plan: every call checked, the first failure recorded and
 * the rest of the build skipped -- */

struct build {
    struct vl_cuda_nn_state *st;
    const struct conv_key *key;
    int failed;
    int quiet; /* a trial: a failure fails the build without being recorded */
};

/* Records rc for the build when it is its first error (fails it unrecorded
 * when quiet). */
static void build_check(struct build *b, cudnnStatus_t rc, const char *what)
{
    if (b->failed || rc == CUDNN_STATUS_SUCCESS) return;
    b->failed = 1;
    if (!b->quiet) dnn_check(b->st, b->key, rc, what);
}

/* A new descriptor of type, or NULL (the build failed). */
static cudnnBackendDescriptor_t build_create(struct build *b, cudnnBackendDescriptorType_t type,
                                             const char *what)
{
    cudnnBackendDescriptor_t d = NULL;
    if (b->failed) return NULL;
    build_check(b, cudnnBackendCreateDescriptor(type, &d), what);
    return b->failed ? NULL : d;
}

/* Sets count values of one attribute of d, unless the build failed. */
static void build_set(struct build *b, cudnnBackendDescriptor_t d, cudnnBackendAttributeName_t name,
                      cudnnBackendAttributeType_t type, int64_t count, const void *values,
                      const char *what)
{
    if (!b->failed) build_check(b, cudnnBackendSetAttribute(d, name, type, count, values), what);
}

/* Finalizes d, unless the build failed. */
static void build_finalize(struct build *b, cudnnBackendDescriptor_t d, const char *what)
{
    if (!b->failed) build_check(b, cudnnBackendFinalize(d), what);
}

/* each failure names the attribute or descriptor it was about */
#define DNN_SET(b, d, name, type, count, values) build_set(b, d, name, type, count, values, #name)
#define DNN_CREATE(b, type) build_create(b, type, "create " #type)
#define DNN_FINALIZE(b, d, type) build_finalize(b, d, "finalize " #type)

/* A packed NCHW tensor of dims n x c x h x w named uid, fp32 or (bf16 set)
 * bf16. */
static cudnnBackendDescriptor_t tensor_make(struct build *b, int64_t uid, int64_t n, int64_t c,
                                            int64_t h, int64_t w, int bf16)
{
    cudnnBackendDescriptor_t t = DNN_CREATE(b, CUDNN_BACKEND_TENSOR_DESCRIPTOR);
    cudnnDataType_t type = bf16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT;
    int64_t dims[4] = {n, c, h, w};
    int64_t strides[4] = {c * h * w, h * w, w, 1};
    /* a float's: an fp32 operand may start anywhere in a tensor; a bf16 one
     * is a scratch copy at a 256-byte boundary */
    int64_t alignment = bf16 ? 16 : 4;
    DNN_SET(b, t, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &type);
    DNN_SET(b, t, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, 4, dims);
    DNN_SET(b, t, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, 4, strides);
    DNN_SET(b, t, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid);
    DNN_SET(b, t, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &alignment);
    DNN_FINALIZE(b, t, CUDNN_BACKEND_TENSOR_DESCRIPTOR);
    return t;
}

/* The 2-D cross-correlation of key: fp32 compute, its strides, symmetric
 * padding, dilation 1. */
static cudnnBackendDescriptor_t convolution_make(struct build *b, const struct conv_key *key)
{
    cudnnBackendDescriptor_t d = DNN_CREATE(b, CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR);
    cudnnDataType_t compute = CUDNN_DATA_FLOAT;
    cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
    int64_t spatial = 2;
    int64_t dilations[2] = {1, 1}, strides[2] = {key->g.sh, key->g.sw};
    int64_t padding[2] = {key->g.ph, key->g.pw};
    DNN_SET(b, d, CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &compute);
    DNN_SET(b, d, CUDNN_ATTR_CONVOLUTION_CONV_MODE, CUDNN_TYPE_CONVOLUTION_MODE, 1, &mode);
    DNN_SET(b, d, CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, CUDNN_TYPE_INT64, 1, &spatial);
    DNN_SET(b, d, CUDNN_ATTR_CONVOLUTION_DILATIONS, CUDNN_TYPE_INT64, 2, dilations);
    DNN_SET(b, d, CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, CUDNN_TYPE_INT64, 2, strides);
    DNN_SET(b, d, CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, CUDNN_TYPE_INT64, 2, padding);
    DNN_SET(b, d, CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, CUDNN_TYPE_INT64, 2, padding);
    DNN_FINALIZE(b, d, CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR);
    return d;
}

/* Each direction's operation: its descriptor type and the attributes that
 * take the tensors in the roles x, w, y (dx, dw, dy where they are the
 * gradients), the convolution, alpha and beta, with their names. */
struct operation_kind {
    cudnnBackendDescriptorType_t type;
    const char *type_name;
    cudnnBackendAttributeName_t attrs[6];
    const char *attr_names[6];
};

/* clang-format off */
#define OPERATION_KIND(type, prefix, x, w, y)                                                      \
    {type, #type,                                                                                  \
     {prefix##x, prefix##w, prefix##y, prefix##CONV_DESC, prefix##ALPHA, prefix##BETA},           \
     {#prefix #x, #prefix #w, #prefix #y, #prefix "CONV_DESC", #prefix "ALPHA", #prefix "BETA"}}
/* clang-format on */

static const struct operation_kind operation_kinds[] = {
    OPERATION_KIND(CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR,
                   CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_, X, W, Y),
    OPERATION_KIND(CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR,
                   CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_, DX, W, DY),
    OPERATION_KIND(CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_FILTER_DESCRIPTOR,
                   CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_, X, DW, DY),
};

/* The operation of key's direction on the plan's tensors and convolution
 * (desc[D_X .. D_CONV], in the kinds' role order): forward y = x * w,
 * backward data dx = dy *^T w (beta 0: overwritten), backward filter
 * dw += dy * x (beta 1), or dw = dy * x (beta 0) into a bf16 output
 * (output_bf16), which the call adds to dw. */
static cudnnBackendDescriptor_t operation_make(struct build *b, const struct conv_key *key,
                                               cudnnBackendDescriptor_t *desc, int output_bf16)
{
    const struct operation_kind *kind = &operation_kinds[key->direction];
    float alpha = 1.0f;
    float beta = key->direction == CONV_BACKWARD_FILTER && !output_bf16 ? 1.0f : 0.0f;
    cudnnBackendDescriptor_t op = build_create(b, kind->type, kind->type_name);
    for (int role = D_X; role <= D_CONV; role++)
        build_set(b, op, kind->attrs[role], CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &desc[role],
                  kind->attr_names[role]);
    build_set(b, op, kind->attrs[4], CUDNN_TYPE_FLOAT, 1, &alpha, kind->attr_names[4]);
    build_set(b, op, kind->attrs[5], CUDNN_TYPE_FLOAT, 1, &beta, kind->attr_names[5]);
    build_finalize(b, op, kind->type_name);
    return op;
}

/* The graph of the one operation op, on the state's handle. */
static cudnnBackendDescriptor_t graph_make(struct build *b, cudnnBackendDescriptor_t op)
{
    cudnnBackendDescriptor_t g = DNN_CREATE(b, CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
    DNN_SET(b, g, CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &op);
    DNN_SET(b, g, CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, 1, &b->st->dnn);
    DNN_FINALIZE(b, g, CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
    return g;
}

/* Whether cfg's engine may run at precision: 1 when deterministic and free
 * of the notes that lose precision (down-converted inputs, reduced-precision
 * reductions) and, in fp32, of tensor cores (TF32); 0 when not; -1 when its
 * notes cannot be read (then it is not trusted either). */
static int engine_allowed(cudnnBackendDescriptor_t cfg, int precision)
{
    cudnnBackendDescriptor_t engine = NULL;
    if (cudnnBackendCreateDescriptor(CUDNN_BACKEND_ENGINE_DESCRIPTOR, &engine) !=
        CUDNN_STATUS_SUCCESS)
        return -1;
    cudnnBackendNumericalNote_t notes[CUDNN_NUMERICAL_NOTE_TYPE_COUNT];
    int64_t got = 0, count = 0;
    int readable =
        cudnnBackendGetAttribute(cfg, CUDNN_ATTR_ENGINECFG_ENGINE, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
                                 &got, &engine) == CUDNN_STATUS_SUCCESS &&
        got == 1 &&
        cudnnBackendGetAttribute(engine, CUDNN_ATTR_ENGINE_NUMERICAL_NOTE,
                                 CUDNN_TYPE_NUMERICAL_NOTE, CUDNN_NUMERICAL_NOTE_TYPE_COUNT, &count,
                                 notes) == CUDNN_STATUS_SUCCESS;
    (void)cudnnBackendDestroyDescriptor(engine);
    if (!readable) return -1;
    for (int64_t i = 0; i < count && i < CUDNN_NUMERICAL_NOTE_TYPE_COUNT; i++)
        if (notes[i] == CUDNN_NUMERICAL_NOTE_NONDETERMINISTIC ||
            (notes[i] == CUDNN_NUMERICAL_NOTE_TENSOR_CORE && precision != VL_CUDA_NN_BF16) ||
            notes[i] == CUDNN_NUMERICAL_NOTE_DOWN_CONVERT_INPUTS ||
            notes[i] == CUDNN_NUMERICAL_NOTE_REDUCED_PRECISION_REDUCTION)
            return 0;
    return 1;
}

/* What a search turned away, for the message when nothing is left. */
struct search_tally {
    int offered, by_notes, not_finalized, by_workspace;
};

/* The execution plan of cfg, or NULL when cuDNN will not finalize it for
 * this graph (normal: the next config is tried); a failure to create or
 * set it fails the build. */
static cudnnBackendDescriptor_t plan_try(struct build *b, cudnnBackendDescriptor_t cfg)
{
    cudnnBackendDescriptor_t p = DNN_CREATE(b, CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
    DNN_SET(b, p, CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, 1, &b->st->dnn);
    DNN_SET(b, p, CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &cfg);
    if (!b->failed && cudnnBackendFinalize(p) == CUDNN_STATUS_SUCCESS) return p;
    if (p) (void)cudnnBackendDestroyDescriptor(p);
    return NULL;
}

/* Walks the engine configs heuristic mode offers for the plan's graph, in
 * its order; the first allowed one that finalizes within the workspace
 * limit becomes the plan's D_CFG, D_PLAN and workspace_bytes.  1 found, 0
 * none, -1 failed (recorded). */
static int plan_search(struct build *b, struct conv_plan *plan, cudnnBackendHeurMode_t mode,
                       struct search_tally *tally)
{
    cudnnBackendDescriptor_t heur = DNN_CREATE(b, CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR);
    DNN_SET(b, heur, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
            &plan->desc[D_GRAPH]);
    DNN_SET(b, heur, CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &mode);
    DNN_FINALIZE(b, heur, CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR);
    int64_t count = 0;
    if (!b->failed)
        build_check(b,
                    cudnnBackendGetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                             CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &count, NULL),
                    "CUDNN_ATTR_ENGINEHEUR_RESULTS (count)");
    if (count > CONV_MAX_ENGINE_CONFIGS) count = CONV_MAX_ENGINE_CONFIGS;
    if (count < 0) count = 0;
    cudnnBackendDescriptor_t cfgs[CONV_MAX_ENGINE_CONFIGS];
    memset(cfgs, 0, sizeof cfgs);
    for (int64_t i = 0; i < count; i++)
        cfgs[i] = DNN_CREATE(b, CUDNN_BACKEND_ENGINECFG_DESCRIPTOR);
    int64_t got = 0;
    if (!b->failed && count > 0)
        build_check(b,
                    cudnnBackendGetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                             CUDNN_TYPE_BACKEND_DESCRIPTOR, count, &got, cfgs),
                    "CUDNN_ATTR_ENGINEHEUR_RESULTS");
    int found = 0;
    for (int64_t i = 0; i < got && i < count && !found && !b->failed; i++) {
        tally->offered++;
        if (engine_allowed(cfgs[i], b->key->precision) != 1) {
            tally->by_notes++;
            continue;
        }
        cudnnBackendDescriptor_t p = plan_try(b, cfgs[i]);
        if (!p) {
            if (!b->failed) tally->not_finalized++;
            continue;
        }
        int64_t bytes = 0, n = 0;
        build_check(b,
                    cudnnBackendGetAttribute(p, CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE,
                                             CUDNN_TYPE_INT64, 1, &n, &bytes),
                    "CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE");
        if (b->failed || bytes > CONV_MAX_WORKSPACE_BYTES) {
            if (!b->failed) tally->by_workspace++;
            (void)cudnnBackendDestroyDescriptor(p);
            continue;
        }
        plan->desc[D_CFG] = cfgs[i];
        plan->desc[D_PLAN] = p;
        cfgs[i] = NULL;
        plan->workspace_bytes = bytes > 0 ? bytes : 0;
        found = 1;
    }
    for (int64_t i = 0; i < count; i++)
        if (cfgs[i]) (void)cudnnBackendDestroyDescriptor(cfgs[i]);
    if (heur) (void)cudnnBackendDestroyDescriptor(heur);
    return b->failed ? -1 : found;
}

/* Frees a struct conv_plan and every descriptor of it made so far (NULL is
 * ignored); void * for the cache. */
static void plan_free(void *value)
{
    struct conv_plan *plan = (struct conv_plan *)value;
    if (!plan) return;
    for (int i = D_COUNT - 1; i >= 0; i--)
        if (plan->desc[i]) (void)cudnnBackendDestroyDescriptor(plan->desc[i]);
    free(plan);
}

/* A new plan for key whose output tensor is bf16 (output_bf16, bf16 only)
 * or fp32, or NULL: recorded, unless quiet, when the build fails or finds
 * no engine. */
static struct conv_plan *plan_build(struct vl_cuda_nn_state *st, const struct conv_key *key,
                                    int output_bf16, int quiet)
{
    struct conv_plan *plan = (struct conv_plan *)calloc(1, sizeof *plan);
    if (!plan) {
        vl_cuda_nn_fail(st, 0, "conv2d: out of host memory");
        return NULL;
    }
    plan->output_bf16 = output_bf16;
    /* in bf16 the roles read are bf16, the one written as output_bf16 says */
    int bf16[3] = {0, 0, 0};
    for (int role = D_X; role <= D_Y; role++)
        bf16[role] = key->precision == VL_CUDA_NN_BF16 &&
                     (role != output_roles[key->direction] || output_bf16);
    struct build b = {st, key, 0, quiet};
    const struct vl_nn_conv_geom *g = &key->g;
    plan->desc[D_X] = tensor_make(&b, UID_X, g->n, g->c, g->h, g->w, bf16[D_X]);
    plan->desc[D_W] = tensor_make(&b, UID_W, g->k, g->c, g->kh, g->kw, bf16[D_W]);
    plan->desc[D_Y] = tensor_make(&b, UID_Y, g->n, g->k, g->oh, g->ow, bf16[D_Y]);
    plan->desc[D_CONV] = convolution_make(&b, key);
    plan->desc[D_OP] = operation_make(&b, key, plan->desc, output_bf16);
    plan->desc[D_GRAPH] = graph_make(&b, plan->desc[D_OP]);
    struct search_tally tally = {0, 0, 0, 0};
    int found = b.failed ? -1 : plan_search(&b, plan, CUDNN_HEUR_MODE_A, &tally);
    if (found == 0) found = plan_search(&b, plan, CUDNN_HEUR_MODE_FALLBACK, &tally);
    if (found == 0 && !quiet) {
        char shape[256];
        key_describe(key, shape, sizeof shape);
        vl_cuda_nn_fail(st, 0,
                        "%s: no deterministic %s engine: of the %d engine configs the "
                        "heuristics offered, %d were turned away by their numerical notes, %d "
                        "did not finalize and %d wanted over %lld MiB of workspace",
                        shape,
                        key->precision == VL_CUDA_NN_BF16
                            ? "bf16 engine with fp32 accumulation (its output in fp32 or bf16)"
                            : "fp32 engine without tensor cores",
                        tally.offered, tally.by_notes, tally.not_finalized, tally.by_workspace,
                        (long long)(CONV_MAX_WORKSPACE_BYTES >> 20));
    }
    if (found != 1) {
        plan_free(plan);
        return NULL;
    }
    return plan;
}

/* A new plan for the struct conv_key at key_bytes on the state context, or
 * NULL (recorded); void * for the cache.  In bf16 an fp32 output is tried
 * first, quietly, then a bf16 one (the top). */
static void *plan_make(void *context, const void *key_bytes)
{
    struct vl_cuda_nn_state *st = (struct vl_cuda_nn_state *)context;
    const struct conv_key *key = (const struct conv_key *)key_bytes;
    if (key->precision != VL_CUDA_NN_BF16) return plan_build(st, key, 0, 0);
    struct conv_plan *plan = plan_build(st, key, 0, 1);
    return plan ? plan : plan_build(st, key, 1, 0);
}

/* The cached plan for key, made on a miss (the least recently used one
 * freed when the cache is full), or NULL (recorded). */
static struct conv_plan *plan_for(struct vl_cuda_nn_state *st, const struct conv_key *key)
{
    if (!st->convs) {
        vl_cuda_nn_fail(st, 0, "conv2d: the backend was not initialised");
        return NULL;
    }
    /* an enqueued execution holds what it needs, so an evicted plan can go
     * while it is in flight */
    return (struct conv_plan *)vl_cuda_nn_cache_get(&st->convs->plans, key, plan_make, plan_free,
                                                    st);
}

/* Grows st->dnn_workspace to at least bytes; the old one is freed on the
 * stream, after the executions that use it.  0 or -1 (recorded). */
static int workspace_reserve(struct vl_cuda_nn_state *st, int64_t bytes)
{
    if ((size_t)bytes <= st->dnn_workspace_bytes) return 0;
    if (st->dnn_workspace) (void)cudaFreeAsync(st->dnn_workspace, st->stream);
    st->dnn_workspace_bytes = 0;
    st->dnn_workspace = vl_cuda_nn_alloc(st, (size_t)bytes, "cudnn workspace");
    if (!st->dnn_workspace) return -1;
    st->dnn_workspace_bytes = (size_t)bytes;
    return 0;
}

/* Runs plan on the tensors named 'x', 'w' and 'y' in its graph (dx, dw, dy
 * in the backward directions; fp32 or bf16 as the plan's tensors say), on
 * st->stream.  0 or -1 (recorded). */
static int plan_run(struct vl_cuda_nn_state *st, const struct conv_key *key, struct conv_plan *plan,
                    const void *x, const void *w, const void *y)
{
    if (workspace_reserve(st, plan->workspace_bytes) < 0) return -1;
    int64_t uids[3] = {UID_X, UID_W, UID_Y};
    void *pointers[3] = {(void *)x, (void *)w, (void *)y};
    void *workspace = plan->workspace_bytes > 0 ? st->dnn_workspace : NULL;
    struct build b = {st, key, 0, 0};
    cudnnBackendDescriptor_t pack = DNN_CREATE(&b, CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
    DNN_SET(&b, pack, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, 3, uids);
    DNN_SET(&b, pack, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, 3, pointers);
    DNN_SET(&b, pack, CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &workspace);
    DNN_FINALIZE(&b, pack, CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
    if (!b.failed)
        build_check(&b, cudnnBackendExecute(st->dnn, plan->desc[D_PLAN], pack),
                    "cudnnBackendExecute");
    if (pack) (void)cudnnBackendDestroyDescriptor(pack);
    return b.failed ? -1 : 0;
}

/* -- the bias -- */

/* y [n, k, ohw] += b[channel], grid-stride over total = n k ohw values. */
__global__ static void bias_add(float *y, const float *b, int64_t total, int k, int64_t ohw)
{
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (int64_t)gridDim.x * blockDim.x)
        y[i] += b[(i / ohw) % k];
}

/* db[channel] += the sum of dy [n, k, ohw] over n and ohw, one block
 * (CONV_THREADS threads) per channel: each sample's values summed in double
 * (strided per thread, then a fixed tree), then added to db in float in
 * sample order, as the CPU's conv2d_backward does. */
__global__ static void bias_grad(const float *dy, float *db, int n, int k, int64_t ohw)
{
    __shared__ double part[CONV_THREADS];
    int ch = blockIdx.x;
    float acc = db[ch];
    for (int s = 0; s < n; s++) {
        const float *row = dy + ((int64_t)s * k + ch) * ohw;
        double sum = 0.0;
        for (int64_t p = threadIdx.x; p < ohw; p += CONV_THREADS)
            sum += row[p];
        part[threadIdx.x] = sum;
        __syncthreads();
        for (int half = CONV_THREADS / 2; half > 0; half /= 2) {
            if ((int)threadIdx.x < half) part[threadIdx.x] += part[threadIdx.x + half];
            __syncthreads();
        }
        if (threadIdx.x == 0) acc += (float)part[0];
        __syncthreads(); /* part is the next sample's */
    }
    if (threadIdx.x == 0) db[ch] = acc;
}

/* The grid of a grid-stride loop over total values. */
static unsigned blocks_for(int64_t total)
{
    int64_t blocks = (total + CONV_THREADS - 1) / CONV_THREADS;
    return (unsigned)(blocks < 1 ? 1 : blocks > CONV_MAX_BLOCKS ? CONV_MAX_BLOCKS : blocks);
}

/* -- the entries -- */

/* 0 when g is a geometry the CPU accepts (output size included), else -1
 * (recorded, naming what). */
static int geometry_check(struct vl_cuda_nn_state *st, const struct vl_nn_conv_geom *g,
                          const char *what)
{
    int ok = g->n >= 0 && g->c >= 0 && g->h >= 0 && g->w >= 0 && g->k >= 0 && g->kh >= 1 &&
             g->kw >= 1 && g->sh >= 1 && g->sw >= 1 && g->ph >= 0 && g->pw >= 0 &&
             g->h + 2 * g->ph >= g->kh && g->w + 2 * g->pw >= g->kw &&
             g->oh == (g->h + 2 * g->ph - g->kh) / g->sh + 1 &&
             g->ow == (g->w + 2 * g->pw - g->kw) / g->sw + 1;
    if (ok) return 0;
    char geometry[192];
    geometry_describe(g, geometry, sizeof geometry);
    vl_cuda_nn_fail(st, 0, "conv2d %s: bad geometry %s", what, geometry);
    return -1;
}

/* The cache key of g in direction at the state's precision. */
static struct conv_key key_of(const struct vl_cuda_nn_state *st, const struct vl_nn_conv_geom *g,
                              enum conv_direction direction)
{
    struct conv_key key;
    memset(&key, 0, sizeof key);
    key.g = *g;
    key.direction = direction;
    key.precision = st->precision;
    return key;
}

/* Runs direction's fp32 plan for g on x, w, y (the roles as in plan_run). */
static void conv_run(struct vl_cuda_nn_state *st, const struct vl_nn_conv_geom *g,
                     enum conv_direction direction, const float *x, const float *w, const float *y)
{
    struct conv_key key = key_of(st, g, direction);
    struct conv_plan *plan = plan_for(st, &key);
    if (plan) plan_run(st, &key, plan, x, w, y);
}

/* The number of values of g's tensor in role (D_X, D_W or D_Y). */
static int64_t role_count(const struct vl_nn_conv_geom *g, int role)
{
    if (role == D_X) return (int64_t)g->n * g->c * g->h * g->w;
    if (role == D_W) return (int64_t)g->k * g->c * g->kh * g->kw;
    return (int64_t)g->n * g->k * g->oh * g->ow;
}

/* Runs the count (1 or 2) directions of one entry for g in bf16, in order:
 * the fp32 arrays they read (in[D_X], in[D_W], in[D_Y]: x, w and y or dy)
 * cast once into the scratch, then each plan, its output outs[i] (y, dx or
 * dw; dw accumulates) written by cuDNN or widened from the scratch. */
static void conv_run_bf16(struct vl_cuda_nn_state *st, const struct vl_nn_conv_geom *g, int count,
                          const enum conv_direction *directions, const float *const in[3],
                          float *const *outs)
{
    if (!st->convs) {
        vl_cuda_nn_fail(st, 0, "conv2d: the backend was not initialised");
        return;
    }
    /* the second lookup cannot evict the first plan: it was just used and
     * the cache holds more than one */
    struct conv_key keys[2];
    struct conv_plan *plans[2];
    int reads[3] = {0, 0, 0};
    size_t output_bytes = 0;
    for (int i = 0; i < count; i++) {
        keys[i] = key_of(st, g, directions[i]);
        if (!(plans[i] = plan_for(st, &keys[i]))) return;
        int out = output_roles[directions[i]];
        for (int role = D_X; role <= D_Y; role++)
            if (role != out) reads[role] = 1;
        size_t bytes = vl_cuda_nn_bf16_bytes((size_t)role_count(g, out));
        if (plans[i]->output_bf16 && bytes > output_bytes) output_bytes = bytes;
    }
    /* the scratch: a copy of each role read, then the bf16 output, if any */
    size_t offsets[3] = {0, 0, 0}, total = 0;
    for (int role = D_X; role <= D_Y; role++) {
        offsets[role] = total;
        if (reads[role]) total += vl_cuda_nn_bf16_bytes((size_t)role_count(g, role));
    }
    unsigned char *base = (unsigned char *)vl_cuda_nn_bf16_reserve(
        st, &st->convs->operands, total + output_bytes, "conv2d bf16 operands");
    if (!base) return;
    __nv_bfloat16 *output = (__nv_bfloat16 *)(base + total);
    static const char *const cast_names[] = {"conv2d: cast x to bf16", "conv2d: cast w to bf16",
                                             "conv2d: cast dy to bf16"};
    for (int role = D_X; role <= D_Y; role++) {
        int64_t n = role_count(g, role);
        if (reads[role] &&
            vl_cuda_nn_bf16_cast(st, in[role], n, 0, (__nv_bfloat16 *)(base + offsets[role]), n, 0,
                                 1, n, 1, cast_names[role]) < 0)
            return;
    }
    for (int i = 0; i < count; i++) {
        int out = output_roles[directions[i]];
        const void *pointers[3];
        for (int role = D_X; role <= D_Y; role++)
            pointers[role] = base + offsets[role];
        pointers[out] = plans[i]->output_bf16 ? (const void *)output : (const void *)outs[i];
        if (plan_run(st, &keys[i], plans[i], pointers[D_X], pointers[D_W], pointers[D_Y]) < 0)
            return;
        if (plans[i]->output_bf16 &&
            vl_cuda_nn_bf16_widen(st, output, outs[i], (size_t)role_count(g, out),
                                  directions[i] == CONV_BACKWARD_FILTER,
                                  "conv2d: widen the bf16 output") < 0)
            return;
    }
}

/* The backend's conv2d_forward: y = conv(x, w) + b (b may be NULL). */
static void be_conv2d_forward(struct vl_nn_ctx *ctx, const struct vl_nn_conv_geom *g,
                              const float *x, const float *w, const float *b, float *y)
{
    struct vl_cuda_nn_state *st = vl_cuda_nn_state_of(ctx);
    if (geometry_check(st, g, "forward") < 0) return;
    int64_t ohw = (int64_t)g->oh * g->ow, outputs = (int64_t)g->n * g->k * ohw;
    if (outputs == 0) return;
    if ((int64_t)g->c * g->h * g->w == 0) {
        /* no input values: every output is a sum of nothing, as the CPU's
         * gemm with k == 0 leaves it (then the bias) */
        if (vl_cuda_nn_check_rt(st, cudaMemsetAsync(y, 0, (size_t)outputs * sizeof *y, st->stream),
                                "conv2d forward: clear y") < 0)
            return;
    } else if (st->precision == VL_CUDA_NN_BF16) {
        const enum conv_direction forward = CONV_FORWARD;
        const float *const in[3] = {x, w, NULL};
        conv_run_bf16(st, g, 1, &forward, in, &y);
    } else {
        conv_run(st, g, CONV_FORWARD, x, w, y);
    }
    if (b) {
        bias_add<<<blocks_for(outputs), CONV_THREADS, 0, st->stream>>>(y, b, outputs, g->k, ohw);
        vl_cuda_nn_check_rt(st, cudaPeekAtLastError(), "conv2d forward: bias");
    }
}

/* The backend's conv2d_backward: dx = conv^T(dy, w) (skipped when NULL),
 * dw += dy * x, db += sum(dy) (skipped when NULL). */
static void be_conv2d_backward(struct vl_nn_ctx *ctx, const struct vl_nn_conv_geom *g,
                               const float *x, const float *w, const float *dy, float *dx,
                               float *dw, float *db)
{
    struct vl_cuda_nn_state *st = vl_cuda_nn_state_of(ctx);
    if (geometry_check(st, g, "backward") < 0) return;
    int64_t ohw = (int64_t)g->oh * g->ow, outputs = (int64_t)g->n * g->k * ohw;
    int64_t inputs = (int64_t)g->n * g->c * g->h * g->w;
    if (outputs == 0 || inputs == 0) {
        /* sums of nothing: dx is zeros and dw gains nothing */
        if (dx && inputs > 0)
            vl_cuda_nn_check_rt(st, cudaMemsetAsync(dx, 0, (size_t)inputs * sizeof *dx, st->stream),
                                "conv2d backward: clear dx");
    } else if (st->precision == VL_CUDA_NN_BF16) {
        enum conv_direction directions[2];
        float *outs[2];
        int count = 0;
        if (dx) {
            directions[count] = CONV_BACKWARD_DATA;
            outs[count++] = dx;
        }
        if (dw) {
            directions[count] = CONV_BACKWARD_FILTER;
            outs[count++] = dw;
        }
        const float *const in[3] = {x, w, dy};
        if (count > 0) conv_run_bf16(st, g, count, directions, in, outs);
    } else {
        if (dx) conv_run(st, g, CONV_BACKWARD_DATA, dx, w, dy);
        if (dw) conv_run(st, g, CONV_BACKWARD_FILTER, x, dw, dy);
    }
    if (db && outputs > 0) {
        bias_grad<<<(unsigned)g->k, CONV_THREADS, 0, st->stream>>>(dy, db, g->n, g->k, ohw);
        vl_cuda_nn_check_rt(st, cudaPeekAtLastError(), "conv2d backward: bias gradient");
    }
}

/* Puts conv2d_forward and conv2d_backward into b. */
void vl_cuda_nn_fill_conv(struct vl_nn_backend *b)
{
    b->conv2d_forward = be_conv2d_forward;
    b->conv2d_backward = be_conv2d_backward;
}

/* Checks the cuDNN found at run time, makes st's handle on st->stream and
 * the plan cache; 0, or -1 with the failure recorded (what was made is
 * freed by conv_free).  The workspace is grown by the plans. */
int vl_cuda_nn_conv_init(struct vl_cuda_nn_state *st)
{
    /* cuDNN 9's backend API and sub-library layout: an older library (found
     * first on the library path) fails here, not at the first convolution */
    size_t version = cudnnGetVersion();
    if (version < (size_t)CUDNN_MAJOR * 10000) {
        vl_cuda_nn_fail(st, 0,
                        "cudnn %zu.%zu.%zu is older than the cudnn %d.%d this module was built "
                        "against (cudnn %d or newer is needed)",
                        version / 10000, version / 100 % 100, version % 100, CUDNN_MAJOR,
                        CUDNN_MINOR, CUDNN_MAJOR);
        return -1;
    }
    /* loads the graph sub-library and checks its dependencies' versions
     * (CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED on a wrong library path) */
    if (dnn_check(st, NULL, cudnnGraphVersionCheck(), "cudnnGraphVersionCheck") < 0) return -1;
    cudnnStatus_t rc = cudnnCreate(&st->dnn);
    if (rc != CUDNN_STATUS_SUCCESS) st->dnn = NULL;
    if (dnn_check(st, NULL, rc, "cudnnCreate") < 0 ||
        dnn_check(st, NULL, cudnnSetStream(st->dnn, st->stream), "cudnnSetStream") < 0)
        return -1;
    st->convs = (struct vl_cuda_nn_conv_cache *)calloc(1, sizeof *st->convs);
    if (!st->convs) {
        vl_cuda_nn_fail(st, 0, "conv2d: out of host memory");
        return -1;
    }
    vl_cuda_nn_cache_init(&st->convs->plans, sizeof(struct conv_key), CONV_CACHE_CAPACITY);
    return 0;
}

/* Frees what conv_init and the plans made of st, any part of it (the
 * stream is idle). */
void vl_cuda_nn_conv_free(struct vl_cuda_nn_state *st)
{
    if (st->convs) {
        void *plan;
        while ((plan = vl_cuda_nn_cache_pop(&st->convs->plans)) != NULL)
            plan_free(plan);
        vl_cuda_nn_bf16_scratch_free(st, &st->convs->operands);
        free(st->convs);
        st->convs = NULL;
    }
    if (st->dnn_workspace) (void)cudaFreeAsync(st->dnn_workspace, st->stream);
    st->dnn_workspace = NULL;
    st->dnn_workspace_bytes = 0;
    if (st->dnn) (void)cudnnDestroy(st->dnn);
    st->dnn = NULL;
}
