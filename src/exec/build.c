/* build.c - the scheduler: a libuv loop that starts ready actions within the
 * limits of their pools, runs shell commands as child processes (exec/local.c)
 * and built-in actions on the thread pool (uv_queue_work), and records each
 * result in the state database as it finishes.
 *
 * Before a dirty action runs, the artifact cache is asked for its key (on the
 * thread pool: a remote lookup may take a while); on a hit the outputs are
 * restored and the action does not run.  After an action runs, its outputs
 * are stored in the cache, also off the loop.
 *
 * Ready actions start longest estimated path first (exec/priority.h).
 *
 * An action is ready when every input made by a rebuilt action is done.  An
 * action that waited on rebuilt inputs is decided again by content when it
 * becomes ready: if its key is unchanged, it does not run (early cutoff).
 *
 * Child processes run in their own process group, with a death signal that
 * kills them if vlbuild dies (see exec/local.c), so that an interrupted
 * build leaves no orphan writing an output behind its back. */
#include "exec/build.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "cache/cache.h"
#include "exec/key.h"
#include "exec/priority.h"
#include "exec/runner.h"
#include "exec/slurm.h"
#include "exec/status.h"
#include "exec/trace.h"

#define LONG_COMMAND (64 * 1024) /* longer commands go through a script file */
/* Cache lookups in flight at once (build.h).  A lookup waits on the disk or
 * on the remote cache's server, not on a CPU, so it takes no place in a pool:
 * with -j2, two lookups at a time left an HTTP restore waiting on round trips. */
#define MAX_LOOKUPS VL_BUILD_MAX_LOOKUPS
#define KILL_GRACE_MS 3000

struct builder;

struct job {
    struct builder *b;
    struct vl_edge *e;
    struct job *next, *prev;
    int slot;
    int admitted;       /* holds a place in its pool (and a cpu slot): it runs */
    int lookup_pending; /* its cache lookup has not answered yet */
    int64_t start_ns, start_wall_ns;
    struct vl_strbuf log;
    struct vl_strbuf command;
    char *in_list, *script;
    struct vl_run_request req;
    /* built-in actions */
    struct vl_action_job action;
    const char **in_paths, **out_paths, **in_origins;
    struct vl_hash *in_hashes;
    char progress[160]; /* written by the worker under builder->progress_lock */
    int progress_new;
    /* the cache lookup */
    uv_work_t lookup;
    struct vl_hash *restored_hashes;
    int lookup_rc;
    struct vl_error lookup_err;
};

/* Outputs on their way into the cache, after the job that made them is gone. */
struct store_work {
    uv_work_t work;
    struct builder *b;
    struct vl_hash key;
    char **paths;
    struct vl_hash *hashes;
    size_t n;
};

struct queue {
    struct vl_edge **items;
    size_t head, len, cap;
};

struct builder {
    uv_loop_t *loop;
    struct vl_plan *plan;
    struct vl_graph *g;
    struct vl_state *state;
    const struct vl_build_options *opts;
    struct vl_build_summary *summary;
    struct vl_status status;
    struct vl_trace trace;
    struct vl_ready *ready; /* one per pool, same index as g->pools */
    int64_t *rank;          /* by edge index: critical-path ranks (exec/priority.h) */
    /* per pool: the actions begun with a cache lookup, in the order they
     * became ready; one whose lookup missed runs when it reaches the head
     * and its pool has room, so misses run in the order a build without a
     * cache would run them (their jobs: waiting_job[edge index], NULL once
     * restored or ended) */
    struct queue *waiting;
    struct job **waiting_job;
    size_t n_lookups; /* cache lookups in flight: they hold no place in a pool */
    struct vl_runner *runner;
    struct job *running;
    size_t n_running;
    int *slots;
    int n_slots;
    int cpu_running;
    size_t failures;
    int interrupted;
    atomic_int cancel; /* read by built-ins on the worker threads */
    uv_signal_t sigint, sigterm, sighup;
    uv_timer_t kill_timer, progress_timer;
    uv_prepare_t commit_prepare;
    struct vl_map swept; /* folders whose stale temporaries are gone (sweep_temporaries) */
    uv_mutex_t progress_lock;
    int handles_open;
    struct vl_error *err;
    int internal_error;
};

static void queue_push(struct queue *q, struct vl_edge *e)
{
    if (q->head + q->len == q->cap) {
        if (q->head > q->cap / 2) {
            memmove(q->items, q->items + q->head, q->len * sizeof *q->items);
            q->head = 0;
        } else {
            q->cap = q->cap ? q->cap * 2 : 64;
            q->items = realloc(q->items, q->cap * sizeof *q->items);
            if (!q->items) abort();
        }
    }
    q->items[q->head + q->len++] = e;
}

