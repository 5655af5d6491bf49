/* engine_fixture.h - the engine in one process, for its unit tests: a project
 * in a fresh folder, a rules file from a string, and builds that go the way
 * the binary's do (parse, graph, state, targets, plan, vl_build_execute), with
 * a fake runner behind the runner interface (exec/runner.h) that spawns
 * nothing.
 *
 * The fake runner records every request in the order it was submitted and
 * runs it on a later turn of the loop (a 0 ms timer: never inside submit),
 * the way the test asked for its rule or output (fx_behave):
 *   FAKE_CONCAT     (the default) writes output i as "RULE(in0,in1,...)" from
 *                   its inputs' contents ("RULE#i(...)" with several outputs);
 *   FAKE_CONSTANT   writes "constant\n", whatever its inputs (early cutoff);
 *   FAKE_FAIL       writes a partial first output, then fails;
 *   FAKE_NO_OUTPUT  succeeds without writing anything;
 *   FAKE_HANG       writes a partial first output and ends only when the
 *                   builder cancels it;
 *   FAKE_INTERRUPT  FAKE_HANG, and raises SIGINT in this process, which the
 *                   builder's uv_signal handle takes on the loop.
 * It counts the actions in flight, in all and per pool, and keeps the most.
 *
 * The runner lives on uv_default_loop(), which the builder does not close
 * for a runner it was given: builds reuse it, and fx_close() closes it,
 * checking that the builder left no handle open.  Header-only: each test
 * file is one process with one fixture at a time. */
#ifndef VL_ENGINE_FIXTURE_H
#define VL_ENGINE_FIXTURE_H

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "exec/build.h"
#include "exec/plan.h"
#include "exec/runner.h"
#include "gpu/devices.h"
#include "graph/graph.h"
#include "parse/rules.h"
#include "state/state.h"
#include "test.h"
#include "util/fs.h"
#include "util/strbuf.h"

#define FX_STATE_DB ".vlbuild/state.db"
#define FX_MAX_POOLS 8
#define FX_MAX_CALLS 256
#define FX_MAX_BEHAVIOURS 16

enum fake_behaviour {
    FAKE_CONCAT,
    FAKE_CONSTANT,
    FAKE_FAIL,
    FAKE_NO_OUTPUT,
    FAKE_HANG,
    FAKE_INTERRUPT,
};

/* One request the fake runner was given. */
struct fx_call {
    char rule[64];
    char output[256];
    char command[512];
    char gpu_devices[96]; /* the request's CUDA_VISIBLE_DEVICES, or "" without one */
    int gpu_slot;         /* its VLBUILD_GPU_SLOT, or -1 */
};

struct fx_job {
    struct vl_run_request *req;
    int gpu_slot; /* the slot its environment names, or -1 */
    const struct vl_edge *e;
    size_t pool;
    enum fake_behaviour how;
    int cancelled;
    struct fx_job *next;
};

struct fx;

struct fx_runner {
    struct vl_runner base;
    struct fx *fx;
    uv_timer_t tick;
    struct fx_job *queue, **queue_tail; /* to run on the next tick */
    struct fx_job *hung;                /* running until cancelled */
};

struct fx {
    char dir[1024];
    const struct vl_disk *disk; /* the engine's disk; NULL: the real one */
    const struct vl_gpu_devices *gpu_devices; /* the gpu pool's devices, or NULL */
    int gpus;                                 /* the gpu pool's depth (--gpus); 0: 1 */
    size_t max_actions, max_links;            /* the graph's bounds; 0: vlbuild's */
    int load_may_fail;                        /* a graph error is the test's to check */
    char load_error[4096];                    /* the last graph error, or "" */
    unsigned char gpu_slot_held[64]; /* slots named by requests in flight */
    int gpu_oversubscribed;          /* a slot was named by two requests at once */
    int plan_may_fail;          /* a planning error is the test's to check */
    char plan_error[4096];      /* the last planning error, or "" */
    int jobs;       /* -j, and the cpu pool's depth */
    int keep_going; /* -k */
    struct fx_runner runner;
    struct {
        const char *match; /* a rule name or an output path */
        enum fake_behaviour how;
    } behaviours[FX_MAX_BEHAVIOURS];
    size_t n_behaviours;
    /* the last build's, kept until the next one so that tests can look */
    int loaded;
    struct vl_rules rules;
    struct vl_graph graph;
    struct vl_state *state;
    struct vl_plan plan;
    struct vl_build_summary summary;
    struct fx_call calls[FX_MAX_CALLS];
    size_t n_calls;
    int in_flight, max_in_flight;
    int pool_in_flight[FX_MAX_POOLS], pool_max[FX_MAX_POOLS];
    int cancels, first_cancel_signal;
    int partial_outputs; /* partial first outputs written by FAIL and HANG */
    int interrupts_raised;
};

