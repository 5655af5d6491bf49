/* slurm.c - the Slurm runner: ready actions go out as batch jobs, several
 * actions of one rule to a job, and come back one by one.
 *
 * Batching.  Requests are collected per rule (req->rule) and pool for
 * window_ms, or until `batch` of them are waiting, then submitted with one
 * sbatch as one job.  The job runs its actions in `lanes` shell functions
 * side by side, each lane one action after another, and writes each
 * action's exit status as soon as it ends, so the head completes actions one
 * by one while the job is still running: per-job overhead (a second or more
 * from sbatch to a running script) is paid once per batch, not once per
 * action.
 *
 * Files, in TMP/slurm/PID-SEQ/ (TMP is the scheduler's tmp_dir, on the file
 * system the nodes share), format 1:
 *   job.sh     the batch script: `cd` to the project, then the lanes
 *   job.out    the script's own stdout and stderr (sbatch --output)
 *   I.desc     built-in action I, for `vlbuild exec-action` (exec/action_desc.c)
 *   I.log      action I's stdout and stderr, read back into its log
 *   laneL      lines `I STATUS\n`, appended by lane L as its actions end;
 *              STATUS is the shell's $? (128+N: killed by signal N)
 * The directory is removed once every action of the job has completed.
 *
 * Tracking.  A timer reads the lane files every poll_ms; every squeue_ms it
 * asks `squeue -t all -j IDS -o '%i %T %r'` for the state of the jobs that
 * still have actions out (no accounting database needed).  Only the client
 * commands' stdout is parsed (sbatch --parsable's id, squeue's lines); their
 * stderr goes into messages.  A job that squeue reports ended, or no longer
 * knows, fails the actions it did not report, with the job's state (TIMEOUT,
 * NODE_FAIL, CANCELLED, ...) and its output in their logs.  Jobs are
 * submitted with --no-requeue: a requeued job would run actions again behind
 * the head's back.
 *
 * Cancelling: every job with an id is `scancel`led; actions waiting for the
 * window fail at once; the runner then waits until squeue reports the jobs
 * ended (their processes stopped), unless asked to insist (SIGKILL), when
 * it gives up on them at once.
 *
 * The head alone writes state.db and the cache: built-ins on a node get no
 * state path (the metadata cache is skipped), and built-ins that read the
 * build history (reads_history) run on the head through the local runner,
 * as do rules configured `local = yes`. */
#include "exec/slurm.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec/action_desc.h"
#include "util/vec.h"

#define MAX_LOG (1 << 20)        /* output kept per action, as the local runner */
#define CANCEL_POLL_MS 200       /* squeue cadence while jobs are being cancelled */
#define SQUEUE_GIVE_UP_MS 300000 /* squeue failing this long fails the jobs */

struct slurm_runner;

/* A helper process (sbatch, squeue, scancel) with stdout and stderr captured
 * apart: stdout is what the runner parses (sbatch --parsable's id, squeue's
 * -o lines), stderr only goes into messages, so a warning can never be read
 * as an answer nor split one of its lines. */
struct proc {
    uv_process_t handle;
    uv_pipe_t out_pipe, err_pipe;
    int open_handles;
    int64_t status;
    int term_signal;
    struct vl_strbuf out, err;
    void (*done)(struct proc *p);
    void *ctx;
};

struct slurm_job {
    struct slurm_runner *r;
    struct slurm_job *next, *prev;
    struct vl_run_request **reqs; /* an entry is NULL once completed */
    size_t n, n_left;
    char *dir;   /* NULL: never written (failed before submission) */
    char id[64]; /* "" until sbatch answers */
    int lanes;
    long *lane_offset;
    char *rule;           /* the rule of its actions */
    int gpu;              /* in the gpu pool */
    int submitting;       /* sbatch is running */
    int started;          /* the script has started on a node */
    int completed;        /* Slurm says COMPLETED: the script ran to its end */
    int *killed;          /* per action: 128+N when killed by signal N, held until the job ends */
    int queried;          /* in the squeue that is running */
    int ended;            /* Slurm says it ended, or it never started */
    struct vl_strbuf why; /* how it ended, for the actions it left */
};

/* Requests of one rule and pool waiting for the window to close. */
struct group {
    struct group *next;
    char *rule;
    int gpu;
    struct vl_slurm_resources res;
    struct vl_run_request **reqs;
    size_t n, cap;
};