static struct vl_edge *queue_pop(struct queue *q)
{
    if (!q->len) return NULL;
    q->len--;
    return q->items[q->head++];
}

static size_t pool_index(const struct builder *b, const struct vl_pool *p)
{
    return (size_t)(p - b->g->pools);
}

static const char *describe(const struct vl_edge *e)
{
    static char buf[1024];
    snprintf(buf, sizeof buf, "%s %s", e->rule->name, e->outputs[0]->path);
    return buf;
}

void vl_build_command(const struct vl_edge *e, const char *in_list, struct vl_strbuf *out,
                      int *uses_in_list)
{
    *uses_in_list = 0;
    for (const char *p = e->command; *p; p++) {
        if (*p != '$') {
            vl_strbuf_addch(out, *p);
            continue;
        }
        if (p[1] == '$') {
            vl_strbuf_addch(out, '$');
            p++;
            continue;
        }
        int braced = p[1] == '{';
        const char *name = p + 1 + braced;
        size_t n = strspn(name, "abcdefghijklmnopqrstuvwxyz_");
        if (braced && name[n] != '}') n = 0;
        if (n == 7 && !strncmp(name, "in_list", 7)) {
            vl_strbuf_add_shell_quoted(out, in_list);
            *uses_in_list = 1;
        } else if (n == 2 && !strncmp(name, "in", 2)) {
            for (size_t i = 0; i < e->n_inputs; i++) {
                if (i) vl_strbuf_addch(out, ' ');
                vl_strbuf_add_shell_quoted(out, e->inputs[i]->path);
            }
        } else if (n == 3 && !strncmp(name, "out", 3)) {
            for (size_t i = 0; i < e->n_outputs; i++) {
                if (i) vl_strbuf_addch(out, ' ');
                vl_strbuf_add_shell_quoted(out, e->outputs[i]->path);
            }
        } else {
            vl_strbuf_addch(out, '$'); /* a shell variable: the shell expands it */
            continue;
        }
        p = name + n - 1 + braced;
    }
}

static int take_slot(struct builder *b)
{
    for (int i = 0; i < b->n_slots; i++)
        if (!b->slots[i]) {
            b->slots[i] = 1;
            return i;
        }
    return b->n_slots; /* cannot happen: slots cover every pool's depth */
}

static void remove_outputs(const struct vl_edge *e)
{
    for (size_t i = 0; i < e->n_outputs; i++) unlink(e->outputs[i]->path);
}

static void maybe_stop(struct builder *b);
static void start_ready(struct builder *b);
static void make_ready(struct builder *b, struct vl_edge *e);
static int stopping(const struct builder *b);
static void abandon(struct builder *b, struct job *j);

/* An action is finished and its outputs fingerprinted: release its users. */
static void edge_done(struct builder *b, struct vl_edge *e)
{
    e->done = 1;
    for (size_t i = 0; i < e->n_outputs; i++) {
        struct vl_node *o = e->outputs[i];
        for (size_t k = 0; k < o->n_consumers; k++) {
            struct vl_edge *c = o->consumers[k];
            if (!vl_edge_will_run(c) || c->done || !c->pending)
                continue;
            if (--c->pending == 0) make_ready(b, c);
        }
    }
}

static void make_ready(struct builder *b, struct vl_edge *e)
{
    if (e->state == VL_EDGE_MAYBE) {
        if (vl_plan_decide(b->plan, b->g, e, b->state, b->err) < 0) {
            b->internal_error = 1;
            return;
        }
        if (e->state == VL_EDGE_CLEAN) {
            e->reason = "up to date: its rebuilt inputs did not change";
            b->summary->up_to_date++;
            b->status.total--;
            edge_done(b, e);
            return;
        }
    }
    e->queued = 1;
    vl_priority_refresh(e, b->rank);
    vl_ready_push(&b->ready[pool_index(b, e->pool)], e);
}

