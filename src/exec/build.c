/* build.c - the scheduler: a libuv loop that starts ready actions within the
 * limits of their pools, hands them to a runner (exec/runner.h: child
 * processes and the thread pool here, Slurm jobs on a cluster), and records
 * each result in the state database as it finishes.
 *
 * The loop is iterative, as samurai's and ninja's are.  Every callback from
 * the loop (a runner's end of an action, a cache lookup's answer, an output
 * check's end, a signal) only records what happened: job_end() marks the
 * action done or failed and pushes it on the list of finished actions.  Then
 * the callback calls schedule() once, which releases the users of what
 * finished (an action whose inputs are all done becomes ready), starts what
 * the pools have room for, and stops the loop once nothing is left.  Nothing
 * called from schedule() calls it again: an action that fails as it starts
 * (its output folder cannot be made) ends in job_end() and schedule()'s own
 * loop carries on, so thousands of such failures need no stack.
 *
 * A job goes through these steps, each off the loop where it waits or reads:
 *   lookup   with a cache, the cache is asked for its key on a worker, taking
 *            no place in a pool (exec/cache_step.h); a hit ends the job;
 *   wait     a miss waits for room in its pool, in the order it became ready;
 *   run      the runner runs it, holding a place in its pool;
 *   check    its outputs are stat'ed and fingerprinted (exec/outputs.h),
 *            still holding its place: on a worker, so that the loop never
 *            reads a large file, unless they are small (INLINE_CHECK_BYTES
 *            in all), when the hand-off would cost more than the reading.
 *
 * Ready actions start longest estimated path first (exec/priority.h).  An
 * action that waited on rebuilt inputs is decided again by content when it
 * becomes ready: if its key is unchanged, it does not run (early cutoff).
 *
 * Child processes run in their own process group, with a death signal that
 * kills them if vlbuild dies (see exec/local.c), so that an interrupted
 * build leaves no orphan writing an output behind its back. */
#include "exec/build.h"

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "exec/action_detail.h"
#include "exec/builtin_job.h"
#include "exec/cache_step.h"
#include "exec/input_check.h"
#include "exec/outputs.h"
#include "exec/priority.h"
#include "exec/runner.h"
#include "exec/shell_job.h"
#include "exec/slurm.h"
#include "exec/status.h"
#include "exec/trace.h"
#include "gpu/devices.h"

/* Cache lookups in flight at once (build.h).  A lookup waits on the disk or
 * on the remote cache's server, not on a CPU, so it takes no place in a pool:
 * with -j2, two lookups at a time left an HTTP restore waiting on round trips. */
#define MAX_LOOKUPS VL_BUILD_MAX_LOOKUPS
#define KILL_GRACE_MS 3000
/* outputs up to this size in all are fingerprinted on the loop (XXH3 reads
 * 64 KiB in a few microseconds); larger ones on a worker */
#define INLINE_CHECK_BYTES (64 * 1024)

struct builder;

enum job_step { STEP_LOOKUP, STEP_WAIT, STEP_RUN, STEP_CHECK };

struct job {
    struct builder *b;
    struct vl_edge *e;
    struct job *next, *prev; /* the list of begun jobs */
    enum job_step step;
    int slot;
    int gpu_slot; /* in the gpu pool: its slot there (gpu/devices.h), else -1 */
    char **env;   /* a gpu shell job's environment (vl_gpu_child_env), or NULL */
    int admitted; /* holds a place in its pool (and a cpu slot) */
    int restored; /* its outputs came from the cache */
    int64_t start_ns, start_wall_ns;
    struct vl_strbuf log;
    const char **out_paths;
    struct vl_run_request req;
    struct vl_shell_job shell;
    struct vl_builtin_job builtin;
    struct vl_cache_lookup lookup;
    struct vl_outputs_check check;
    uv_work_t check_work;
    int check_rc;
    char progress[160]; /* written by the worker under builder->progress_lock */
    int progress_new;
};

