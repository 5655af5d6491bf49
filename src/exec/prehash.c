/* prehash.c - parallel fingerprints of the sources before planning. */
#include "exec/prehash.h"

#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "util/vec.h"

#define MIN_FILES 32       /* fewer: the planner hashes them as it walks */
#define CHUNKS_PER_THREAD 4 /* work items per worker, so that large files even out */

struct chunk {
    uv_work_t work;
    const struct vl_disk *disk;
    struct vl_node **nodes;          /* this chunk's files */
    struct vl_file_record *records;  /* out: their fingerprints */
    signed char *result;             /* out: 1 hashed, 0 from the record, -1 failed */
    size_t n;
};

static void chunk_run(uv_work_t *w)
{
    struct chunk *c = w->data;
    for (size_t i = 0; i < c->n; i++) {
        struct vl_error ignored; /* the planner tries again and reports it */
        const struct vl_node *node = c->nodes[i];
        c->result[i] = (signed char)vl_plan_fingerprint_file(c->disk, node->path, &node->st,
                                                             node->file_rec, NULL, &c->records[i],
                                                             &ignored);
    }
}

static void chunk_done(uv_work_t *w, int status)
{
    (void)w;
    (void)status;
}

/* Appends to *files every source behind targets that exists and whose
 * record does not vouch for it, stat'ing each once (node->stat_done). */
static void collect(const struct vl_disk *disk, struct vl_graph *g, struct vl_node *const *targets,
                    size_t n_targets, struct vl_node ***files, size_t *n_files)
{
    unsigned char *seen = calloc(g->n_edges + 1, 1);
    struct vl_edge **stack = malloc((g->n_edges + 1) * sizeof *stack);
    size_t cap = 0, depth = 0;
    if (!seen || !stack) abort();
    for (size_t t = 0; t < n_targets; t++) {
        struct vl_edge *p = targets[t]->producer;
        if (p && !seen[p->index]) seen[p->index] = 1, stack[depth++] = p;
    }
    while (depth) {
        struct vl_edge *e = stack[--depth];
        for (size_t i = 0; i < e->n_inputs; i++) {
            struct vl_node *in = e->inputs[i];
            if (in->producer) {
                if (!seen[in->producer->index]) seen[in->producer->index] = 1, stack[depth++] = in->producer;
                continue;
            }
            if (in->stat_done || in->hash_known) continue;
            struct vl_error ignored;
            if (disk->ops->stat(disk, in->path, &in->st, &ignored) < 0)
                continue; /* the planner reports it */
            in->stat_done = 1;
            /* a record that vouches for it: the planner's stat fast path */
            if (in->st.exists && !vl_plan_record_vouches(in->file_rec, &in->st))
                VL_PUSH(*files, *n_files, cap, in);
        }
    }
    free(seen);
    free(stack);
}

int vl_prehash_sources(struct vl_plan *plan, struct vl_graph *g, struct vl_state *state,
                       struct vl_node *const *targets, size_t n_targets, struct vl_error *err)
{
    struct vl_node **files = NULL;
    size_t n = 0;
    const struct vl_disk *disk = vl_disk_or_real(plan->disk);
    collect(disk, g, targets, n_targets, &files, &n);
    if (n < MIN_FILES) {
        free(files);
        return 0;
    }
    const char *env = getenv("UV_THREADPOOL_SIZE");
    size_t threads = env && atoi(env) > 0 ? (size_t)atoi(env) : 4;
    size_t n_chunks = threads * CHUNKS_PER_THREAD;
    if (n_chunks > n) n_chunks = n;
    struct chunk *chunks = calloc(n_chunks, sizeof *chunks);
    struct vl_file_record *records = calloc(n, sizeof *records);
    signed char *result = calloc(n, 1);
    if (!chunks || !records || !result) abort();
    uv_loop_t loop;
    int rc = uv_loop_init(&loop);
    for (size_t c = 0, start = 0; c < n_chunks && rc == 0; c++) {
        size_t len = n / n_chunks + (c < n % n_chunks);
        chunks[c] = (struct chunk){.disk = disk, .nodes = files + start, .records = records + start,
                                   .result = result + start, .n = len};
        chunks[c].work.data = &chunks[c];
        if (uv_queue_work(&loop, &chunks[c].work, chunk_run, chunk_done) < 0) chunk_run(&chunks[c].work);
        start += len;
    }
    if (rc == 0) {
        uv_run(&loop, UV_RUN_DEFAULT);
        uv_loop_close(&loop);
    } else {
        memset(result, -1, n); /* no loop: the planner hashes them all */
    }
    int out = 0;
    for (size_t i = 0; i < n && out == 0; i++) {
        if (result[i] < 0) continue;
        files[i]->hash = records[i].hash;
        files[i]->hash_known = 1;
        if (result[i] == 1) {
            plan->n_hashed++;
            out = vl_state_put_file(state, files[i]->path, &records[i], err);
        }
    }
    free(chunks);
    free(records);
    free(result);
    free(files);
    return out;
}
