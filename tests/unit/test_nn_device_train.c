/* test_nn_device_train.c - training through vl_train_run on a device backend,
 * without a GPU: a stand-in "guarded device" whose memory the host cannot
 * touch.
 *
 * The stand-in is the CPU table with every entry wrapped: its alloc hands
 * out memory of its own mmap'd arena, which is PROT_NONE except while one of
 * its entries runs (read-write on entry, PROT_NONE when the outermost entry
 * returns; one thread).  A host read or write of device data outside the
 * backend then segfaults, so a trainer or layer that still touched tensor
 * data on the host would crash here.  A tiny struct vl_cuda_nn_module
 * attaches it, as the CUDA training module attaches its table.
 *
 * Since the arithmetic is the CPU's, each clip model and logreg trained for
 * two epochs on it writes the same checkpoint bytes as the plain CPU run,
 * with the data uploaded whole and staged batch by batch, and resumed after
 * an interruption; a diverging run names the CPU's first bad batch.  With an
 * allocation limit that the full batch exceeds and half a batch fits, the
 * run halves its micro-batch, says so in the log, and (naive_cnn: no batch
 * norm, no dropout) ends within 1e-5 of the full-batch CPU run; with a limit
 * nothing fits it fails with the backend's message and writes nothing. */
#include <math.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nn/backend.h"
#include "test.h"
#include "test_train_util.h"
#include "train/dataset.h"
#include "train/safetensors.h"
#include "train/trainer.h"

/* -- the guarded device -- */

#define ARENA_BYTES ((size_t)256 << 20)
#define MAX_BLOCKS 4096
#define ALIGN 64

struct block {
    size_t off, size;
    int used;
};

static struct guarded {
    unsigned char *base;
    struct block blocks[MAX_BLOCKS]; /* in address order, covering the arena */
    int n_blocks;
    int depth;            /* entries running (they call each other) */
    size_t max_alloc;     /* one allocation larger fails as out of memory; 0: no limit */
    size_t report_free;   /* what mem_info reports free; 0: none (batches staged) */
    int live;             /* allocations not freed */
    int failed, failed_oom;
    char why[256];
} G;

static const struct vl_nn_backend *cpu;

static void enter(void)
{
    if (G.depth++ == 0 && mprotect(G.base, ARENA_BYTES, PROT_READ | PROT_WRITE) != 0) abort();
}

static void leave(void)
{
    if (--G.depth == 0 && mprotect(G.base, ARENA_BYTES, PROT_NONE) != 0) abort();
}

static void guarded_reset(size_t max_alloc, size_t report_free)
{
    G.blocks[0] = (struct block){.off = 0, .size = ARENA_BYTES, .used = 0};
    G.n_blocks = 1;
    G.max_alloc = max_alloc;
    G.report_free = report_free;
    G.live = 0;
    G.failed = G.failed_oom = 0;
}

static void fail(int oom, const char *fmt, size_t a, size_t b)
{
    if (G.failed) return;
    G.failed = 1;
    G.failed_oom = oom;
    snprintf(G.why, sizeof G.why, fmt, a, b);
}

static void *g_alloc(struct vl_nn_ctx *ctx, size_t bytes)
{
    (void)ctx;
    size_t want = (bytes + ALIGN - 1) / ALIGN * ALIGN;
    if (!want) want = ALIGN;
    if (G.max_alloc && bytes > G.max_alloc) {
        fail(1, "guarded: cannot allocate %zu bytes (one allocation may take %zu)", bytes,
             G.max_alloc);
        return NULL;
    }
    for (int i = 0; i < G.n_blocks; i++) {
        struct block *b = &G.blocks[i];
        if (b->used || b->size < want) continue;
        if (b->size > want) {
            if (G.n_blocks == MAX_BLOCKS) break;
            memmove(b + 2, b + 1, (size_t)(G.n_blocks - i - 1) * sizeof *b);
            b[1] = (struct block){.off = b->off + want, .size = b->size - want, .used = 0};
            b->size = want;
            G.n_blocks++;
        }
        b->used = 1;
        G.live++;
        return G.base + b->off;
    }
    fail(1, "guarded: cannot allocate %zu bytes (arena of %zu full)", bytes, ARENA_BYTES);
    return NULL;
}