static void record_success(struct builder *b, struct job *j)
{
    struct vl_edge *e = j->e;
    struct vl_action_record rec = {.key = e->key, .def_key = e->def_key, .n_outputs = e->n_outputs,
                                   .n_inputs = e->n_inputs, .exit_status = 0,
                                   .start_ns = j->start_wall_ns, .end_ns = vl_now_ns()};
    rec.outputs = calloc(e->n_outputs + 1, sizeof *rec.outputs);
    rec.inputs = calloc(e->n_inputs + 1, sizeof *rec.inputs);
    if (!rec.outputs || !rec.inputs) abort();
    for (size_t i = 0; i < e->n_outputs; i++) rec.outputs[i] = e->outputs[i]->hash;
    for (size_t i = 0; i < e->n_inputs; i++) rec.inputs[i] = e->inputs[i]->hash;
    if (vl_state_put_action(b->state, e->outputs[0]->path, e->rule->name, &rec, j->log.buf,
                            j->log.len, b->err) < 0)
        b->internal_error = 1;
    free(rec.outputs);
    free(rec.inputs);
}

/* Checks and fingerprints the outputs of a successful action; on a missing
 * output, explains it in the job's log and returns 0. */
static int outputs_complete(struct builder *b, struct job *j)
{
    struct vl_edge *e = j->e;
    for (size_t i = 0; i < e->n_outputs; i++) {
        struct vl_node *o = e->outputs[i];
        o->stat_done = 0;
        o->hash_known = 0;
        struct vl_error err;
        if (vl_plan_fingerprint(b->plan, o, b->state, &err) < 0) {
            vl_strbuf_addf(&j->log, "vlbuild: %s\n", err.msg);
            return 0;
        }
        if (!o->st.exists) {
            vl_strbuf_addf(&j->log, "vlbuild: rule %s succeeded but did not write %s\n",
                           e->rule->name, o->path);
            return 0;
        }
    }
    return 1;
}

static void job_free(struct job *j)
{
    if (j->in_list) unlink(j->in_list), free(j->in_list);
    if (j->script) unlink(j->script), free(j->script);
    vl_strbuf_release(&j->log);
    vl_strbuf_release(&j->command);
    free(j->in_paths);
    free(j->out_paths);
    free(j->in_hashes);
    free(j->in_origins);
    free(j->restored_hashes);
    free(j);
}

static void store_run(uv_work_t *w)
{
    struct store_work *s = w->data;
    struct vl_error err;
    if (vl_cache_store(s->b->opts->cache, &s->key, (const char *const *)s->paths, s->hashes, s->n,
                       &err) < 0)
        fprintf(stderr, "vlbuild: warning: cannot store %s in the cache: %s\n", s->paths[0],
                err.msg);
}

static void store_done(uv_work_t *w, int status)
{
    (void)status;
    struct store_work *s = w->data;
    for (size_t i = 0; i < s->n; i++) free(s->paths[i]);
    free(s->paths);
    free(s->hashes);
    free(s);
}

/* Hands the outputs of a finished action to the cache, off the loop. */
static void store_outputs(struct builder *b, const struct vl_edge *e)
{
    struct store_work *s = calloc(1, sizeof *s);
    if (!s) abort();
    s->b = b;
    s->key = e->key;
    s->n = e->n_outputs;
    s->paths = calloc(e->n_outputs, sizeof *s->paths);
    s->hashes = calloc(e->n_outputs, sizeof *s->hashes);
    if (!s->paths || !s->hashes) abort();
    for (size_t i = 0; i < e->n_outputs; i++) {
        s->paths[i] = strdup(e->outputs[i]->path);
        if (!s->paths[i]) abort();
        s->hashes[i] = e->outputs[i]->hash;
    }
    s->work.data = s;
    if (uv_queue_work(b->loop, &s->work, store_run, store_done) < 0) store_done(&s->work, 0);
}

/* Takes j off the list of begun jobs. */
static void unlink_job(struct builder *b, struct job *j)
{
    if (j->prev) j->prev->next = j->next;
    else b->running = j->next;
    if (j->next) j->next->prev = j->prev;
    b->n_running--;
}

static void finish(struct job *j, int ok)
{
    struct builder *b = j->b;
    struct vl_edge *e = j->e;
    /* off the running list, and release the pool */
    unlink_job(b, j);
    if (j->admitted) {
        e->pool->running--;
        if (!e->pool->is_gpu) b->cpu_running--;
        b->slots[j->slot] = 0;
    }

    const char *result;
    if (b->interrupted) {
        remove_outputs(e);
        result = "interrupted";
    } else {
        if (ok && !j->restored_hashes) ok = outputs_complete(b, j);
        if (ok) {
            record_success(b, j);
            if (j->restored_hashes) {
                b->summary->restored++;
                result = "restored";
            } else {
                b->summary->ran++;
                result = "ran";
                if (b->opts->cache) store_outputs(b, e);
            }
        } else {
            remove_outputs(e);
            struct vl_error ignored;
            vl_state_forget_action(b->state, e->outputs[0]->path, &ignored);
            e->failed = 1;
            b->summary->failed++;
            b->failures++;
            result = "failed";
        }
        vl_status_finished(&b->status, describe(e), ok, j->log.buf, j->log.len);
    }
    if (b->opts->trace_path)
        vl_trace_add(&b->trace, e->outputs[0]->path, e->rule->name, j->start_ns, vl_mono_ns(),
                     j->slot, result);
    job_free(j);
    if (ok && !b->interrupted) edge_done(b, e);
    start_ready(b);
    maybe_stop(b);
}