static struct fx fx_instance;

/* ---- the fake runner ---- */

static enum fake_behaviour fx_behaviour_for(const struct fx *fx, const char *rule,
                                            const char *output)
{
    enum fake_behaviour how = FAKE_CONCAT;
    for (size_t i = 0; i < fx->n_behaviours; i++) /* the last one set wins */
        if (!strcmp(fx->behaviours[i].match, rule) || !strcmp(fx->behaviours[i].match, output))
            how = fx->behaviours[i].how;
    return how;
}

static void fx_runner_tick(uv_timer_t *t);

static void fx_runner_wake(struct fx_runner *r)
{
    if (!uv_is_active((uv_handle_t *)&r->tick)) uv_timer_start(&r->tick, fx_runner_tick, 0, 0);
}

/* Ends j: the request is the builder's again (and freed by it) after done. */
static void fx_job_finish(struct fx_runner *r, struct fx_job *j, int ok)
{
    struct fx *fx = r->fx;
    struct vl_run_request *req = j->req;
    fx->in_flight--;
    fx->pool_in_flight[j->pool]--;
    if (j->gpu_slot >= 0 && j->gpu_slot < 64) fx->gpu_slot_held[j->gpu_slot] = 0;
    free(j);
    req->runner_data = NULL;
    req->done(req, ok);
}

static int fx_write_output(struct fx_job *j, const char *path, const char *text)
{
    struct vl_error err;
    if (vl_write_file_atomic(path, text, strlen(text), &err) == 0) return 0;
    vl_strbuf_addf(j->req->log, "fake: %s\n", err.msg);
    return -1;
}

/* FAKE_CONCAT: every output from the contents of every input. */
static int fx_concat(struct fx_job *j)
{
    const struct vl_edge *e = j->e;
    int rc = 0;
    for (size_t i = 0; i < e->n_outputs && rc == 0; i++) {
        struct vl_strbuf sb = VL_STRBUF_INIT;
        vl_strbuf_adds(&sb, e->rule->name);
        if (e->n_outputs > 1) vl_strbuf_addf(&sb, "#%zu", i);
        vl_strbuf_addch(&sb, '(');
        for (size_t k = 0; k < e->n_inputs && rc == 0; k++) {
            char *data;
            size_t n;
            struct vl_error err;
            if (vl_read_file(e->inputs[k]->path, &data, &n, &err) < 0) {
                vl_strbuf_addf(j->req->log, "fake: %s\n", err.msg);
                rc = -1;
                break;
            }
            if (k) vl_strbuf_addch(&sb, ',');
            vl_strbuf_add(&sb, data, n);
            free(data);
        }
        vl_strbuf_addch(&sb, ')');
        if (rc == 0) rc = fx_write_output(j, e->outputs[i]->path, sb.buf);
        vl_strbuf_release(&sb);
    }
    return rc;
}

static void fx_job_run(struct fx_runner *r, struct fx_job *j)
{
    struct fx *fx = r->fx;
    const struct vl_edge *e = j->e;
    int rc = 0;
    if (j->cancelled) {
        vl_strbuf_adds(j->req->log, "fake: stopped\n");
        fx_job_finish(r, j, 0);
        return;
    }
    switch (j->how) {
    case FAKE_CONCAT:
        fx_job_finish(r, j, fx_concat(j) == 0);
        return;
    case FAKE_CONSTANT:
        for (size_t i = 0; i < e->n_outputs && rc == 0; i++)
            rc = fx_write_output(j, e->outputs[i]->path, "constant\n");
        fx_job_finish(r, j, rc == 0);
        return;
    case FAKE_NO_OUTPUT:
        fx_job_finish(r, j, 1);
        return;
    case FAKE_FAIL:
        if (fx_write_output(j, e->outputs[0]->path, "partial") == 0) fx->partial_outputs++;
        vl_strbuf_adds(j->req->log, "fake: failing on purpose\n");
        fx_job_finish(r, j, 0);
        return;
    case FAKE_HANG:
    case FAKE_INTERRUPT:
        if (fx_write_output(j, e->outputs[0]->path, "partial") == 0) fx->partial_outputs++;
        j->next = r->hung;
        r->hung = j;
        if (j->how == FAKE_INTERRUPT) {
            fx->interrupts_raised++;
            raise(SIGINT); /* libuv's handler queues it for the loop */
        }
        return;
    }
}