static void g_free(struct vl_nn_ctx *ctx, void *p)
{
    (void)ctx;
    if (!p) return;
    size_t off = (size_t)((unsigned char *)p - G.base);
    for (int i = 0; i < G.n_blocks; i++) {
        if (G.blocks[i].off != off || !G.blocks[i].used) continue;
        G.blocks[i].used = 0;
        G.live--;
        if (i + 1 < G.n_blocks && !G.blocks[i + 1].used) { /* merge the next */
            G.blocks[i].size += G.blocks[i + 1].size;
            memmove(&G.blocks[i + 1], &G.blocks[i + 2],
                    (size_t)(G.n_blocks - i - 2) * sizeof G.blocks[0]);
            G.n_blocks--;
        }
        if (i > 0 && !G.blocks[i - 1].used) { /* into the previous */
            G.blocks[i - 1].size += G.blocks[i].size;
            memmove(&G.blocks[i], &G.blocks[i + 1],
                    (size_t)(G.n_blocks - i - 1) * sizeof G.blocks[0]);
            G.n_blocks--;
        }
        return;
    }
    abort(); /* not an allocation of the arena */
}

static int in_arena(const void *p)
{
    const unsigned char *c = p;
    return c >= G.base && c < G.base + ARENA_BYTES;
}

static void g_upload(struct vl_nn_ctx *ctx, void *dst, const void *src, size_t bytes)
{
    (void)ctx;
    if (!in_arena(dst) || in_arena(src)) abort(); /* host to device only */
    enter();
    memcpy(dst, src, bytes);
    leave();
}

static void g_download(struct vl_nn_ctx *ctx, void *dst, const void *src, size_t bytes)
{
    (void)ctx;
    if (in_arena(dst) || !in_arena(src)) abort(); /* device to host only */
    enter();
    memcpy(dst, src, bytes);
    leave();
}

static void g_sync(struct vl_nn_ctx *ctx)
{
    (void)ctx;
}

/* pinned host memory: ordinary host memory, counted with the device's
 * allocations (the trainer must free it before detach too); a staged upload
 * copies into the arena like upload, and records which slots were used */
static int staged[2];

static void *g_host_alloc(struct vl_nn_ctx *ctx, size_t bytes)
{
    void *p = cpu->host_alloc(ctx, bytes);
    if (p) G.live++;
    return p;
}

static void g_host_free(struct vl_nn_ctx *ctx, void *p)
{
    if (p) G.live--;
    cpu->host_free(ctx, p);
}

static void g_stage_upload(struct vl_nn_ctx *ctx, int slot, void *dst, const void *src,
                           size_t bytes)
{
    CHECK(slot == 0 || slot == 1);
    staged[slot & 1] = 1;
    enter();
    cpu->stage_upload(ctx, slot, dst, src, bytes);
    leave();
}

static void g_stage_mark(struct vl_nn_ctx *ctx, int slot)
{
    (void)ctx;
    CHECK(slot == 0 || slot == 1);
}

static void g_mem_info(struct vl_nn_ctx *ctx, size_t *free_bytes, size_t *total_bytes)
{
    (void)ctx;
    *free_bytes = G.report_free;
    *total_bytes = ARENA_BYTES;
}

static int g_check(struct vl_nn_ctx *ctx, struct vl_error *err, int *out_of_memory)
{
    (void)ctx;
    if (out_of_memory) *out_of_memory = G.failed_oom;
    if (!G.failed) return 0;
    vl_error_set(err, "%s", G.why);
    G.failed = G.failed_oom = 0;
    return -1;
}

/* g_NAME runs the CPU's entry NAME with the arena readable */
#define GUARD(name, params, args)                                                                  \
    static void g_##name params                                                                    \
    {                                                                                              \
        enter();                                                                                   \
        cpu->name args;                                                                            \
        leave();                                                                                   \
    }

typedef struct vl_nn_ctx C;
GUARD(add, (C * c, size_t r, size_t k, const float *a, size_t la, const float *b, size_t lb,
            float *y, size_t ly),
      (c, r, k, a, la, b, lb, y, ly))
GUARD(axpy, (C * c, size_t n, float a, const float *x, float *y), (c, n, a, x, y))
GUARD(scale, (C * c, size_t n, float a, float *x), (c, n, a, x))
GUARD(copy, (C * c, size_t r, size_t k, const float *x, size_t lx, float *y, size_t ly),
      (c, r, k, x, lx, y, ly))