/* A first-in first-out queue of edges. */
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
    struct queue finished; /* done actions whose users are not yet released */
    size_t n_lookups;      /* cache lookups in flight: they hold no place in a pool */
    struct vl_runner *runner;
    int own_runner;
    struct job *running; /* every begun job */
    size_t n_running;
    int *slots; /* the trace's rows: one per action that may run at once */
    int n_slots;
    unsigned char *gpu_slots; /* taken slots of the gpu pools (gpu/devices.h) */
    int n_gpu_slots;
    int cpu_running;
    size_t failures;
    int interrupted;
    int scheduling; /* inside schedule(), which is never re-entered */
    atomic_int cancel; /* read by built-ins and output checks on the worker threads */
    uv_signal_t sigint, sigterm, sighup;
    uv_timer_t kill_timer, progress_timer;
    uv_prepare_t commit_prepare;
    struct vl_map swept; /* folders whose stale temporaries are gone (exec/outputs.h) */
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

static int stopping(const struct builder *b)
{
    return b->interrupted || b->internal_error ||
           (b->opts->keep_going > 0 && b->failures >= (size_t)b->opts->keep_going);
}

static int has_room(const struct builder *b, const struct vl_pool *pool)
{
    return pool->running < pool->depth && (pool->is_gpu || b->cpu_running < b->opts->jobs);
}

/* ---- recording results ---- */

/* e will not run: its users no longer wait for it. */
static void mark_done(struct builder *b, struct vl_edge *e)
{
    e->done = 1;
    queue_push(&b->finished, e);
}

/* Queues e, whose inputs are all done; an action waiting on rebuilt inputs
 * is decided first, and is done at once when they came out unchanged. */
static void make_ready(struct builder *b, struct vl_edge *e)
{
    if (e->state == VL_EDGE_MAYBE) {
        if (vl_plan_decide(b->plan, b->g, e, b->state, b->err) < 0) {
            b->internal_error = 1;
            return;
        }
        if (e->state == VL_EDGE_CLEAN) {
            e->reason = VL_REASON_CUTOFF;
            b->summary->up_to_date++;
            b->status.total--;
            mark_done(b, e);
            return;
        }
    }
    e->queued = 1;
    vl_priority_refresh(e, b->rank);
    vl_ready_push(&b->ready[pool_index(b, e->pool)], e);
}

/* Releases the users of every finished action: iterative, however long the
 * chains of early cutoffs. */
static void release_finished(struct builder *b)
{
    struct vl_edge *e;
    while ((e = queue_pop(&b->finished)) && !b->internal_error) {
        for (size_t i = 0; i < e->n_outputs; i++) {
            struct vl_node *o = e->outputs[i];
            for (size_t k = 0; k < o->n_consumers; k++) {
                struct vl_edge *c = o->consumers[k];
                if (!vl_edge_will_run(c) || c->done || !c->pending) continue;
                if (--c->pending == 0) make_ready(b, c);
            }
        }
    }
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
    struct vl_strbuf detail = VL_STRBUF_INIT; /* for explain and clean */
    vl_action_detail_write(e, &detail);
    rec.detail = detail.buf;
    rec.detail_len = detail.len;
    if (vl_state_put_action(b->state, e->outputs[0]->path, e->rule->name, &rec, j->log.buf,
                            j->log.len, b->err) < 0)
        b->internal_error = 1;
    vl_strbuf_release(&detail);
    free(rec.outputs);
    free(rec.inputs);
}

static void job_free(struct job *j)
{
    vl_shell_job_release(&j->shell);
    vl_builtin_job_release(&j->builtin);
    vl_cache_lookup_release(&j->lookup);
    vl_outputs_check_release(&j->check);
    vl_strbuf_release(&j->log);
    free(j->out_paths);
    free(j->env);
    free(j);
}

/* Takes j off the list of begun jobs. */
static void unlink_job(struct builder *b, struct job *j)
{
    if (j->prev) j->prev->next = j->next;
    else b->running = j->next;
    if (j->next) j->next->prev = j->prev;
    b->n_running--;
}

/* Drops a begun job that will not run (the build stopped): it counts as not run. */
static void abandon(struct builder *b, struct job *j)
{
    unlink_job(b, j);
    job_free(j);
}

/* Ends j: releases its pool, records the result (outputs fingerprinted when
 * ok), frees it.  Never starts anything: schedule() does. */
