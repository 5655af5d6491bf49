/* local.c - the local runner: shell actions as child processes (uv_spawn),
 * built-in actions on libuv's thread pool (uv_queue_work).
 *
 * Children start through `vlbuild-exec` (next to vlbuild), which sets
 * PR_SET_PDEATHSIG before becoming /bin/sh, and run in their own process group, so that a
 * cancel reaches everything a command started and a killed vlbuild leaves no
 * shell writing outputs behind a later build's back. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec/runner.h"

#define MAX_LOG (1 << 20) /* output kept per action */

struct local_runner;

struct local_request {
    struct local_runner *runner;
    struct vl_run_request *req;
    struct local_request *next, *prev;
    uv_process_t proc;
    uv_pipe_t pipe;
    int open_handles;
    int64_t exit_status;
    int term_signal;
    uv_work_t work;
    int work_rc;
    struct vl_error work_err;
};

struct local_runner {
    struct vl_runner base;
    char *wrapper; /* vlbuild-exec, next to vlbuild */
    struct local_request *running;
};

static void link_request(struct local_runner *r, struct local_request *l)
{
    l->next = r->running;
    if (r->running) r->running->prev = l;
    r->running = l;
}

static void end_request(struct local_runner *r, struct local_request *l, int ok)
{
    if (l->prev) l->prev->next = l->next;
    else r->running = l->next;
    if (l->next) l->next->prev = l->prev;
    struct vl_run_request *req = l->req;
    free(l);
    req->runner_data = NULL;
    req->done(req, ok);
}

/* ---- shell actions ---- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    static char chunk[65536]; /* the loop thread only */
    *buf = uv_buf_init(chunk, sizeof chunk);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct local_request *l = h->data;
    if (--l->open_handles > 0) return;
    int ok = l->term_signal == 0 && l->exit_status == 0;
    if (l->term_signal)
        vl_strbuf_addf(l->req->log, "vlbuild: command killed by signal %d (%s)\n", l->term_signal,
                       strsignal(l->term_signal));
    else if (l->exit_status)
        vl_strbuf_addf(l->req->log, "vlbuild: command exited with status %lld\n",
                       (long long)l->exit_status);
    end_request(l->runner, l, ok);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct local_request *l = s->data;
    struct vl_strbuf *log = l->req->log;
    if (n > 0) {
        size_t room = log->len < MAX_LOG ? MAX_LOG - log->len : 0;
        vl_strbuf_add(log, buf->base, (size_t)n < room ? (size_t)n : room);
        return;
    }
    if (n < 0) uv_close((uv_handle_t *)s, on_handle_closed);
}

static void on_child_exit(uv_process_t *p, int64_t status, int signal)
{
    struct local_request *l = p->data;
    l->exit_status = status;
    l->term_signal = signal;
    uv_close((uv_handle_t *)p, on_handle_closed);
}

static int submit_shell(struct local_runner *r, struct local_request *l, struct vl_error *err)
{
    struct vl_run_request *req = l->req;
    char *args[5] = {r->wrapper, "/bin/sh", "-c", (char *)req->command, NULL};
    if (req->script) {
        args[2] = (char *)req->script;
        args[3] = NULL;
    }
    /* stdout and stderr share one pipe, so the log keeps their interleaving */
    uv_file fds[2];
    int rc = uv_pipe(fds, 0, 0);
    if (rc < 0) return vl_error_set(err, "cannot create a pipe: %s", uv_strerror(rc));
    uv_stdio_container_t stdio[3];
    stdio[0].flags = UV_IGNORE;
    stdio[1].flags = UV_INHERIT_FD;
    stdio[1].data.fd = fds[1];
    stdio[2].flags = UV_INHERIT_FD;
    stdio[2].data.fd = fds[1];
    uv_process_options_t po = {0};
    po.file = args[0];
    po.args = args;
    po.exit_cb = on_child_exit;
    po.stdio = stdio;
    po.stdio_count = 3;
    po.flags = UV_PROCESS_DETACHED; /* its own process group: signalled as a whole */
    l->proc.data = l;
    rc = uv_spawn(r->base.loop, &l->proc, &po);
    close(fds[1]);
    if (rc < 0) {
        close(fds[0]);
        return vl_error_set(err, "cannot start /bin/sh for %s: %s", req->name, uv_strerror(rc));
    }
    uv_pipe_init(r->base.loop, &l->pipe, 0);
    l->pipe.data = l;
    uv_pipe_open(&l->pipe, fds[0]);
    l->open_handles = 2;
    uv_read_start((uv_stream_t *)&l->pipe, on_alloc, on_read);
    return 0;
}

/* ---- built-in actions ---- */

static void work_run(uv_work_t *w)
{
    struct local_request *l = w->data;
    struct vl_action_job *job = l->req->action;
    l->work_rc = job->def->run(job, &l->work_err);
}

static void work_done(uv_work_t *w, int status)
{
    struct local_request *l = w->data;
    int ok = status == 0 && l->work_rc == 0;
    if (!ok)
        vl_strbuf_addf(l->req->log, "vlbuild: %s\n",
                       status ? "the action was cancelled" : l->work_err.msg);
    end_request(l->runner, l, ok);
}

static int local_submit(struct vl_runner *base, struct vl_run_request *req, struct vl_error *err)
{
    struct local_runner *r = (struct local_runner *)base;
    struct local_request *l = calloc(1, sizeof *l);
    if (!l) abort();
    l->runner = r;
    l->req = req;
    req->runner_data = l;
    int rc;
    if (req->command || req->script) {
        rc = submit_shell(r, l, err);
    } else {
        l->work.data = l;
        rc = uv_queue_work(base->loop, &l->work, work_run, work_done);
        if (rc < 0) vl_error_set(err, "cannot queue %s: %s", req->name, uv_strerror(rc));
    }
    if (rc < 0) {
        req->runner_data = NULL;
        free(l);
        return -1;
    }
    link_request(r, l);
    return 0;
}

static void local_cancel(struct vl_runner *base, int sig)
{
    struct local_runner *r = (struct local_runner *)base;
    /* built-ins see the builder's cancel flag; processes get the signal */
    for (struct local_request *l = r->running; l; l = l->next)
        if ((l->req->command || l->req->script) && l->proc.pid > 0) kill(-l->proc.pid, sig);
}

static void local_close(struct vl_runner *base)
{
    free(((struct local_runner *)base)->wrapper);
    free(base);
}

static const struct vl_runner_ops local_ops = {"local", local_submit, local_cancel, local_close};

int vl_runner_local_open(uv_loop_t *loop, const char *self_exe, struct vl_runner **out,
                         struct vl_error *err)
{
    const char *slash = strrchr(self_exe, '/');
    size_t dir = slash ? (size_t)(slash - self_exe + 1) : 0;
    char *wrapper = malloc(dir + sizeof "vlbuild-exec");
    if (!wrapper) abort();
    memcpy(wrapper, self_exe, dir);
    strcpy(wrapper + dir, "vlbuild-exec");
    if (access(wrapper, X_OK) != 0) {
        vl_error_set(err, "cannot run %s, which vlbuild starts its commands through: %s "
                          "(it is built and installed next to vlbuild)", wrapper, strerror(errno));
        free(wrapper);
        return -1;
    }
    struct local_runner *r = calloc(1, sizeof *r);
    if (!r) abort();
    r->base.ops = &local_ops;
    r->base.loop = loop;
    r->wrapper = wrapper;
    *out = &r->base;
    return 0;
}