GUARD(fill, (C * c, size_t n, float v, float *x), (c, n, v, x))
GUARD(swap_axes,
      (C * c, size_t o, size_t na, size_t mid, size_t nb, size_t in, const float *s, float *d),
      (c, o, na, mid, nb, in, s, d))
GUARD(mul, (C * c, size_t n, const float *a, const float *b, float *y), (c, n, a, b, y))
GUARD(standardize,
      (C * c, size_t r, int d, const float *x, const float *m, const float *s, float *y),
      (c, r, d, x, m, s, y))
GUARD(sum_squares, (C * c, size_t n, const float *x, double *acc), (c, n, x, acc))
GUARD(bias_grad, (C * c, size_t r, int k, size_t ld, const float *dy, float *db),
      (c, r, k, ld, dy, db))
GUARD(dropout_forward, (C * c, size_t n, float p, const float *x, float *m, float *y),
      (c, n, p, x, m, y))
GUARD(mean_forward, (C * c, size_t o, size_t len, size_t in, const float *x, float *y),
      (c, o, len, in, x, y))
GUARD(mean_backward, (C * c, size_t o, size_t len, size_t in, const float *dy, float *dx),
      (c, o, len, in, dy, dx))
GUARD(area_pool_forward, (C * c, const struct vl_nn_area_geom *g, const float *x, float *y),
      (c, g, x, y))
GUARD(area_pool_backward, (C * c, const struct vl_nn_area_geom *g, const float *dy, float *dx),
      (c, g, dy, dx))
GUARD(patch_tokens_forward,
      (C * c, int n, int np, int e, int cls, const float *conv, const float *tok, const float *pos,
       float *y),
      (c, n, np, e, cls, conv, tok, pos, y))
GUARD(patch_tokens_backward,
      (C * c, int n, int np, int e, int cls, const float *dy, float *dconv, float *dpos,
       float *dcls),
      (c, n, np, e, cls, dy, dconv, dpos, dcls))
GUARD(group_embed_forward,
      (C * c, int n, int g, int len, int e, const float *x, const float *emb, float *y),
      (c, n, g, len, e, x, emb, y))
GUARD(group_embed_backward, (C * c, int n, int g, int len, int e, const float *dy, float *demb),
      (c, n, g, len, e, dy, demb))
GUARD(cross_entropy,
      (C * c, int n, int k, const float *x, const int *y, const float *w, float *l, float *d),
      (c, n, k, x, y, w, l, d))
GUARD(hinge_loss,
      (C * c, int n, int k, const float *x, const int *y, const float *w, float m, float *l,
       float *d),
      (c, n, k, x, y, w, m, l, d))
GUARD(squared_hinge_ovr, (C * c, int n, int k, const float *x, const int *y, float *l, float *d),
      (c, n, k, x, y, l, d))
GUARD(sgd_step,
      (C * c, size_t n, float *w, const float *g, float *b, float lr, float wd, float mu,
       int nesterov, int first),
      (c, n, w, g, b, lr, wd, mu, nesterov, first))
GUARD(adamw_step,
      (C * c, size_t n, float *w, const float *g, float *m, float *v, float lr, float wd, float b1,
       float b2, float eps, float ss, float bc),
      (c, n, w, g, m, v, lr, wd, b1, b2, eps, ss, bc))
GUARD(gemm,
      (C * c, int ta, int tb, int m, int n, int k, float al, const float *a, int lda,
       const float *b, int ldb, float be, float *y, int ldy),
      (c, ta, tb, m, n, k, al, a, lda, b, ldb, be, y, ldy))
GUARD(gemm_batched,
      (C * c, int ta, int tb, int m, int n, int k, float al, const float *a, int lda, size_t sa,
       const float *b, int ldb, size_t sb, float be, float *y, int ldy, size_t sy, int batch),
      (c, ta, tb, m, n, k, al, a, lda, sa, b, ldb, sb, be, y, ldy, sy, batch))
GUARD(conv2d_forward,
      (C * c, const struct vl_nn_conv_geom *g, const float *x, const float *w, const float *b,
       float *y),
      (c, g, x, w, b, y))
GUARD(conv2d_backward,
      (C * c, const struct vl_nn_conv_geom *g, const float *x, const float *w, const float *dy,
       float *dx, float *dw, float *db),
      (c, g, x, w, dy, dx, dw, db))