struct slurm_runner {
    struct vl_runner base;
    const struct vl_slurm_config *cfg;
    const char *vlbuild;
    char *cwd, *root;
    struct vl_runner *local;
    struct group *groups;
    struct slurm_job *jobs;
    uv_timer_t window_timer, poll_timer;
    uint64_t last_squeue, squeue_failing_since;
    int squeue_running, cancelling, abandoning, procs_running;
    unsigned seq;
};

/* ---- helper processes ---- */

static struct vl_strbuf *proc_buffer(struct proc *p, const uv_handle_t *h)
{
    return h == (uv_handle_t *)&p->out_pipe ? &p->out : &p->err;
}

static void proc_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct vl_strbuf *sb = proc_buffer(h->data, h);
    vl_strbuf_grow(sb, 65536);
    *buf = uv_buf_init(sb->buf + sb->len, (unsigned)(sb->cap - sb->len - 1));
}

static void proc_free(uv_handle_t *h)
{
    free(h->data);
}

static void proc_closed(uv_handle_t *h)
{
    struct proc *p = h->data;
    if (--p->open_handles > 0) return;
    p->done(p);
    vl_strbuf_release(&p->out);
    vl_strbuf_release(&p->err);
    free(p);
}

static void proc_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct vl_strbuf *sb = proc_buffer(s->data, (uv_handle_t *)s);
    (void)buf;
    if (n > 0) {
        sb->len += (size_t)n;
        sb->buf[sb->len] = '\0';
    } else if (n < 0) {
        uv_close((uv_handle_t *)s, proc_closed);
    }
}

static void proc_exit(uv_process_t *h, int64_t status, int term_signal)
{
    struct proc *p = h->data;
    p->status = status;
    p->term_signal = term_signal;
    uv_close((uv_handle_t *)h, proc_closed);
}

/* What a failed helper said, for a message: stderr, or stdout when stderr
 * is empty; trailing newlines dropped.  Points into p. */
static const char *proc_message(struct proc *p)
{
    struct vl_strbuf *sb = p->err.len ? &p->err : &p->out;
    while (sb->len && sb->buf[sb->len - 1] == '\n')
        sb->buf[--sb->len] = '\0';
    return sb->len ? sb->buf : "(no message)";
}

/* Starts args[0] (found on PATH) with stdout and stderr captured; done runs
 * once it has exited and its output is read.  On failure done never runs. */
static int proc_start(struct slurm_runner *r, char **args, void (*done)(struct proc *), void *ctx,
                      struct vl_error *err)
{
    struct proc *p = calloc(1, sizeof *p);
    if (!p) abort();
    p->out = p->err = (struct vl_strbuf)VL_STRBUF_INIT;
    p->done = done;
    p->ctx = ctx;
    uv_file out_fds[2], err_fds[2];
    int rc = uv_pipe(out_fds, 0, 0);
    if (rc == 0 && (rc = uv_pipe(err_fds, 0, 0)) < 0) {
        close(out_fds[0]);
        close(out_fds[1]);
    }
    if (rc < 0) {
        vl_strbuf_release(&p->out);
        vl_strbuf_release(&p->err);
        free(p);
        return vl_error_set(err, "cannot create a pipe: %s", uv_strerror(rc));
    }
    uv_stdio_container_t stdio[3] = {{.flags = UV_IGNORE},
                                     {.flags = UV_INHERIT_FD, .data.fd = out_fds[1]},
                                     {.flags = UV_INHERIT_FD, .data.fd = err_fds[1]}};
    uv_process_options_t po = {
        .file = args[0], .args = args, .exit_cb = proc_exit, .stdio = stdio, .stdio_count = 3};
    p->handle.data = p;
    rc = uv_spawn(r->base.loop, &p->handle, &po);
    close(out_fds[1]);
    close(err_fds[1]);
    if (rc < 0) {
        close(out_fds[0]);
        close(err_fds[0]);
        vl_strbuf_release(&p->out);
        vl_strbuf_release(&p->err);
        uv_close((uv_handle_t *)&p->handle, proc_free); /* libuv wants a failed spawn closed */
        return vl_error_set(err, "cannot run %s: %s (is Slurm's client installed?)", args[0],
                            uv_strerror(rc));
    }
    uv_pipe_t *pipes[2] = {&p->out_pipe, &p->err_pipe};
    uv_file fds[2] = {out_fds[0], err_fds[0]};
    for (int k = 0; k < 2; k++) {
        uv_pipe_init(r->base.loop, pipes[k], 0);
        pipes[k]->data = p;
        uv_pipe_open(pipes[k], fds[k]);
        uv_read_start((uv_stream_t *)pipes[k], proc_alloc, proc_read);
    }
    p->open_handles = 3;
    return 0;
}