/* ---- shell actions ---- */

static void on_run_done(struct vl_run_request *req, int ok)
{
    finish(req->ctx, ok);
}

static int write_list(const char *path, struct vl_node *const *nodes, size_t n,
                      struct vl_error *err)
{
    struct vl_strbuf sb = VL_STRBUF_INIT;
    for (size_t i = 0; i < n; i++) vl_strbuf_addf(&sb, "%s\n", nodes[i]->path);
    int rc = vl_write_file_atomic(path, sb.buf, sb.len, err);
    vl_strbuf_release(&sb);
    return rc;
}

static int start_shell(struct builder *b, struct job *j, struct vl_error *err)
{
    struct vl_edge *e = j->e;
    char path[4096];
    snprintf(path, sizeof path, "%s/in-%zu.list", b->opts->tmp_dir, e->index);
    int uses_list;
    vl_build_command(e, path, &j->command, &uses_list);
    vl_status_command(&b->status, j->command.buf);
    if (uses_list) {
        j->in_list = strdup(path);
        if (write_list(path, e->inputs, e->n_inputs, err) < 0) return -1;
    }
    j->req.command = j->command.buf;
    if (j->command.len > LONG_COMMAND) {
        /* past ARG_MAX's per-argument limit: let the shell read a script */
        snprintf(path, sizeof path, "%s/cmd-%zu.sh", b->opts->tmp_dir, e->index);
        j->script = strdup(path);
        if (vl_write_file_atomic(path, j->command.buf, j->command.len, err) < 0) return -1;
        j->req.command = NULL;
        j->req.script = j->script;
    }
    return b->runner->ops->submit(b->runner, &j->req, err);
}

/* ---- built-in actions ---- */

/* Called on the worker thread: keep the latest text for the status line. */
static void on_progress(void *ctx, const char *text)
{
    struct job *j = ctx;
    uv_mutex_lock(&j->b->progress_lock);
    snprintf(j->progress, sizeof j->progress, "%s", text);
    j->progress_new = 1;
    uv_mutex_unlock(&j->b->progress_lock);
}

/* On the loop: show the progress of the most recently reporting action. */
static void on_progress_timer(uv_timer_t *t)
{
    struct builder *b = t->data;
    char text[160] = "";
    const char *what = NULL;
    uv_mutex_lock(&b->progress_lock);
    for (struct job *j = b->running; j; j = j->next)
        if (j->progress_new) {
            memcpy(text, j->progress, sizeof text);
            j->progress_new = 0;
            what = describe(j->e);
        }
    uv_mutex_unlock(&b->progress_lock);
    if (what) vl_status_progress(&b->status, what, text);
}

static int start_builtin(struct builder *b, struct job *j, struct vl_error *err)
{
    struct vl_edge *e = j->e;
    if (e->rule->def->reads_history && vl_state_commit(b->state, err) < 0) return -1;
    j->in_paths = calloc(e->n_inputs + 1, sizeof *j->in_paths);
    j->in_hashes = calloc(e->n_inputs + 1, sizeof *j->in_hashes);
    j->in_origins = calloc(e->n_inputs + 1, sizeof *j->in_origins);
    if (!j->in_paths || !j->in_hashes || !j->in_origins) abort();
    for (size_t i = 0; i < e->n_inputs; i++) {
        const struct vl_node *in = e->inputs[i];
        j->in_paths[i] = in->path;
        j->in_hashes[i] = in->hash;
        j->in_origins[i] = in->origin ? in->origin->path : in->path;
    }
    struct vl_node *origin = e->item ? (e->item->origin ? e->item->origin : e->item) : NULL;
    j->action = (struct vl_action_job){
        .def = e->rule->def,
        .params = &e->rule->values,
        .inputs = j->in_paths,
        .input_hashes = j->in_hashes,
        .input_origins = j->in_origins,
        .n_inputs = e->n_inputs,
        .outputs = j->out_paths,
        .n_outputs = e->n_outputs,
        .origin = origin ? origin->path : NULL,
        .origin_hash = origin && origin->hash_known ? &origin->hash : NULL,
        .copy = e->copy,
        .state_path = b->opts->state_path,
        .build_start_ns = b->opts->start_ns,
        .memory_budget = b->opts->memory_budget,
        .device = -1,
        .log = &j->log,
        .cancel = &b->cancel,
        .progress = on_progress,
        .progress_ctx = j,
    };
    vl_strbuf_addf(&j->command, "%s %s", e->rule->def->name, "");
    vl_params_canonical(&e->rule->values, &j->command);
    vl_status_command(&b->status, j->command.buf);
    j->req.action = &j->action;
    return b->runner->ops->submit(b->runner, &j->req, err);
}