/* Runs what was submitted before this turn; what its ends submit waits for
 * the next. */
static void fx_runner_tick(uv_timer_t *t)
{
    struct fx_runner *r = t->data;
    struct fx_job *list = r->queue;
    r->queue = NULL;
    r->queue_tail = &r->queue;
    while (list) {
        struct fx_job *j = list;
        list = j->next;
        j->next = NULL;
        fx_job_run(r, j);
    }
}

static int fx_runner_submit(struct vl_runner *base, struct vl_run_request *req,
                            struct vl_error *err)
{
    struct fx_runner *r = (struct fx_runner *)base;
    struct fx *fx = r->fx;
    if (!req->command && !req->script)
        return vl_error_set(err, "the fake runner runs shell actions only (%s)", req->name);
    struct vl_node *out = vl_graph_find(&fx->graph, req->output);
    if (!out || !out->producer) return vl_error_set(err, "fake: no action makes %s", req->output);
    if (fx->n_calls == FX_MAX_CALLS) return vl_error_set(err, "fake: too many requests");
    struct fx_call *c = &fx->calls[fx->n_calls++];
    snprintf(c->rule, sizeof c->rule, "%s", req->rule);
    snprintf(c->output, sizeof c->output, "%s", req->output);
    snprintf(c->command, sizeof c->command, "%s", req->command ? req->command : req->script);
    c->gpu_devices[0] = '\0';
    c->gpu_slot = -1;
    for (char *const *v = req->envp; v && *v; v++) {
        if (!strncmp(*v, "CUDA_VISIBLE_DEVICES=", 21))
            snprintf(c->gpu_devices, sizeof c->gpu_devices, "%s", *v + 21);
        if (!strncmp(*v, "VLBUILD_GPU_SLOT=", 17)) c->gpu_slot = atoi(*v + 17);
    }
    struct fx_job *j = calloc(1, sizeof *j);
    if (!j) abort();
    j->req = req;
    j->gpu_slot = c->gpu_slot;
    if (c->gpu_slot >= 0 && c->gpu_slot < 64) {
        fx->gpu_oversubscribed |= fx->gpu_slot_held[c->gpu_slot];
        fx->gpu_slot_held[c->gpu_slot] = 1;
    }
    j->e = out->producer;
    j->pool = (size_t)(out->producer->pool - fx->graph.pools);
    j->how = fx_behaviour_for(fx, req->rule, req->output);
    if (j->pool >= FX_MAX_POOLS) abort();
    req->runner_data = j;
    if (++fx->in_flight > fx->max_in_flight) fx->max_in_flight = fx->in_flight;
    if (++fx->pool_in_flight[j->pool] > fx->pool_max[j->pool])
        fx->pool_max[j->pool] = fx->pool_in_flight[j->pool];
    *r->queue_tail = j;
    r->queue_tail = &j->next;
    fx_runner_wake(r);
    return 0;
}

/* Ends every hung request on the next tick, as a killed child ends later. */
static void fx_runner_cancel(struct vl_runner *base, int sig)
{
    struct fx_runner *r = (struct fx_runner *)base;
    if (!r->fx->cancels++) r->fx->first_cancel_signal = sig;
    while (r->hung) {
        struct fx_job *j = r->hung;
        r->hung = j->next;
        j->next = NULL;
        j->cancelled = 1;
        *r->queue_tail = j;
        r->queue_tail = &j->next;
    }
    for (struct fx_job *j = r->queue; j; j = j->next)
        j->cancelled = 1;
    if (r->queue) fx_runner_wake(r);
}

static void fx_runner_close(struct vl_runner *base)
{
    (void)base; /* the fixture's own: fx_close() closes it */
}

static const struct vl_runner_ops fx_runner_ops = {
    .name = "fake",
    .submit = fx_runner_submit,
    .cancel = fx_runner_cancel,
    .close = fx_runner_close,
};

/* ---- files ---- */

/* Writes text to path (under the project folder), making its folders. */
__attribute__((unused)) static void fx_write(const char *path, const char *text)
{
    struct vl_error err;
    if (vl_mkdir_parents(path, &err) < 0 ||
        vl_write_file_atomic(path, text, strlen(text), &err) < 0) {
        fprintf(stderr, "fixture: %s\n", err.msg);
        exit(1);
    }
}