GUARD(pool2d_forward,
      (C * c, const struct vl_nn_pool_geom *g, const float *x, float *y, int *argmax),
      (c, g, x, y, argmax))
GUARD(pool2d_backward,
      (C * c, const struct vl_nn_pool_geom *g, const float *dy, const int *argmax, float *dx),
      (c, g, dy, argmax, dx))
GUARD(batchnorm_forward,
      (C * c, int n, int k, int s, const float *x, const float *ga, const float *be, float *rm,
       float *rv, float mo, float eps, int tr, float *y, float *m, float *is),
      (c, n, k, s, x, ga, be, rm, rv, mo, eps, tr, y, m, is))
GUARD(batchnorm_backward,
      (C * c, int n, int k, int s, const float *x, const float *ga, const float *m,
       const float *is, int bs, const float *dy, float *dx, float *dg, float *db),
      (c, n, k, s, x, ga, m, is, bs, dy, dx, dg, db))
GUARD(layernorm_forward,
      (C * c, size_t r, int d, const float *x, const float *ga, const float *be, float eps,
       float *y, float *m, float *is),
      (c, r, d, x, ga, be, eps, y, m, is))
GUARD(layernorm_backward,
      (C * c, size_t r, int d, const float *x, const float *ga, const float *m, const float *is,
       const float *dy, float *dx, float *dg, float *db),
      (c, r, d, x, ga, m, is, dy, dx, dg, db))
GUARD(activation_forward, (C * c, enum vl_nn_act_kind k, size_t n, const float *x, float *y),
      (c, k, n, x, y))
GUARD(activation_backward,
      (C * c, enum vl_nn_act_kind k, size_t n, const float *x, const float *dy, float *dx),
      (c, k, n, x, dy, dx))
GUARD(softmax_rows, (C * c, size_t r, int k, float *x, const uint8_t *mask), (c, r, k, x, mask))
GUARD(softmax_rows_backward, (C * c, size_t r, int k, const float *p, const float *dp, float *dx),
      (c, r, k, p, dp, dx))
GUARD(gru_cell_forward,
      (C * c, int n, int hs, const float *gi, int ldi, const float *gh, int ldh, const float *hp,
       int ldp, float *gates, int ldg, float *h, int ldy),
      (c, n, hs, gi, ldi, gh, ldh, hp, ldp, gates, ldg, h, ldy))
GUARD(gru_cell_backward,
      (C * c, int n, int hs, const float *gh, int ldh, const float *hp, int ldp, const float *gates,
       int ldg, const float *dh, float *dgi, int lddi, float *dgh, int lddh, float *dhp),
      (c, n, hs, gh, ldh, hp, ldp, gates, ldg, dh, dgi, lddi, dgh, lddh, dhp))

static struct vl_nn_backend guarded_table;

static void table_build(void)
{
    struct vl_nn_backend *t = &guarded_table;
    *t = *cpu;
    t->name = "guarded";
    t->alloc = g_alloc, t->free = g_free, t->upload = g_upload, t->download = g_download;
    t->sync = g_sync, t->mem_info = g_mem_info, t->check = g_check;
    t->host_alloc = g_host_alloc, t->host_free = g_host_free;
    t->stage_upload = g_stage_upload, t->stage_release = g_stage_mark;
    t->stage_wait = g_stage_mark;
    t->add = g_add, t->axpy = g_axpy, t->scale = g_scale, t->copy = g_copy, t->fill = g_fill;
    t->swap_axes = g_swap_axes, t->mul = g_mul, t->standardize = g_standardize;
    t->sum_squares = g_sum_squares, t->bias_grad = g_bias_grad;
    t->dropout_forward = g_dropout_forward, t->mean_forward = g_mean_forward;
    t->mean_backward = g_mean_backward, t->area_pool_forward = g_area_pool_forward;
    t->area_pool_backward = g_area_pool_backward;
    t->patch_tokens_forward = g_patch_tokens_forward;
    t->patch_tokens_backward = g_patch_tokens_backward;
    t->group_embed_forward = g_group_embed_forward;
    t->group_embed_backward = g_group_embed_backward;
    t->cross_entropy = g_cross_entropy, t->hinge_loss = g_hinge_loss;
    t->squared_hinge_ovr = g_squared_hinge_ovr, t->sgd_step = g_sgd_step;
    t->adamw_step = g_adamw_step, t->gemm = g_gemm, t->gemm_batched = g_gemm_batched;
    t->conv2d_forward = g_conv2d_forward, t->conv2d_backward = g_conv2d_backward;
    t->pool2d_forward = g_pool2d_forward, t->pool2d_backward = g_pool2d_backward;
    t->batchnorm_forward = g_batchnorm_forward, t->batchnorm_backward = g_batchnorm_backward;
    t->layernorm_forward = g_layernorm_forward, t->layernorm_backward = g_layernorm_backward;
    t->activation_forward = g_activation_forward;
    t->activation_backward = g_activation_backward, t->softmax_rows = g_softmax_rows;
    t->softmax_rows_backward = g_softmax_rows_backward;
    t->gru_cell_forward = g_gru_cell_forward, t->gru_cell_backward = g_gru_cell_backward;
}