/* Starts the action itself: a shell command or a built-in. */
static void launch(struct builder *b, struct job *j)
{
    struct vl_error err;
    int rc = j->e->rule->kind == VL_RULE_RUN ? start_shell(b, j, &err) : start_builtin(b, j, &err);
    if (rc < 0) {
        vl_strbuf_addf(&j->log, "vlbuild: %s\n", err.msg);
        finish(j, 0);
    }
}

/* Takes a place in j's pool, and a cpu slot unless it is a gpu pool. */
static void admit(struct builder *b, struct job *j)
{
    j->slot = take_slot(b);
    j->e->pool->running++;
    if (!j->e->pool->is_gpu) b->cpu_running++;
    j->admitted = 1;
    j->start_ns = vl_mono_ns(); /* its run, not its wait, in the trace */
    j->start_wall_ns = vl_now_ns();
    vl_status_started(&b->status, describe(j->e), NULL);
}

static void lookup_run(uv_work_t *w)
{
    struct job *j = w->data;
    const struct vl_edge *e = j->e;
    j->restored_hashes = calloc(e->n_outputs + 1, sizeof *j->restored_hashes);
    if (!j->restored_hashes) abort();
    j->lookup_rc = vl_cache_restore(j->b->opts->cache, &e->key, j->out_paths, e->n_outputs,
                                    j->restored_hashes, &j->lookup_err);
}

/* The cache answered: a hit finishes the action, a miss runs it. */
static void lookup_done(uv_work_t *w, int status)
{
    struct job *j = w->data;
    struct builder *b = j->b;
    b->n_lookups--;
    j->lookup_pending = 0;
    int miss = status != 0 || j->lookup_rc == 0; /* 1: a hit, < 0: an error */
    if (!miss || b->interrupted || stopping(b))
        b->waiting_job[j->e->index] = NULL; /* it ends here, whatever its place */
    if (status == 0 && j->lookup_rc == 1 && !b->interrupted) {
        /* fingerprints come from the cache entry; the stat tuple is taken
         * after the restore, since linking changes a file's ctime */
        struct vl_edge *e = j->e;
        int ok = 1;
        for (size_t i = 0; i < e->n_outputs && ok; i++) {
            struct vl_node *o = e->outputs[i];
            struct vl_file_record rec = {.hash = j->restored_hashes[i], .hashed_at_ns = vl_now_ns()};
            ok = vl_stat_path(o->path, &rec.st, &j->lookup_err) == 0 && rec.st.exists &&
                 vl_state_put_file(b->state, o->path, &rec, &j->lookup_err) == 0;
            o->st = rec.st;
            o->hash = rec.hash;
            o->stat_done = o->hash_known = 1;
        }
        if (!ok) vl_strbuf_addf(&j->log, "vlbuild: restoring from the cache: %s\n", j->lookup_err.msg);
        vl_status_started(&b->status, describe(e), NULL);
        finish(j, ok);
        return;
    }
    free(j->restored_hashes);
    j->restored_hashes = NULL;
    if (status == 0 && j->lookup_rc < 0) {
        vl_strbuf_addf(&j->log, "vlbuild: cache: %s\n", j->lookup_err.msg);
        vl_status_started(&b->status, describe(j->e), NULL);
        finish(j, 0);
        return;
    }
    if (b->interrupted) {
        finish(j, 0);
        return;
    }
    if (stopping(b)) { /* stopped by -k while it was looked up: it does not run */
        abandon(b, j);
        maybe_stop(b);
        return;
    }
    /* a miss: the action runs in its turn, once its pool has room */
    start_ready(b);
    maybe_stop(b);
}