/* 1 when path exists. */
__attribute__((unused)) static int fx_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* 1 when path holds exactly text; else prints what it holds and returns 0. */
__attribute__((unused)) static int fx_file_is(const char *path, const char *text)
{
    char *data = NULL;
    size_t n;
    struct vl_error err;
    if (vl_read_file(path, &data, &n, &err) < 0) {
        fprintf(stderr, "fixture: %s\n", err.msg);
        return 0;
    }
    int same = n == strlen(text) && memcmp(data, text, n) == 0;
    if (!same) fprintf(stderr, "fixture: %s holds \"%s\", expected \"%s\"\n", path, data, text);
    free(data);
    return same;
}

/* Sets path's modification time to seconds since the epoch, content untouched. */
__attribute__((unused)) static void fx_touch(const char *path, long long seconds)
{
    struct timespec times[2] = {{(time_t)seconds, 0}, {(time_t)seconds, 0}};
    if (utimensat(AT_FDCWD, path, times, 0) != 0) {
        perror(path);
        exit(1);
    }
}

/* ---- the project ---- */

/* Makes a fresh project folder $VL_TEST_TMP/engine-NAME.PID, goes into it,
 * and readies the fake runner: -j 4, -k 1, every action FAKE_CONCAT.  The
 * process gets 30 s from here (SIGALRM), so a hung build fails. */
__attribute__((unused)) static struct fx *fx_open(const char *name)
{
    struct fx *fx = &fx_instance;
    memset(fx, 0, sizeof *fx);
    fx->jobs = 4;
    fx->keep_going = 1;
    const char *base = getenv("VL_TEST_TMP");
    snprintf(fx->dir, sizeof fx->dir, "%s/engine-%s.%d", base ? base : "/tmp", name, (int)getpid());
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "rm -rf '%.1000s'", fx->dir);
    struct vl_error err;
    if (system(cmd) != 0 || vl_mkdir_p(fx->dir, &err) < 0 || chdir(fx->dir) != 0) {
        fprintf(stderr, "fixture: cannot make %s\n", fx->dir);
        exit(1);
    }
    alarm(30); /* a build that never ends (a lost request) fails the test */
    fx->runner.base.ops = &fx_runner_ops;
    fx->runner.base.loop = uv_default_loop();
    fx->runner.fx = fx;
    fx->runner.queue_tail = &fx->runner.queue;
    uv_timer_init(fx->runner.base.loop, &fx->runner.tick);
    fx->runner.tick.data = &fx->runner;
    return fx;
}

/* The next builds run match (a rule name or an output path) this way. */
__attribute__((unused)) static void fx_behave(struct fx *fx, const char *match,
                                              enum fake_behaviour how)
{
    if (fx->n_behaviours == FX_MAX_BEHAVIOURS) abort();
    fx->behaviours[fx->n_behaviours].match = match;
    fx->behaviours[fx->n_behaviours++].how = how;
}

/* Writes the project's rules file. */
__attribute__((unused)) static void fx_rules(const char *text)
{
    fx_write("vlbuild.rules", text);
}

static void fx_warn(void *ctx, const char *message)
{
    (void)ctx;
    fprintf(stderr, "fixture: warning: %s\n", message);
}

static void fx_unload(struct fx *fx)
{
    if (!fx->loaded) return;
    vl_plan_release(&fx->plan);
    vl_state_close(fx->state);
    fx->state = NULL;
    vl_graph_release(&fx->graph);
    vl_rules_release(&fx->rules);
    fx->loaded = 0;
}

/* Parses vlbuild.rules and builds its graph, dropping the last build's. */
__attribute__((unused)) static int fx_load(struct fx *fx)
{
    fx_unload(fx);
    memset(&fx->rules, 0, sizeof fx->rules);
    memset(&fx->graph, 0, sizeof fx->graph);
    memset(&fx->plan, 0, sizeof fx->plan);
    fx->plan.disk = fx->disk;
    fx->loaded = 1;
    struct vl_error err = {{0}};
    struct vl_graph_options gopts = {.jobs = fx->jobs, .gpus = fx->gpus > 0 ? fx->gpus : 1,
                                     .warn = fx_warn, .max_actions = fx->max_actions,
                                     .max_links = fx->max_links};
    fx->load_error[0] = '\0';
    if (vl_rules_parse_file(&fx->rules, "vlbuild.rules", NULL, 0, &err) < 0 ||
        vl_graph_build(&fx->graph, &fx->rules, &gopts, &err) < 0) {
        snprintf(fx->load_error, sizeof fx->load_error, "%s", err.msg);
        if (!fx->load_may_fail) {
            fprintf(stderr, "fixture: %s\n", err.msg);
            vl_test_failures++;
        }
        return -1;
    }
    return 0;
}