static void job_end(struct job *j, int ok)
{
    struct builder *b = j->b;
    struct vl_edge *e = j->e;
    unlink_job(b, j);
    if (j->admitted) {
        e->pool->running--;
        if (!e->pool->is_gpu) b->cpu_running--;
        b->slots[j->slot] = 0;
        if (j->gpu_slot >= 0) b->gpu_slots[j->gpu_slot] = 0;
    }
    const char *result;
    if (b->interrupted) {
        vl_outputs_remove(b->plan->disk, e);
        result = "interrupted";
        ok = 0;
    } else {
        if (ok) {
            record_success(b, j);
            if (j->restored) {
                b->summary->restored++;
                result = "restored";
            } else {
                b->summary->ran++;
                result = "ran";
                if (b->opts->cache) vl_cache_store_start(b->loop, b->opts->cache, e);
            }
        } else {
            vl_outputs_remove(b->plan->disk, e);
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
    if (ok) mark_done(b, e);
}

/* Ends j as failed with message (and err's text) in its log. */
static void job_fail(struct job *j, const char *message)
{
    vl_strbuf_addf(&j->log, "vlbuild: %s\n", message);
    job_end(j, 0);
}

static void schedule(struct builder *b);

/* ---- the check of a finished run's outputs, on a worker ---- */

static void check_run(uv_work_t *w)
{
    struct job *j = (struct job *)((char *)w - offsetof(struct job, check_work));
    j->check_rc = vl_outputs_check(&j->check, 0);
}

static void check_done(uv_work_t *w, int status)
{
    struct job *j = w->data;
    struct builder *b = j->b;
    int ok = status == 0 && j->check_rc == 0 && !b->interrupted;
    if (status == 0 && j->check_rc < 0) vl_strbuf_add(&j->log, j->check.message.buf, j->check.message.len);
    if (ok && vl_outputs_check_apply(&j->check, j->e, b->state, b->err) < 0) {
        b->internal_error = 1;
        ok = 0;
    }
    /* an annotation file a rule wrote is checked before its readers start */
    struct vl_error bad;
    if (ok && vl_input_check_outputs(j->e, &bad) < 0) {
        vl_strbuf_addf(&j->log, "%s\n", bad.msg);
        ok = 0;
    }
    job_end(j, ok);
    schedule(b);
}

/* The runner is done with j: a success has its outputs checked off the loop. */
static void on_run_done(struct vl_run_request *req, int ok)
{
    struct job *j = req->ctx;
    struct builder *b = j->b;
    if (!ok || b->interrupted) {
        job_end(j, 0);
    } else {
        j->step = STEP_CHECK;
        vl_outputs_check_init(&j->check, b->plan->disk, j->e, &b->cancel);
        j->check_work.data = j;
        /* small outputs are hashed here: a hand-off to a worker and back
         * costs more than reading them (a 30,000-action build of one-line
         * files took 8% longer with every check on a worker) */
        j->check_rc = vl_outputs_check(&j->check, INLINE_CHECK_BYTES);
        if (j->check_rc != 1) {
            check_done(&j->check_work, 0);
            return;
        }
        if (uv_queue_work(b->loop, &j->check_work, check_run, check_done) < 0) {
            check_run(&j->check_work); /* no thread pool: check here */
            check_done(&j->check_work, 0);
            return;
        }
    }
    schedule(b);
}

/* ---- starting the action itself ---- */

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

static int prepare_builtin(struct builder *b, struct job *j, struct vl_error *err)
{
    struct vl_edge *e = j->e;
    if (e->rule->def->reads_history && vl_state_commit(b->state, err) < 0) return -1;
    struct vl_gpu_binding gpu = {.ordinal = -1};
    if (j->gpu_slot >= 0) vl_gpu_bind(b->opts->gpu_devices, j->gpu_slot, &gpu);
    const struct vl_action_job base = {
        .state_path = b->opts->state_path,
        .build_start_ns = b->opts->start_ns,
        .memory_budget = b->opts->memory_budget,
        .device = gpu.ordinal,
        .gpu_lane = gpu.lane,
        .log = &j->log,
        .cancel = &b->cancel,
        .progress = on_progress,
        .progress_ctx = j,
    };
    vl_builtin_job_prepare(&j->builtin, e, &base, j->out_paths);
    struct vl_strbuf shown = VL_STRBUF_INIT;
    vl_builtin_job_describe(e, &shown);
    vl_status_command(&b->status, shown.buf);
    vl_strbuf_release(&shown);
    j->req.action = &j->builtin.action;
    return 0;
}

/* Hands j, admitted, to the runner; a failure to start ends it. */
static void launch(struct builder *b, struct job *j)
{
    struct vl_error err;
    j->step = STEP_RUN;
    int rc;
    if (j->e->rule->kind == VL_RULE_RUN) {
        if (j->gpu_slot >= 0) { /* its own environment names its device */
            extern char **environ;
            struct vl_gpu_binding gpu;
            vl_gpu_bind(b->opts->gpu_devices, j->gpu_slot, &gpu);
            j->env = vl_gpu_child_env(environ, &gpu);
            j->req.envp = j->env;
        }
        rc = vl_shell_job_prepare(&j->shell, j->e, b->opts->tmp_dir, &j->req, &err);
        vl_status_command(&b->status, j->shell.command.buf);
    } else {
        rc = prepare_builtin(b, j, &err);
    }
    if (rc == 0) rc = b->runner->ops->submit(b->runner, &j->req, &err);
    if (rc < 0) job_fail(j, err.msg);
}

/* Takes a place in j's pool, and a cpu slot unless it is a gpu pool. */
static void admit(struct builder *b, struct job *j)
{
    for (j->slot = 0; j->slot < b->n_slots && b->slots[j->slot]; j->slot++) {
    }
    b->slots[j->slot] = 1; /* slots cover every pool's depth: one is free */
    if (j->e->pool->is_gpu) {
        for (j->gpu_slot = 0; j->gpu_slot < b->n_gpu_slots && b->gpu_slots[j->gpu_slot];
             j->gpu_slot++) {
        }
        b->gpu_slots[j->gpu_slot] = 1; /* they cover the gpu pools' depths: one is free */
    }
    j->e->pool->running++;
    if (!j->e->pool->is_gpu) b->cpu_running++;
    j->admitted = 1;
    j->start_ns = vl_mono_ns(); /* its run, not its wait, in the trace */
    j->start_wall_ns = vl_now_ns();
    vl_status_started(&b->status, describe(j->e), NULL);
}

/* ---- the cache lookup ---- */

/* The cache answered: a hit ends the job, a miss waits for its turn. */
static void on_lookup_done(struct vl_cache_lookup *l)
{
    struct job *j = l->ctx;
    struct builder *b = j->b;
    struct vl_edge *e = j->e;
    b->n_lookups--;
    j->step = STEP_WAIT;
    if (l->rc != 0 || stopping(b)) b->waiting_job[e->index] = NULL; /* it ends here */
    if (b->interrupted) {
        job_end(j, 0);
    } else if (l->rc == 1) {
        struct vl_error err;
        j->restored = 1;
        vl_status_started(&b->status, describe(e), NULL);
        if (vl_cache_lookup_apply(l, e, b->state, &err) < 0) {
            vl_strbuf_addf(&j->log, "vlbuild: restoring from the cache: %s\n", err.msg);
            job_end(j, 0);
        } else {
            job_end(j, 1);
        }
    } else if (l->rc < 0) {
        vl_status_started(&b->status, describe(e), NULL);
        vl_strbuf_addf(&j->log, "vlbuild: cache: %s\n", l->err.msg);
        job_end(j, 0);
    } else if (stopping(b)) { /* stopped by -k while it was looked up: it does not run */
        abandon(b, j);
    }
    schedule(b);
}

/* ---- beginning an action ---- */

/* Begins action e: clears its outputs, then asks the cache (taking no place
 * in a pool) or, without a cache, takes its place and runs it. */
static void begin(struct builder *b, struct vl_edge *e)
{
    struct job *j = calloc(1, sizeof *j);
    if (!j) abort();
    j->b = b;
    j->e = e;
    j->gpu_slot = -1;
    j->log = (struct vl_strbuf)VL_STRBUF_INIT;
    j->shell = (struct vl_shell_job)VL_SHELL_JOB_INIT;
    j->start_ns = vl_mono_ns();
    j->start_wall_ns = vl_now_ns();
    j->next = b->running;
    if (b->running) b->running->prev = j;
    b->running = j;
    b->n_running++;
    j->req = (struct vl_run_request){.name = vl_arena_strdup(&b->g->arena, describe(e)),
                                     .rule = e->rule->name, .output = e->outputs[0]->path,
                                     .gpu = e->pool->is_gpu, .log = &j->log,
                                     .done = on_run_done, .ctx = j};
    j->out_paths = calloc(e->n_outputs + 1, sizeof *j->out_paths);
    if (!j->out_paths) abort();
    for (size_t i = 0; i < e->n_outputs; i++) j->out_paths[i] = e->outputs[i]->path;
    struct vl_error err;
    if (vl_outputs_prepare(b->plan->disk, b->g, e, &b->swept, &err) < 0) {
        vl_status_started(&b->status, describe(e), NULL);
        job_fail(j, err.msg);
        return;
    }
    if (!b->opts->cache) {
        admit(b, j);
        launch(b, j);
        return;
    }
    j->step = STEP_LOOKUP;
    b->waiting_job[e->index] = j;
    queue_push(&b->waiting[pool_index(b, e->pool)], e);
    b->n_lookups++;
    if (vl_cache_lookup_start(b->loop, &j->lookup, b->opts->cache, e, j->out_paths,
                              on_lookup_done, j) < 0) {
        b->n_lookups--;
        j->step = STEP_WAIT; /* taken for a miss */
    }
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
            if (!j || j->step == STEP_LOOKUP) continue;
            b->waiting_job[e->index] = NULL;
            if (b->interrupted) job_end(j, 0);
            else abandon(b, j);
        }
    }
}