static int is_output(void *ctx, const char *path, size_t n)
{
    const struct vl_node *node = vl_map_getn(&((struct vl_graph *)ctx)->nodes, path, n);
    return node && node->producer;
}

/* Removes the temporaries that an interrupted run left beside the outputs in
 * output's folder (vl_remove_temporaries' names), so that none lingers
 * half-written: one scan a folder and build, made before any action writing
 * there starts (the project lock keeps other builds out).  A scan per action
 * made a full build quadratic in the number of files of a folder. */
static void sweep_temporaries(struct builder *b, const char *output)
{
    const char *slash = strrchr(output, '/');
    size_t dlen = slash ? (size_t)(slash - output) : 0;
    if (vl_map_getn(&b->swept, output, dlen)) return;
    char *dir = vl_arena_strndup(&b->g->arena, output, dlen);
    vl_map_put(&b->swept, dir, dir);
    vl_remove_temporaries_in(dir, dlen, is_output, b->g);
}

/* Begins action e: clears its outputs, then asks the cache (taking no place
 * in a pool) or, without a cache, takes its place and runs it. */
static int start(struct builder *b, struct vl_edge *e)
{
    struct job *j = calloc(1, sizeof *j);
    if (!j) abort();
    j->b = b;
    j->e = e;
    j->log = (struct vl_strbuf)VL_STRBUF_INIT;
    j->command = (struct vl_strbuf)VL_STRBUF_INIT;
    j->start_ns = vl_mono_ns();
    j->start_wall_ns = vl_now_ns();
    struct vl_error err;
    int rc = 0;
    for (size_t i = 0; i < e->n_outputs && rc == 0; i++) {
        unlink(e->outputs[i]->path); /* a stale output must not pass for a new one */
        sweep_temporaries(b, e->outputs[i]->path); /* nor linger half-written */
        rc = vl_mkdir_parents(e->outputs[i]->path, &err);
    }
    j->next = b->running;
    if (b->running) b->running->prev = j;
    b->running = j;
    b->n_running++;
    if (!b->opts->cache) admit(b, j);
    j->req = (struct vl_run_request){.name = vl_arena_strdup(&b->g->arena, describe(e)),
                                     .rule = e->rule->name, .output = e->outputs[0]->path,
                                     .gpu = e->pool->is_gpu, .log = &j->log,
                                     .done = on_run_done, .ctx = j};
    j->out_paths = calloc(e->n_outputs + 1, sizeof *j->out_paths);
    if (!j->out_paths) abort();
    for (size_t i = 0; i < e->n_outputs; i++) j->out_paths[i] = e->outputs[i]->path;
    if (rc < 0) {
        if (!j->admitted) vl_status_started(&b->status, describe(e), NULL);
        vl_strbuf_addf(&j->log, "vlbuild: %s\n", err.msg);
        finish(j, 0);
        return -1;
    }
    if (!b->opts->cache) {
        launch(b, j);
        return 0;
    }
    j->lookup.data = j;
    b->waiting_job[e->index] = j;
    queue_push(&b->waiting[pool_index(b, e->pool)], e);
    j->lookup_pending = 1;
    b->n_lookups++;
    if (uv_queue_work(b->loop, &j->lookup, lookup_run, lookup_done) < 0) {
        b->n_lookups--;
        j->lookup_pending = 0; /* taken for a miss */
    }
    return 0;
}

/* Drops a begun job that will not run (the build stopped): it counts as not run. */
static void abandon(struct builder *b, struct job *j)
{
    unlink_job(b, j);
    job_free(j);
}

/* Once the build stops, ends the actions that missed the cache and wait for
 * their turn: interrupted, they end as such; stopped by -k, they did not
 * run.  Those still being looked up end when their lookup answers. */
static void drain_waiting(struct builder *b)
{
    for (size_t p = 0; p < b->g->n_pools; p++) {
        struct vl_edge *e;
        while ((e = queue_pop(&b->waiting[p]))) {
            struct job *j = b->waiting_job[e->index];
            if (!j || j->lookup_pending) continue;
            b->waiting_job[e->index] = NULL;
            if (b->interrupted) finish(j, 0);
            else abandon(b, j);
        }
    }
}

static int stopping(const struct builder *b)
{
    return b->interrupted || b->internal_error ||
           (b->opts->keep_going > 0 && b->failures >= (size_t)b->opts->keep_going);
}

static int has_room(const struct builder *b, const struct vl_pool *pool)
{
    return pool->running < pool->depth && (pool->is_gpu || b->cpu_running < b->opts->jobs);
}