/* fx_load, then opens the state and plans every rule's outputs. */
__attribute__((unused)) static int fx_plan(struct fx *fx)
{
    if (fx_load(fx) < 0) return -1;
    struct vl_error err = {{0}};
    struct vl_state_index index = vl_plan_state_index(&fx->graph);
    struct vl_node **targets = NULL;
    size_t n_targets = 0;
    int rc = vl_mkdir_p(".vlbuild", &err);
    if (rc == 0) rc = vl_state_open(FX_STATE_DB, &index, fx_warn, NULL, &fx->state, &err);
    if (rc == 0)
        rc = vl_plan_resolve_targets(&fx->graph, &fx->rules, NULL, 0, &targets, &n_targets, &err);
    if (rc == 0) rc = vl_plan_build(&fx->plan, &fx->graph, fx->state, targets, n_targets, &err);
    free(targets);
    snprintf(fx->plan_error, sizeof fx->plan_error, "%s", rc < 0 ? err.msg : "");
    if (rc < 0 && !fx->plan_may_fail) {
        fprintf(stderr, "fixture: %s\n", err.msg);
        vl_test_failures++;
    }
    return rc;
}

/* Plans and builds everything with the fake runner, as `vlbuild -q -j JOBS
 * -k KEEP_GOING` would; fx->summary and fx->calls tell what happened.
 * Returns vl_build_execute's result (-1 also when planning failed). */
__attribute__((unused)) static int fx_build(struct fx *fx)
{
    fx->n_calls = 0;
    fx->in_flight = fx->max_in_flight = 0;
    memset(fx->pool_in_flight, 0, sizeof fx->pool_in_flight);
    memset(fx->pool_max, 0, sizeof fx->pool_max);
    fx->cancels = fx->first_cancel_signal = fx->partial_outputs = fx->interrupts_raised = 0;
    memset(&fx->summary, 0, sizeof fx->summary);
    if (fx_plan(fx) < 0) return -1;
    struct vl_build_options opts = {
        .jobs = fx->jobs,
        .keep_going = fx->keep_going,
        .quiet = 1,
        .state_path = FX_STATE_DB,
        .tmp_dir = ".vlbuild/tmp",
        .self_exe = "/nonexistent/vlbuild",
        .memory_budget = 1 << 20,
        .start_ns = vl_now_ns(),
        .runner = &fx->runner.base,
        .gpu_devices = fx->gpu_devices,
    };
    struct vl_error err = {{0}};
    int rc = vl_build_execute(&fx->plan, &fx->graph, fx->state, &opts, &fx->summary, &err);
    if (rc < 0) fprintf(stderr, "fixture: build: %s\n", err.msg);
    /* the builder returns only when the runner holds nothing */
    CHECK(fx->in_flight == 0 && !fx->runner.queue && !fx->runner.hung);
    return rc;
}

/* The action that makes path in the last build's graph (exits when none). */
__attribute__((unused)) static struct vl_edge *fx_edge(struct fx *fx, const char *path)
{
    struct vl_node *n = vl_graph_find(&fx->graph, path);
    if (!n || !n->producer) {
        fprintf(stderr, "fixture: no action makes %s\n", path);
        exit(1);
    }
    return n->producer;
}

/* The place of the request for output among the last build's, or -1. */
__attribute__((unused)) static int fx_call_index(const struct fx *fx, const char *output)
{
    for (size_t i = 0; i < fx->n_calls; i++)
        if (!strcmp(fx->calls[i].output, output)) return (int)i;
    return -1;
}

/* The most actions of the pool called name in flight at once, last build. */
__attribute__((unused)) static int fx_pool_max(const struct fx *fx, const char *name)
{
    for (size_t p = 0; p < fx->graph.n_pools && p < FX_MAX_POOLS; p++)
        if (!strcmp(fx->graph.pools[p].name, name)) return fx->pool_max[p];
    fprintf(stderr, "fixture: no pool %s\n", name);
    exit(1);
}

/* Ends the fixture: frees the last build, closes the loop (every handle the
 * builder opened must be closed by now), leaves and, when every check
 * passed, removes the project folder. */
__attribute__((unused)) static void fx_close(struct fx *fx)
{
    fx_unload(fx);
    uv_loop_t *loop = fx->runner.base.loop;
    uv_close((uv_handle_t *)&fx->runner.tick, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(loop) == 0);
    alarm(0);
    if (chdir("/") != 0) exit(1);
    if (!vl_test_failures) {
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "rm -rf '%.1000s'", fx->dir);
        if (system(cmd) != 0) fprintf(stderr, "fixture: cannot remove %s\n", fx->dir);
    }
}

#endif