/* Every entry of the table is wrapped: none is the CPU's own (an entry added
 * to struct vl_nn_backend and not wrapped here would run unguarded). */
static int every_entry_wrapped(void)
{
    const unsigned char *a = (const unsigned char *)&guarded_table, *b = (const unsigned char *)cpu;
    for (size_t off = sizeof(const char *); off + sizeof(void *) <= sizeof guarded_table;
         off += sizeof(void *))
        if (!memcmp(a + off, b + off, sizeof(void *))) {
            fprintf(stderr, "the guarded table leaves the entry at offset %zu unwrapped\n", off);
            return 0;
        }
    return 1;
}

/* -- the module that attaches it -- */

static int attached, detached_with_live;

static int fake_probe(char *why, size_t n)
{
    (void)why, (void)n;
    return 1;
}

static int fake_attach(struct vl_nn_ctx *ctx, int device, int precision, unsigned long long seed,
                       struct vl_error *err)
{
    (void)device, (void)precision, (void)seed, (void)err;
    ctx->backend = &guarded_table;
    ctx->backend_state = &G;
    attached++;
    return 0;
}

static void fake_detach(struct vl_nn_ctx *ctx)
{
    if (G.live) detached_with_live++; /* a device tensor outlived the context */
    ctx->backend = NULL;
    ctx->backend_state = NULL;
}

static const struct vl_cuda_nn_module fake_module = {
    .abi = VL_CUDA_NN_MODULE_ABI,
    .build_info = "guarded stand-in",
    .probe = fake_probe,
    .attach = fake_attach,
    .detach = fake_detach,
};

/* -- data -- */

/* n clips of 4 frames, 3 classes of noise with a bright corner per class;
 * with variable, every other clip 8 wide and 6 high (the rest 8x8). */
static void make_clips(struct tt_set *s, const char *tag, int n, int variable)
{
    struct vl_rng rng;
    vl_rng_seed(&rng, 7);
    struct vl_strbuf csv;
    tt_set_begin(s, n, "file", &csv);
    struct vl_error err;
    for (int i = 0; i < n; i++) {
        int T = 4, W = 8, H = variable && i % 2 ? 6 : 8, cls = i % 3;
        size_t frame = (size_t)H * W * 3;
        uint8_t *px = malloc(frame * (size_t)T);
        for (size_t k = 0; k < frame * (size_t)T; k++) px[k] = (uint8_t)(vl_rng_next(&rng) % 60);
        for (int t = 0; t < T; t++)
            for (int y = 0; y < 3; y++)
                for (int x = 0; x < 3; x++)
                    px[frame * (size_t)t + ((size_t)y * W + (size_t)(x + 2 * cls)) * 3] = 250;
        s->inputs[i] = tt_path("%s%03d.npy", tag, i);
        s->origins[i] = malloc(64);
        snprintf(s->origins[i], 64, "data/raw/%s%03d.mp4", tag, i);
        if (vl_npy_write(s->inputs[i], VL_NPY_U8,
                         (uint64_t[]){(uint64_t)T, (uint64_t)H, (uint64_t)W, 3}, 4, px, &err) < 0)
            abort();
        free(px);
        vl_strbuf_addf(&csv, "%s%03d.mp4,c%d\n", tag, i, cls);
    }
    tt_set_finish(s, tag, &csv);
}