static void start_ready(struct builder *b)
{
    for (int progress = 1; progress && !stopping(b);) {
        progress = 0;
        for (size_t p = 0; p < b->g->n_pools && !stopping(b); p++) {
            struct vl_pool *pool = &b->g->pools[p];
            struct vl_ready *q = &b->ready[p];
            struct queue *w = &b->waiting[p];
            /* what the cache missed runs first, in the order it became ready */
            while (w->len && !stopping(b)) {
                struct vl_edge *e = w->items[w->head];
                struct job *j = b->waiting_job[e->index];
                if (j && (j->lookup_pending || !has_room(b, pool))) break;
                queue_pop(w);
                if (!j) continue; /* restored, or ended */
                b->waiting_job[e->index] = NULL;
                admit(b, j);
                launch(b, j);
                progress = 1;
            }
            while (q->len && (b->opts->cache ? b->n_lookups < MAX_LOOKUPS : has_room(b, pool)) &&
                   !stopping(b)) {
                start(b, vl_ready_pop(q));
                progress = 1;
            }
        }
    }
    if (stopping(b)) drain_waiting(b);
}

static void close_loop_handles(struct builder *b)
{
    if (!b->handles_open) return;
    b->handles_open = 0;
    uv_close((uv_handle_t *)&b->sigint, NULL);
    uv_close((uv_handle_t *)&b->sigterm, NULL);
    uv_close((uv_handle_t *)&b->sighup, NULL);
    uv_close((uv_handle_t *)&b->commit_prepare, NULL);
    uv_close((uv_handle_t *)&b->kill_timer, NULL);
    uv_close((uv_handle_t *)&b->progress_timer, NULL);
}

static void maybe_stop(struct builder *b)
{
    if (b->n_running) return;
    int queued = 0;
    for (size_t p = 0; p < b->g->n_pools; p++) queued |= b->ready[p].len > 0;
    if (!queued || stopping(b)) close_loop_handles(b);
}

static void kill_all(struct builder *b, int sig)
{
    b->runner->ops->cancel(b->runner, sig);
}

static void on_kill_timer(uv_timer_t *t)
{
    kill_all(t->data, SIGKILL);
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct builder *b = s->data;
    if (b->interrupted) {
        kill_all(b, SIGKILL);
        return;
    }
    b->interrupted = 1;
    atomic_store(&b->cancel, 1);
    b->summary->interrupted = 1;
    if (b->n_running)
        vl_status_message(&b->status, "interrupted by %s: stopping %zu running action%s",
                          strsignal(signum), b->n_running, b->n_running == 1 ? "" : "s");
    kill_all(b, SIGTERM);
    uv_timer_start(&b->kill_timer, on_kill_timer, KILL_GRACE_MS, 0);
    drain_waiting(b);
    maybe_stop(b);
}

/* Runs each time the loop is about to wait: commits what the callbacks of
 * this iteration recorded.  Write transactions stay short, so workers that
 * write to state.db themselves (the metadata cache) never wait on the
 * engine, and a crash loses at most the records of one loop iteration. */
static void on_commit_prepare(uv_prepare_t *t)
{
    struct builder *b = t->data;
    if (vl_state_commit(b->state, b->err) < 0) b->internal_error = 1;
}

static void dry_run(struct builder *b)
{
    size_t i = 0, total = b->plan->n_dirty + b->plan->n_maybe;
    for (size_t k = 0; k < b->plan->len; k++) {
        struct vl_edge *e = b->plan->order[k];
        if (!vl_edge_will_run(e)) continue;
        printf("[%zu/%zu] %s (%s%s)\n", ++i, total, describe(e),
               e->state == VL_EDGE_MAYBE ? "may run: " : "", e->reason);
    }
}