/* Starts, in pool p, what its queues hold and its room allows; returns 1
 * when it started anything. */
static int start_pool(struct builder *b, size_t p)
{
    struct vl_pool *pool = &b->g->pools[p];
    struct vl_ready *ready = &b->ready[p];
    struct queue *w = &b->waiting[p];
    int progress = 0;
    /* what the cache missed runs first, in the order it became ready */
    while (w->len && !stopping(b)) {
        struct vl_edge *e = w->items[w->head];
        struct job *j = b->waiting_job[e->index];
        if (j && (j->step == STEP_LOOKUP || !has_room(b, pool))) break;
        queue_pop(w);
        if (!j) continue; /* restored, or ended */
        b->waiting_job[e->index] = NULL;
        admit(b, j);
        launch(b, j);
        progress = 1;
    }
    while (ready->len && !stopping(b) &&
           (b->opts->cache ? b->n_lookups < MAX_LOOKUPS : has_room(b, pool))) {
        begin(b, vl_ready_pop(ready));
        progress = 1;
    }
    return progress;
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

/* The one step after every event: release what finished, start what can
 * start, and end the loop when nothing runs and nothing more will. */
static void schedule(struct builder *b)
{
    /* a runner that ended a request inside submit(): the call below on the
     * stack carries on with what that recorded */
    if (b->scheduling) return;
    b->scheduling = 1;
    for (int progress = 1; progress;) {
        release_finished(b);
        progress = 0;
        for (size_t p = 0; p < b->g->n_pools && !stopping(b); p++) progress |= start_pool(b, p);
        progress |= b->finished.len > 0 && !b->internal_error;
    }
    if (stopping(b)) drain_waiting(b);
    b->scheduling = 0;
    if (b->n_running) return;
    int queued = 0;
    for (size_t p = 0; p < b->g->n_pools; p++) queued |= b->ready[p].len > 0;
    if (!queued || stopping(b)) close_loop_handles(b);
}

/* ---- interrupts ---- */

static void on_kill_timer(uv_timer_t *t)
{
    struct builder *b = t->data;
    b->runner->ops->cancel(b->runner, SIGKILL);
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct builder *b = s->data;
    if (b->interrupted) {
        b->runner->ops->cancel(b->runner, SIGKILL);
        return;
    }
    b->interrupted = 1;
    atomic_store(&b->cancel, 1);
    b->summary->interrupted = 1;
    if (b->n_running)
        vl_status_message(&b->status, "interrupted by %s: stopping %zu running action%s",
                          strsignal(signum), b->n_running, b->n_running == 1 ? "" : "s");
    b->runner->ops->cancel(b->runner, SIGTERM);
    uv_timer_start(&b->kill_timer, on_kill_timer, KILL_GRACE_MS, 0);
    schedule(b);
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
    char buf[4200];
    for (size_t k = 0; k < b->plan->len; k++) {
        struct vl_edge *e = b->plan->order[k];
        if (!vl_edge_will_run(e)) continue;
        printf("[%zu/%zu] %s (%s%s)\n", ++i, total, describe(e),
               e->state == VL_EDGE_MAYBE ? "may run: " : "",
               vl_plan_reason_text(e, buf, sizeof buf));
    }
}

static int open_runner(struct builder *b, struct vl_error *err)
{
    const struct vl_build_options *opts = b->opts;
    if (opts->runner) {
        b->runner = opts->runner;
        return 0;
    }
    b->own_runner = 1;
    return opts->slurm ? vl_runner_slurm_open(b->loop, opts->self_exe, opts->tmp_dir, opts->slurm,
                                              &b->runner, err)
                       : vl_runner_local_open(b->loop, &b->runner, err);
}

static void open_loop_handles(struct builder *b)
{
    uv_signal_init(b->loop, &b->sigint);
    uv_signal_init(b->loop, &b->sigterm);
    uv_signal_init(b->loop, &b->sighup);
    uv_prepare_init(b->loop, &b->commit_prepare);
    uv_timer_init(b->loop, &b->kill_timer);
    uv_timer_init(b->loop, &b->progress_timer);
    b->sigint.data = b->sigterm.data = b->sighup.data = b;
    b->commit_prepare.data = b->kill_timer.data = b->progress_timer.data = b;
    b->handles_open = 1;
    uv_signal_start(&b->sigint, on_signal, SIGINT);
    uv_signal_start(&b->sigterm, on_signal, SIGTERM);
    uv_signal_start(&b->sighup, on_signal, SIGHUP);
    uv_prepare_start(&b->commit_prepare, on_commit_prepare);
    uv_unref((uv_handle_t *)&b->commit_prepare);
    if (b->status.tty) {
        uv_timer_start(&b->progress_timer, on_progress_timer, 250, 250);
        uv_unref((uv_handle_t *)&b->progress_timer);
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
    b.loop = opts->runner ? opts->runner->loop : uv_default_loop();
    if (open_runner(&b, err) < 0) return -1;
    b.ready = calloc(g->n_pools, sizeof *b.ready);
    b.rank = calloc(g->n_edges + 1, sizeof *b.rank);
    b.waiting = calloc(g->n_pools, sizeof *b.waiting);
    b.waiting_job = calloc(g->n_edges + 1, sizeof *b.waiting_job);
    b.n_slots = opts->jobs;
    for (size_t p = 1; p < g->n_pools; p++) b.n_slots += g->pools[p].is_gpu ? g->pools[p].depth : 0;
    b.slots = calloc((size_t)b.n_slots + 1, sizeof *b.slots);
    for (size_t p = 0; p < g->n_pools; p++) b.n_gpu_slots += g->pools[p].is_gpu ? g->pools[p].depth : 0;
    b.gpu_slots = calloc((size_t)b.n_gpu_slots + 1, 1);
    if (!b.ready || !b.rank || !b.waiting || !b.waiting_job || !b.slots || !b.gpu_slots) abort();
    vl_priority_rank(plan, b.rank);
    for (size_t p = 0; p < g->n_pools; p++) b.ready[p].rank = b.rank;
    uv_mutex_init(&b.progress_lock);
    open_loop_handles(&b);

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
    schedule(&b);
    uv_run(b.loop, UV_RUN_DEFAULT);
    vl_status_end(&b.status);

    for (size_t k = 0; k < plan->len; k++) {
        struct vl_edge *e = plan->order[k];
        if (vl_edge_will_run(e) && !e->done && !e->failed) summary->not_run++;
    }
    int rc = b.internal_error ? -1 : 0;
    if (vl_state_commit(state, b.internal_error ? NULL : err) < 0) rc = -1;
    if (opts->trace_path && vl_trace_write(&b.trace, opts->trace_path, rc ? NULL : err) < 0)
        rc = -1;
    vl_trace_release(&b.trace);
    for (size_t p = 0; p < g->n_pools; p++) vl_ready_release(&b.ready[p]), free(b.waiting[p].items);
    free(b.finished.items);
    free(b.ready);
    free(b.rank);
    free(b.waiting);
    free(b.waiting_job);
    free(b.slots);
    free(b.gpu_slots);
    if (b.own_runner) {
        b.runner->ops->close(b.runner);
        uv_loop_close(b.loop);
    }
    uv_mutex_destroy(&b.progress_lock);
    vl_map_release(&b.swept);
    summary->seconds = (double)(vl_mono_ns() - since) / 1e9;
    return rc;
}