static void open_set(const struct tt_set *s, const struct vl_model_def *def,
                     struct vl_dataset *ds)
{
    struct vl_dataset_config cfg = {
        .kind = def->kind, .variable_size = def->variable_size, .val = 0.25, .seed = 1};
    struct vl_strbuf log = VL_STRBUF_INIT;
    struct vl_error err = {{0}};
    if (vl_dataset_open((const char *const *)s->inputs, s->hashes,
                        (const char *const *)s->origins, s->n, &cfg, ds, &log, &err) < 0) {
        fprintf(stderr, "dataset: %s\n", err.msg);
        abort();
    }
    vl_strbuf_release(&log);
}

/* -- runs -- */

struct run_result {
    int rc;
    struct vl_error err;
    struct vl_strbuf log;
};

/* Trains model on ds for two epochs (batch 4 unless batch) into out, on the
 * guarded device when device, else on the CPU. */
static void train_run(const char *model, struct vl_dataset *ds, int device, int batch, int sgd,
                      double lr, const char *out, struct tt_run *progress, struct run_result *res)
{
    const struct vl_model_def *def = vl_model_find(model);
    char *resume = vl_train_resume_path(out);
    int vit = !strncmp(model, "vit", 3);
    struct vl_train_options o = {
        .model = def,
        .model_config = {.hidden = 8, .patch = 4, .heads = 2, .dropout = vit ? 0.2 : 0},
        .epochs = 2,
        .batch = batch ? batch : 4,
        .lr = lr,
        .optimizer = sgd || def->kind == VL_DATA_FEATURES ? VL_NN_SGD : VL_NN_ADAMW,
        .momentum = 0.9,
        .weight_decay = 0.01,
        .C = 1.0,
        .clip = 1.0,
        .save_each_epoch = 1, /* the resume file after epoch 1: the optimiser's moments too */
        .seed = 5,
        .out_path = out,
        .resume_path = resume,
        .config_json = "{}",
        .gpu = device ? &fake_module : NULL,
        .cancel = progress ? &progress->cancel : NULL,
        .progress = progress ? tt_progress : NULL,
        .progress_ctx = progress,
        .log = &res->log,
    };
    res->log = (struct vl_strbuf)VL_STRBUF_INIT;
    memset(&res->err, 0, sizeof res->err);
    res->rc = vl_train_run(ds, &o, &res->err);
    free(resume);
}

static void train(const char *model, struct vl_dataset *ds, int device, int batch, int sgd,
                  const char *out, struct run_result *res)
{
    train_run(model, ds, device, batch, sgd, 0, out, NULL, res);
}

/* Every tensor of a and b (checkpoints of one model) within rel, relative
 * to the larger magnitude (1e-7 absolute below that); the worst into *worst. */
static int close_checkpoints(const char *a, const char *b, double rel, double *worst)
{
    struct vl_st_file fa, fb;
    struct vl_error err;
    if (vl_st_read(a, &fa, &err) < 0) return 0;
    if (vl_st_read(b, &fb, &err) < 0) {
        vl_st_free(&fa);
        return 0;
    }
    int ok = fa.n_tensors == fb.n_tensors && fa.n_tensors > 0;
    *worst = 0;
    for (size_t i = 0; ok && i < fa.n_tensors; i++) {
        const struct vl_st_tensor *x = &fa.tensors[i];
        const struct vl_st_tensor *y = vl_st_find(&fb, x->name);
        if (!y || y->nbytes != x->nbytes) {
            ok = 0;
            break;
        }
        const unsigned char *pb = x->data, *qb = y->data; /* maybe unaligned */
        for (size_t k = 0; k < x->nbytes / sizeof(float); k++) {
            float p, q;
            memcpy(&p, pb + k * sizeof p, sizeof p);
            memcpy(&q, qb + k * sizeof q, sizeof q);
            double m = fmax(fabs(p), fabs(q)), d = fabs((double)p - q);
            double r = d / fmax(m, 1e-2);
            if (r > *worst) *worst = r;
            if (d > rel * m + 1e-7) ok = 0;
        }
    }
    vl_st_free(&fa);
    vl_st_free(&fb);
    return ok;
}

/* 1 when both runs went well; else says why. */
static int both_ok(const struct run_result *cpu_run, const struct run_result *dev_run)
{
    if (cpu_run->rc < 0) fprintf(stderr, "the cpu run failed: %s\n", cpu_run->err.msg);
    if (dev_run->rc < 0) fprintf(stderr, "the device run failed: %s\n", dev_run->err.msg);
    return cpu_run->rc == 0 && dev_run->rc == 0;
}