int vl_build_execute(struct vl_plan *plan, struct vl_graph *g, struct vl_state *state,
                     const struct vl_build_options *opts, struct vl_build_summary *summary,
                     struct vl_error *err)
{
    int64_t t0 = vl_mono_ns();
    int64_t since = opts->start_mono_ns ? opts->start_mono_ns : t0; /* the summary's origin */
    memset(summary, 0, sizeof *summary);
    struct builder b = {0};
    b.plan = plan;
    b.g = g;
    b.state = state;
    b.opts = opts;
    b.summary = summary;
    b.err = err;
    summary->up_to_date = plan->n_clean;
    vl_status_init(&b.status, plan->n_dirty + plan->n_maybe, opts->quiet, opts->verbose);
    if (opts->dry_run) {
        dry_run(&b);
        summary->not_run = plan->n_dirty + plan->n_maybe;
        summary->seconds = (double)(vl_mono_ns() - since) / 1e9;
        return 0;
    }
    if (plan->n_dirty + plan->n_maybe == 0) {
        summary->seconds = (double)(vl_mono_ns() - since) / 1e9;
        return 0;
    }
    if (vl_mkdir_p(opts->tmp_dir, err) < 0) return -1;
    vl_trace_init(&b.trace, t0);
    b.loop = uv_default_loop();
    if ((opts->slurm ? vl_runner_slurm_open(b.loop, opts->self_exe, opts->tmp_dir, opts->slurm,
                                            &b.runner, err)
                     : vl_runner_local_open(b.loop, &b.runner, err)) < 0)
        return -1;
    b.ready = calloc(g->n_pools, sizeof *b.ready);
    b.rank = calloc(g->n_edges + 1, sizeof *b.rank);
    b.waiting = calloc(g->n_pools, sizeof *b.waiting);
    b.waiting_job = calloc(g->n_edges + 1, sizeof *b.waiting_job);
    b.n_slots = opts->jobs;
    for (size_t p = 1; p < g->n_pools; p++) b.n_slots += g->pools[p].is_gpu ? g->pools[p].depth : 0;
    b.slots = calloc((size_t)b.n_slots + 1, sizeof *b.slots);
    if (!b.ready || !b.rank || !b.waiting || !b.waiting_job || !b.slots) abort();
    vl_priority_rank(plan, b.rank);
    for (size_t p = 0; p < g->n_pools; p++) b.ready[p].rank = b.rank;
    uv_signal_init(b.loop, &b.sigint);
    uv_signal_init(b.loop, &b.sigterm);
    uv_signal_init(b.loop, &b.sighup);
    uv_prepare_init(b.loop, &b.commit_prepare);
    uv_timer_init(b.loop, &b.kill_timer);
    uv_timer_init(b.loop, &b.progress_timer);
    uv_mutex_init(&b.progress_lock);
    b.sigint.data = b.sigterm.data = b.sighup.data = &b;
    b.commit_prepare.data = b.kill_timer.data = b.progress_timer.data = &b;
    b.handles_open = 1;
    uv_signal_start(&b.sigint, on_signal, SIGINT);
    uv_signal_start(&b.sigterm, on_signal, SIGTERM);
    uv_signal_start(&b.sighup, on_signal, SIGHUP);
    uv_prepare_start(&b.commit_prepare, on_commit_prepare);
    uv_unref((uv_handle_t *)&b.commit_prepare);
    if (b.status.tty) {
        uv_timer_start(&b.progress_timer, on_progress_timer, 250, 250);
        uv_unref((uv_handle_t *)&b.progress_timer);
    }

    /* count what each action waits for; queue those that wait for nothing */
    for (size_t k = 0; k < plan->len; k++) {
        struct vl_edge *e = plan->order[k];
        if (!vl_edge_will_run(e)) continue;
        e->pending = 0;
        for (size_t i = 0; i < e->n_inputs; i++) {
            struct vl_edge *p = e->inputs[i]->producer;
            if (p && vl_edge_will_run(p)) e->pending++;
        }
        if (e->pending == 0) make_ready(&b, e);
    }
    start_ready(&b);
    maybe_stop(&b);
    uv_run(b.loop, UV_RUN_DEFAULT);
    vl_status_end(&b.status);

    for (size_t k = 0; k < plan->len; k++) {
        struct vl_edge *e = plan->order[k];
        if (vl_edge_will_run(e) && !e->done && !e->failed)
            summary->not_run++;
    }
    int rc = b.internal_error ? -1 : 0;
    if (vl_state_commit(state, b.internal_error ? NULL : err) < 0) rc = -1;
    if (opts->trace_path && vl_trace_write(&b.trace, opts->trace_path, rc ? NULL : err) < 0)
        rc = -1;
    vl_trace_release(&b.trace);
    for (size_t p = 0; p < g->n_pools; p++) vl_ready_release(&b.ready[p]), free(b.waiting[p].items);
    free(b.ready);
    free(b.rank);
    free(b.waiting);
    free(b.waiting_job);
    free(b.slots);
    b.runner->ops->close(b.runner);
    uv_loop_close(b.loop);
    uv_mutex_destroy(&b.progress_lock);
    vl_map_release(&b.swept);
    summary->seconds = (double)(vl_mono_ns() - since) / 1e9;
    return rc;
}