/* ---- jobs ---- */

static void on_poll(uv_timer_t *t);

static void kick(struct slurm_runner *r, uint64_t delay)
{
    uv_timer_start(&r->poll_timer, on_poll, delay, (uint64_t)r->cfg->poll_ms);
}

static struct slurm_job *job_new(struct slurm_runner *r, struct vl_run_request **reqs, size_t n)
{
    struct slurm_job *j = calloc(1, sizeof *j);
    if (!j) abort();
    j->r = r;
    j->reqs = reqs;
    j->n = j->n_left = n;
    j->killed = calloc(n, sizeof *j->killed);
    if (!j->killed) abort();
    j->why = (struct vl_strbuf)VL_STRBUF_INIT;
    j->next = r->jobs;
    if (r->jobs) r->jobs->prev = j;
    r->jobs = j;
    return j;
}

/* Ends a job that will run no more actions: the next tick fails those left. */
static void job_end(struct slurm_job *j, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void job_end(struct slurm_job *j, const char *fmt, ...)
{
    if (j->ended) return;
    j->ended = 1;
    char text[VL_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    vl_strbuf_adds(&j->why, text);
    while (j->why.len && j->why.buf[j->why.len - 1] == '\n')
        j->why.buf[--j->why.len] = '\0';
    kick(j->r, 0);
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    char path[PATH_MAX];
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
            unlink(path);
        }
    closedir(d);
    rmdir(dir);
}

static void job_free(struct slurm_job *j)
{
    struct slurm_runner *r = j->r;
    if (j->prev)
        j->prev->next = j->next;
    else
        r->jobs = j->next;
    if (j->next) j->next->prev = j->prev;
    if (j->dir) remove_dir(j->dir);
    free(j->dir);
    free(j->reqs);
    free(j->lane_offset);
    free(j->rule);
    free(j->killed);
    vl_strbuf_release(&j->why);
    free(j);
}

/* Appends the last part of a file to log (the job's output, for failures). */
static void add_file_tail(struct vl_strbuf *log, const char *path, size_t max, const char *title)
{
    char *text;
    size_t len;
    struct vl_error ignored;
    if (vl_read_file(path, &text, &len, &ignored) < 0) return;
    if (len) {
        const char *from = len > max ? text + len - max : text;
        vl_strbuf_addf(log, "%s%s%s", title, from, text[len - 1] == '\n' ? "" : "\n");
    }
    free(text);
}

static void complete(struct slurm_job *j, size_t i, int ok)
{
    struct vl_run_request *req = j->reqs[i];
    j->reqs[i] = NULL;
    j->n_left--;
    req->runner_data = NULL;
    req->done(req, ok);
}

/* Action i of j reported status: take its log and complete it. */
static void action_ended(struct slurm_job *j, size_t i, int status)
{
    struct vl_run_request *req = j->reqs[i];
    if (status > 128 && status < 128 + 65 && !j->ended) {
        /* scancel, a time limit or the OOM killer end the whole job: wait for
         * squeue to say which, for the log */
        j->killed[i] = status;
        return;
    }
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%zu.log", j->dir, i);
    char *text;
    size_t len;
    struct vl_error err;
    if (vl_read_file(path, &text, &len, &err) == 0) {
        size_t room = req->log->len < MAX_LOG ? MAX_LOG - req->log->len : 0;
        vl_strbuf_add(req->log, text, len < room ? len : room);
        free(text);
    }
    if (status > 128 && status < 128 + 65)
        vl_strbuf_addf(req->log, "vlbuild: %s killed by signal %d (%s) on the node\n",
                       req->action ? "action" : "command", status - 128, strsignal(status - 128));
    else if (status && !req->action)
        vl_strbuf_addf(req->log, "vlbuild: command exited with status %d\n", status);
    else if (status > 1)
        vl_strbuf_addf(req->log, "vlbuild: exec-action exited with status %d\n", status);
    complete(j, i, status == 0);
}

/* Reads what the lanes of j appended since the last time. */
static void read_results(struct slurm_job *j)
{
    char path[PATH_MAX];
    for (int lane = 0; lane < j->lanes && j->n_left; lane++) {
        snprintf(path, sizeof path, "%s/lane%d", j->dir, lane);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        if (fseek(f, j->lane_offset[lane], SEEK_SET) == 0) {
            char line[128];
            while (fgets(line, sizeof line, f)) {
                size_t len = strlen(line);
                if (!len || line[len - 1] != '\n') break; /* being written: next time */
                j->lane_offset[lane] += (long)len;
                size_t i;
                int status;
                if (sscanf(line, "%zu %d", &i, &status) == 2 && i < j->n && j->reqs[i])
                    action_ended(j, i, status);
            }
        }
        fclose(f);
    }
}

/* Fails the actions an ended job did not report. */
static void fail_rest(struct slurm_job *j)
{
    for (size_t i = 0; i < j->n; i++) {
        struct vl_run_request *req = j->reqs[i];
        if (!req) continue;
        char path[PATH_MAX];
        if (j->dir && j->id[0]) {
            snprintf(path, sizeof path, "%s/%zu.log", j->dir, i);
            add_file_tail(req->log, path, MAX_LOG, "");
        }
        int sig = j->killed[i] - 128;
        if (sig > 0)
            vl_strbuf_addf(req->log, "vlbuild: %s killed by signal %d (%s) on the node\n",
                           req->action ? "action" : "command", sig, strsignal(sig));
        if (sig > 0 && j->completed) {
            complete(j, i, 0); /* the action alone was killed; the job went on */
            continue;
        }
        vl_strbuf_addf(req->log, "vlbuild: %s\n", j->why.len ? j->why.buf : "the job was lost");
        if (j->dir && j->id[0]) {
            snprintf(path, sizeof path, "%s/job.out", j->dir);
            add_file_tail(req->log, path, 4096, "vlbuild: the job's output:\n");
        }
        complete(j, i, 0);
    }
}

static void scancel(struct slurm_runner *r, struct slurm_job *only);

static void on_sbatch_done(struct proc *p)
{
    struct slurm_job *j = p->ctx;
    struct slurm_runner *r = j->r;
    r->procs_running--;
    j->submitting = 0;
    /* --parsable prints "ID" or "ID;CLUSTER" on stdout, messages go to stderr */
    char *id = p->out.buf + strspn(p->out.buf, " \t\n");
    size_t digits = strspn(id, "0123456789");
    int parsed = digits > 0 && digits < sizeof j->id && strchr(";\n", id[digits]);
    if (p->status == 0 && !p->term_signal && parsed) {
        snprintf(j->id, sizeof j->id, "%.*s", (int)digits, id);
        if (r->cancelling) scancel(r, j);
    } else if (p->status == 0 && !p->term_signal) {
        job_end(j, "sbatch for rule %s printed no job id: %s", j->rule, proc_message(p));
    } else {
        char how[64];
        if (p->term_signal)
            snprintf(how, sizeof how, "killed by signal %d", p->term_signal);
        else
            snprintf(how, sizeof how, "status %lld", (long long)p->status);
        job_end(j, "sbatch failed for rule %s (%s): %s", j->rule, how, proc_message(p));
    }
    if (!j->n_left && !j->submitting)
        job_free(j);
    else
        kick(r, 0);
}

/* A command line being built: owned strings, NULL-terminated when done. */
struct args {
    char **v;
    size_t n, cap;
};

static void args_addf(struct args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void args_addf(struct args *a, const char *fmt, ...)
{
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *word = n < 0 ? NULL : malloc((size_t)n + 1);
    if (!word) abort();
    vsnprintf(word, (size_t)n + 1, fmt, again);
    va_end(again);
    VL_PUSH(a->v, a->n, a->cap, word);
}

static void write_script_action(struct vl_strbuf *sh, const struct vl_run_request *req, size_t i,
                                int lane)
{
    if (req->action) {
        vl_strbuf_adds(sh, "\"$x\" exec-action ");
        vl_strbuf_addf(sh, "\"$d/%zu.desc\"", i);
    } else if (req->script) {
        vl_strbuf_adds(sh, "/bin/sh ");
        vl_strbuf_add_shell_quoted(sh, req->script);
    } else {
        vl_strbuf_adds(sh, "/bin/sh -c ");
        vl_strbuf_add_shell_quoted(sh, req->command);
    }
    vl_strbuf_addf(sh, " >\"$d/%zu.log\" 2>&1 </dev/null; echo \"%zu $?\" >>\"$d/lane%d\"\n", i, i,
                   lane);
}

/* Writes the job's files and starts sbatch; on failure ends the job. */
static void submit_job(struct slurm_runner *r, struct slurm_job *j,
                       const struct vl_slurm_resources *res)
{
    const char *rule = j->rule;
    struct vl_error err;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%ld-%u", r->root, (long)getpid(), ++r->seq);
    j->dir = strdup(path);
    if (!j->dir) abort();
    j->lanes = res->lanes < (int)j->n ? res->lanes : (int)j->n;
    j->lane_offset = calloc((size_t)j->lanes, sizeof *j->lane_offset);
    if (!j->lane_offset) abort();
    if (vl_mkdir_p(j->dir, &err) < 0) {
        job_end(j, "%s", err.msg);
        return;
    }
    struct vl_strbuf sh = VL_STRBUF_INIT;
    vl_strbuf_addf(&sh,
                   "#!/bin/sh\n# vlbuild slurm job, format 1: %zu actions of rule %s in %d "
                   "lanes\ncd ",
                   j->n, rule, j->lanes);
    vl_strbuf_add_shell_quoted(&sh, r->cwd);
    vl_strbuf_adds(&sh, " || exit 111\nd=");
    vl_strbuf_add_shell_quoted(&sh, j->dir);
    vl_strbuf_adds(&sh, "\nx=");
    vl_strbuf_add_shell_quoted(&sh, r->vlbuild);
    vl_strbuf_adds(&sh, "\n: >\"$d/started\"\n");
    int rc = 0;
    for (int lane = 0; lane < j->lanes; lane++) {
        vl_strbuf_addf(&sh, "lane%d() {\n:\n", lane);
        for (size_t i = (size_t)lane; i < j->n && rc == 0; i += (size_t)j->lanes) {
            const struct vl_run_request *req = j->reqs[i];
            if (req->action) {
                snprintf(path, sizeof path, "%s/%zu.desc", j->dir, i);
                rc = vl_action_desc_write(req->action, path, &err);
            }
            write_script_action(&sh, req, i, lane);
        }
        vl_strbuf_adds(&sh, "}\n");
    }
    if (j->lanes == 1) {
        vl_strbuf_adds(&sh, "lane0\n");
    } else {
        for (int lane = 0; lane < j->lanes; lane++)
            vl_strbuf_addf(&sh, "lane%d &\n", lane);
        vl_strbuf_adds(&sh, "wait\n");
    }
    snprintf(path, sizeof path, "%s/job.sh", j->dir);
    if (rc == 0) rc = vl_write_file_atomic(path, sh.buf, sh.len, &err);
    vl_strbuf_release(&sh);
    if (rc < 0) {
        job_end(j, "cannot write the job: %s", err.msg);
        return;
    }

    /* sbatch's command line, one string per word; extra options split on blanks */
    struct args a = {0};
    args_addf(&a, "sbatch");
    args_addf(&a, "--parsable");
    args_addf(&a, "--no-requeue");
    args_addf(&a, "--job-name=vlbuild:%s", rule);
    args_addf(&a, "--chdir=%s", r->cwd);
    args_addf(&a, "--output=%s/job.out", j->dir);
    args_addf(&a, "--ntasks=1");
    args_addf(&a, "--cpus-per-task=%d", res->cpus * j->lanes);
    if (res->mem_mb > 0) args_addf(&a, "--mem=%lldM", res->mem_mb * j->lanes);
    if (j->gpu && res->gpus > 0) args_addf(&a, "--gres=gpu:%d", res->gpus);
    if (res->time) args_addf(&a, "--time=%s", res->time);
    if (res->partition) args_addf(&a, "--partition=%s", res->partition);
    if (res->account) args_addf(&a, "--account=%s", res->account);
    for (const char *s = res->sbatch; s && *s;) {
        size_t blank = strspn(s, " \t"), n;
        s += blank;
        n = strcspn(s, " \t");
        if (n) args_addf(&a, "%.*s", (int)n, s);
        s += n;
    }
    args_addf(&a, "%s", path);
    VL_PUSH(a.v, a.n, a.cap, NULL);
    char **args = a.v;
    rc = proc_start(r, args, on_sbatch_done, j, &err);
    for (size_t i = 0; args[i]; i++)
        free(args[i]);
    free(args);
    if (rc < 0) {
        job_end(j, "%s", err.msg);
        return;
    }
    r->procs_running++;
    j->submitting = 1;
}

/* Submits g's requests as ceil(n / batch) jobs of nearly equal size (72
 * actions at batch 64 make two jobs of 36, not 64 and 8), and frees g. */
static void flush_group(struct slurm_runner *r, struct group *g)
{
    size_t batch = (size_t)g->res.batch, k = (g->n + batch - 1) / batch;
    for (size_t c = 0, from = 0; c < k; c++) {
        size_t to = g->n * (c + 1) / k;
        struct vl_run_request **reqs = malloc((to - from) * sizeof *reqs);
        if (!reqs) abort();
        memcpy(reqs, g->reqs + from, (to - from) * sizeof *reqs);
        struct slurm_job *j = job_new(r, reqs, to - from);
        for (size_t i = 0; i < j->n; i++)
            reqs[i]->runner_data = j;
        j->rule = strdup(g->rule);
        if (!j->rule) abort();
        j->gpu = g->gpu;
        if (r->cancelling)
            job_end(j, "cancelled before submission");
        else
            submit_job(r, j, &g->res);
        from = to;
    }
    free(g->reqs);
    free(g->rule);
    free(g);
    if (!uv_is_active((uv_handle_t *)&r->poll_timer)) kick(r, (uint64_t)r->cfg->poll_ms);
}

/* 1 while a job of g's rule waits in the queue: another one would only
 * queue behind it, so g may as well grow until that one starts. */
static int group_may_wait(const struct slurm_runner *r, const struct group *g)
{
    if (g->n >= (size_t)g->res.batch) return 0;
    for (const struct slurm_job *j = r->jobs; j; j = j->next)
        if (!j->started && !j->ended && j->gpu == g->gpu && !strcmp(j->rule, g->rule)) return 1;
    return 0;
}

/* Submits the waiting groups: all of them, or (!force) those that need not wait. */
static void flush_groups(struct slurm_runner *r, int force)
{
    struct group **at = &r->groups;
    while (*at) {
        struct group *g = *at;
        if (!force && group_may_wait(r, g)) {
            at = &g->next;
            continue;
        }
        *at = g->next;
        flush_group(r, g);
    }
}

static void on_window(uv_timer_t *t)
{
    flush_groups(t->data, 0);
}

/* ---- squeue ---- */

/* 1 for the states after which a job runs nothing more. */
static int state_final(const char *state)
{
    static const char *const alive[] = {"PENDING",       "RUNNING",   "CONFIGURING",  "COMPLETING",
                                        "SUSPENDED",     "REQUEUED",  "REQUEUE_HOLD", "REQUEUE_FED",
                                        "RESIZING",      "SIGNALING", "STAGE_OUT",    "STOPPED",
                                        "RESV_DEL_HOLD", NULL};
    for (size_t i = 0; alive[i]; i++)
        if (!strcmp(state, alive[i])) return 0;
    return 1;
}

static void on_squeue_done(struct proc *p)
{
    struct slurm_runner *r = p->ctx;
    r->procs_running--;
    r->squeue_running = 0;
    uint64_t now = uv_now(r->base.loop);
    /* squeue asked about one id that it no longer knows fails with Slurm's
     * ESLURM_INVALID_JOB_ID text: that is an answer (about several, it
     * leaves the unknown ones out) */
    int answered = p->status == 0 || strstr(p->err.buf, "Invalid job id");
    if (!answered) {
        if (!r->squeue_failing_since) r->squeue_failing_since = now;
        if (now - r->squeue_failing_since < SQUEUE_GIVE_UP_MS) return;
        for (struct slurm_job *j = r->jobs; j; j = j->next)
            if (j->queried)
                job_end(j, "squeue has failed for %d s: %s", SQUEUE_GIVE_UP_MS / 1000,
                        proc_message(p));
        return;
    }
    r->squeue_failing_since = 0;
    for (struct slurm_job *j = r->jobs; j; j = j->next) {
        if (!j->queried) continue;
        j->queried = 0;
        const char *state = NULL, *reason = "";
        char id[64], st[64], why[256];
        for (const char *line = p->out.buf; *line && !state;) {
            size_t n = strcspn(line, "\n");
            char text[512]; /* one line: a missing reason must not take the next line's */
            snprintf(text, sizeof text, "%.*s", (int)n, line);
            why[0] = '\0';
            if (sscanf(text, "%63s %63s %255[^\n]", id, st, why) >= 2 && !strcmp(id, j->id)) {
                state = st;
                reason = why;
            }
            line += n + (line[n] == '\n');
        }
        if (!state)
            job_end(j, "slurm job %s ended before this action finished (Slurm no longer knows it)",
                    j->id);
        if (!state || !state_final(state)) continue;
        j->completed = !strcmp(state, "COMPLETED");
        int has_reason = *reason && strcmp(reason, "None");
        job_end(j, "slurm job %s ended before this action finished: %s%s%s%s", j->id, state,
                has_reason ? " (" : "", has_reason ? reason : "", has_reason ? ")" : "");
    }
}

static void start_squeue(struct slurm_runner *r)
{
    struct vl_strbuf ids = VL_STRBUF_INIT;
    for (struct slurm_job *j = r->jobs; j; j = j->next)
        if (j->id[0] && !j->ended && j->n_left) {
            vl_strbuf_addf(&ids, "%s%s", ids.len ? "," : "", j->id);
            j->queried = 1;
        }
    if (ids.len) {
        char *args[] = {"squeue", "-h", "-t", "all", "-j", ids.buf, "-o", "%i %T %r", NULL};
        struct vl_error err;
        r->last_squeue = uv_now(r->base.loop);
        if (proc_start(r, args, on_squeue_done, r, &err) == 0) {
            r->squeue_running = 1;
            r->procs_running++;
        } else {
            for (struct slurm_job *j = r->jobs; j; j = j->next)
                if (j->queried) job_end(j, "%s", err.msg);
        }
    }
    vl_strbuf_release(&ids);
}

/* ---- the timer ---- */

static void on_poll(uv_timer_t *t)
{
    struct slurm_runner *r = t->data;
    int outstanding = 0, alive = 0;
    for (struct slurm_job *j = r->jobs, *next; j; j = next) {
        next = j->next;
        if (j->id[0] && !j->started) {
            char path[PATH_MAX];
            snprintf(path, sizeof path, "%s/started", j->dir);
            j->started = access(path, F_OK) == 0;
        }
        if (j->id[0] && j->n_left) read_results(j);
        if (j->n_left && (j->ended || r->abandoning)) {
            if (!j->ended) job_end(j, "slurm job %s abandoned: vlbuild was interrupted", j->id);
            fail_rest(j);
        }
        if (!j->n_left && !j->submitting) {
            job_free(j);
            continue;
        }
    }
    /* completions may have submitted more: look again */
    for (struct slurm_job *j = r->jobs; j; j = j->next) {
        outstanding |= j->n_left > 0;
        alive |= j->id[0] && !j->ended && j->n_left;
    }
    outstanding |= r->groups != NULL;
    if (r->groups && !uv_is_active((uv_handle_t *)&r->window_timer))
        uv_timer_start(&r->window_timer, on_window, (uint64_t)r->cfg->window_ms, 0);
    uint64_t interval = (uint64_t)(r->cancelling ? CANCEL_POLL_MS : r->cfg->squeue_ms);
    if (alive && !r->squeue_running && uv_now(r->base.loop) - r->last_squeue >= interval)
        start_squeue(r);
    if (!outstanding) uv_timer_stop(t);
}

/* ---- the runner interface ---- */

static void on_scancel_done(struct proc *p)
{
    struct slurm_runner *r = p->ctx;
    r->procs_running--;
    if (p->status || p->term_signal)
        fprintf(stderr, "vlbuild: warning: scancel failed: %s\n", proc_message(p));
}

/* Cancels every job with an id that still has actions out (or only `only`). */
static void scancel(struct slurm_runner *r, struct slurm_job *only)
{
    size_t n = 0;
    for (struct slurm_job *j = r->jobs; j; j = j->next)
        n++;
    char **args = calloc(n + 2, sizeof *args);
    if (!args) abort();
    size_t k = 0;
    args[k++] = "scancel";
    for (struct slurm_job *j = r->jobs; j; j = j->next)
        if (j->id[0] && (only ? j == only : j->n_left > 0 && !j->ended)) args[k++] = j->id;
    struct vl_error err;
    if (k > 1) {
        if (proc_start(r, args, on_scancel_done, r, &err) == 0)
            r->procs_running++;
        else
            fprintf(stderr, "vlbuild: warning: %s\n", err.msg);
    }
    free(args);
}

static int slurm_submit(struct vl_runner *base, struct vl_run_request *req, struct vl_error *err)
{
    struct slurm_runner *r = (struct slurm_runner *)base;
    assert(req->rule);
    struct vl_slurm_resources res = vl_slurm_config_resolve(r->cfg, req->rule, req->gpu);
    if (res.local || (req->action && req->action->def->reads_history))
        return r->local->ops->submit(r->local, req, err);
    if (r->cancelling) return vl_error_set(err, "the build is being interrupted");
    struct group *g = r->groups;
    while (g && (g->gpu != req->gpu || strcmp(g->rule, req->rule)))
        g = g->next;
    if (!g) {
        g = calloc(1, sizeof *g);
        if (!g) abort();
        g->rule = strdup(req->rule);
        if (!g->rule) abort();
        g->gpu = req->gpu;
        g->res = res;
        g->next = r->groups;
        r->groups = g;
    }
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 16;
        g->reqs = realloc(g->reqs, g->cap * sizeof *g->reqs);
        if (!g->reqs) abort();
    }
    g->reqs[g->n++] = req; /* a full group too waits for the window: it may split evenly */
    if (!uv_is_active((uv_handle_t *)&r->window_timer)) {
        uv_timer_start(&r->window_timer, on_window, (uint64_t)r->cfg->window_ms, 0);
    }
    return 0;
}

static void slurm_cancel(struct vl_runner *base, int sig)
{
    struct slurm_runner *r = (struct slurm_runner *)base;
    r->local->ops->cancel(r->local, sig);
    if (sig == SIGKILL || r->cancelling) r->abandoning = 1;
    r->cancelling = 1;
    uv_timer_stop(&r->window_timer);
    flush_groups(r, 1); /* they end at once: "cancelled before submission" */
    scancel(r, NULL);
    kick(r, 0);
}

static void slurm_close(struct vl_runner *base)
{
    struct slurm_runner *r = (struct slurm_runner *)base;
    while (r->jobs)
        job_free(r->jobs);
    r->local->ops->close(r->local);
    uv_close((uv_handle_t *)&r->window_timer, NULL);
    uv_close((uv_handle_t *)&r->poll_timer, NULL);
    uv_run(r->base.loop, UV_RUN_NOWAIT); /* lets the timers' close complete */
    rmdir(r->root);
    free(r->cwd);
    free(r->root);
    free(r);
}

static const struct vl_runner_ops slurm_ops = {"slurm", slurm_submit, slurm_cancel, slurm_close};

int vl_runner_slurm_open(uv_loop_t *loop, const char *self_exe, const char *tmp_dir,
                         const struct vl_slurm_config *config, struct vl_runner **out,
                         struct vl_error *err)
{
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return vl_error_set(err, "cannot find the current directory: %s", strerror(errno));
    struct slurm_runner *r = calloc(1, sizeof *r);
    if (!r) abort();
    r->base.ops = &slurm_ops;
    r->base.loop = loop;
    r->cfg = config;
    r->vlbuild = config->vlbuild ? config->vlbuild : self_exe;
    r->cwd = strdup(cwd);
    struct vl_strbuf root = VL_STRBUF_INIT;
    if (tmp_dir[0] != '/') vl_strbuf_addf(&root, "%s/", cwd);
    vl_strbuf_addf(&root, "%s/slurm", tmp_dir);
    r->root = vl_strbuf_detach(&root, NULL);
    if (!r->cwd) abort();
    /* job directories of an earlier, killed vlbuild: one vlbuild per project holds the lock */
    DIR *d = opendir(r->root);
    if (d) {
        struct dirent *de;
        char path[PATH_MAX];
        while ((de = readdir(d)))
            if (de->d_name[0] != '.') {
                snprintf(path, sizeof path, "%s/%s", r->root, de->d_name);
                remove_dir(path);
            }
        closedir(d);
    }
    if (vl_mkdir_p(r->root, err) < 0 || vl_runner_local_open(loop, &r->local, err) < 0) {
        free(r->cwd);
        free(r->root);
        free(r);
        return -1;
    }
    uv_timer_init(loop, &r->window_timer);
    uv_timer_init(loop, &r->poll_timer);
    r->window_timer.data = r->poll_timer.data = r;
    *out = &r->base;
    return 0;
}