/* One model's CPU run and device run over one set, their checkpoints. */
struct pair {
    struct vl_dataset ds;
    char *want, *got; /* the CPU's checkpoint, the device's */
    struct run_result cpu, dev;
};

static void pair_open(struct pair *p, const char *model, const struct tt_set *set,
                      const char *tag)
{
    open_set(set, vl_model_find(model), &p->ds);
    p->want = tt_path("%s.cpu.safetensors", tag);
    p->got = tt_path("%s.dev.safetensors", tag);
    p->cpu.log = p->dev.log = (struct vl_strbuf)VL_STRBUF_INIT;
}

/* Frees the pair; no device allocation may have outlived the last run. */
static void pair_close(struct pair *p)
{
    CHECK(!detached_with_live && G.live == 0);
    vl_strbuf_release(&p->cpu.log);
    vl_strbuf_release(&p->dev.log);
    vl_dataset_close(&p->ds);
    free(p->want);
    free(p->got);
}

/* model on the guarded device, its data uploaded whole (upload) or staged:
 * the CPU run's checkpoint bytes. */
static void same_bytes(const char *model, const struct tt_set *set, int upload)
{
    char tag[64];
    snprintf(tag, sizeof tag, "%s.%d", model, upload);
    struct pair p;
    pair_open(&p, model, set, tag);
    train(model, &p.ds, 0, 0, 0, p.want, &p.cpu);
    guarded_reset(0, upload ? ARENA_BYTES : 0);
    int before = attached;
    staged[0] = staged[1] = 0;
    train(model, &p.ds, 1, 0, 0, p.got, &p.dev);
    CHECK(both_ok(&p.cpu, &p.dev) && attached == before + 1);
    /* staged: the batches went up through both slots in turn */
    if (!upload) CHECK(staged[0] && staged[1]);
    CHECK(tt_same_file(p.want, p.got));
    if (!tt_same_file(p.want, p.got)) fprintf(stderr, "%s: other bytes on the device\n", model);
    CHECK_CONTAINS(p.dev.log.buf, upload ? "data: all " : "data: staged batch by batch");
    CHECK(!strstr(p.cpu.log.buf, "data:"));
    pair_close(&p);
}

/* Interrupted in epoch 2 on the device, then run again: it resumes from the
 * resume file (downloaded after epoch 1, uploaded again) and ends with the
 * CPU run's checkpoint bytes. */
static void resume_on_device(const struct tt_set *set)
{
    struct pair p;
    pair_open(&p, "vit_gru", set, "resume");
    char *resume = vl_train_resume_path(p.got);
    train("vit_gru", &p.ds, 0, 0, 0, p.want, &p.cpu);
    struct tt_run stop = {.cancel_at_epoch = 2};
    guarded_reset(0, 0);
    train_run("vit_gru", &p.ds, 2, 0, 0, 0, p.got, &stop, &p.dev);
    CHECK(p.dev.rc < 0 && access(resume, F_OK) == 0 && access(p.got, F_OK) != 0);
    CHECK(!detached_with_live && G.live == 0);
    vl_strbuf_release(&p.dev.log);
    guarded_reset(0, 0);
    train("vit_gru", &p.ds, 1, 0, 0, p.got, &p.dev);
    CHECK(both_ok(&p.cpu, &p.dev));
    CHECK_CONTAINS(p.dev.log.buf, "resuming from");
    CHECK(tt_same_file(p.want, p.got));
    free(resume);
    pair_close(&p);
}

/* A learning rate that makes logreg diverge: on the device the losses come
 * back after the epoch, and the error names the same first bad batch as the
 * CPU's check after each step. */
static void divergence(const struct tt_set *set)
{
    struct pair p;
    pair_open(&p, "logreg", set, "diverge");
    train_run("logreg", &p.ds, 0, 0, 0, 3e38, p.want, NULL, &p.cpu);
    guarded_reset(0, 0);
    train_run("logreg", &p.ds, 2, 0, 0, 3e38, p.got, NULL, &p.dev);
    CHECK(p.cpu.rc < 0 && p.dev.rc < 0);
    CHECK_CONTAINS(p.cpu.err.msg, "the loss diverged");
    CHECK_STR(p.dev.err.msg, p.cpu.err.msg);
    CHECK(access(p.want, F_OK) != 0 && access(p.got, F_OK) != 0);
    pair_close(&p);
}

/* naive_cnn, batch 8, under a limit per allocation that a batch of 8 exceeds
 * and one of 4 fits: micro-batches, a warning, the full-batch parameters. */
static void micro_batches(const struct tt_set *set)
{
    struct pair p;
    pair_open(&p, "naive_cnn", set, "oom");
    train("naive_cnn", &p.ds, 0, 8, 1, p.want, &p.cpu);
    /* the largest tensor: conv1's output [8 * 4 frames, 8, 8, 8] floats, 64 KiB */
    guarded_reset(48 << 10, 0);
    train("naive_cnn", &p.ds, 1, 8, 1, p.got, &p.dev);
    CHECK(both_ok(&p.cpu, &p.dev));
    CHECK_CONTAINS(p.dev.log.buf, "warning: out of device memory at epoch 1 batch 1 (guarded: "
                                  "cannot allocate 65536 bytes");
    CHECK_CONTAINS(p.dev.log.buf, "micro-batches of 4 from now on");
    CHECK_CONTAINS(p.dev.log.buf, "batch norm sees micro-batch statistics");
    double worst = 0;
    CHECK(close_checkpoints(p.want, p.got, 1e-5, &worst));
    printf("micro-batches of 4 against batches of 8: worst relative difference %.3g\n", worst);
    pair_close(&p);
}

/* naive_cnn under a limit per allocation of max_alloc bytes fails with both
 * texts in its error and leaves no checkpoint and no resume file. */
static void fails_under(struct vl_dataset *ds, size_t max_alloc, const char *msg, const char *why)
{
    char *out = tt_path("none%zu.safetensors", max_alloc);
    char *resume = vl_train_resume_path(out);
    struct run_result res;
    guarded_reset(max_alloc, 0);
    train("naive_cnn", ds, 2, 8, 1, out, &res);
    CHECK(res.rc < 0);
    CHECK_CONTAINS(res.err.msg, msg);
    CHECK_CONTAINS(res.err.msg, why);
    CHECK(access(out, F_OK) != 0 && access(resume, F_OK) != 0);
    CHECK(!detached_with_live && G.live == 0);
    vl_strbuf_release(&res.log);
    free(out);
    free(resume);
}

/* Limits that nothing fits: a clear error, no checkpoint, no resume file. */
static void nothing_fits(const struct tt_set *set)
{
    struct vl_dataset ds;
    open_set(set, vl_model_find("naive_cnn"), &ds);
    /* the parameters fit (the largest, block2's kernel, is 4.5 KiB) and one
     * clip (3 KiB), but not conv1's output for one clip (8 KiB) */
    fails_under(&ds, 6000,
                "out of device memory at epoch 1 batch 1 even with micro-batches of one sample",
                "guarded: cannot allocate 8192 bytes");
    /* not even the parameters */
    fails_under(&ds, 256, "the model does not fit on the device", "guarded: cannot allocate");
    vl_dataset_close(&ds);
}

int main(void)
{
    struct vl_nn_ctx probe;
    vl_nn_ctx_init(&probe, 1);
    cpu = probe.backend;
    G.base = mmap(NULL, ARENA_BYTES, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (G.base == MAP_FAILED) abort();
    table_build();
    CHECK(every_entry_wrapped());
    (void)tt_train; /* the helpers' action runner: this test calls vl_train_run itself */
    tt_init("nn_device_train");
    struct tt_set features, clips, var_clips;
    tt_make_separable(&features, "f", 40, 6, 3, 0.5, 11);
    make_clips(&clips, "c", 24, 0);
    make_clips(&var_clips, "v", 24, 1);
    for (int upload = 1; upload >= 0; upload--) {
        same_bytes("logreg", &features, upload);
        same_bytes("naive_cnn", &clips, upload);
        same_bytes("variable_ar_cnn", &var_clips, upload);
        same_bytes("vit_gru", &clips, upload);
        same_bytes("vit_transformer", &clips, upload);
    }
    resume_on_device(&clips);
    divergence(&features);
    micro_batches(&clips);
    nothing_fits(&clips);
    tt_set_free(&features);
    tt_set_free(&clips);
    tt_set_free(&var_clips);
    tt_cleanup();
    munmap(G.base, ARENA_BYTES);
    vl_nn_ctx_free(&probe);
    TEST_DONE();
}
