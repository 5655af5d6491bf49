/* local.c - the local runner: shell actions as child processes, built-in
 * actions on libuv's thread pool (uv_queue_work).
 *
 * A command runs as `/bin/sh -c COMMAND` in a process group of its own, so
 * that a cancel reaches everything it started, and with PR_SET_PDEATHSIG, so
 * that a killed vlbuild (even by SIGKILL) leaves no shell writing outputs
 * behind a later build's back.
 *
 * The child is started the way glibc's posix_spawn starts one: clone with
 * CLONE_VM | CLONE_VFORK, on a stack of its own, vlbuild suspended until the
 * exec.  Nothing of vlbuild's memory is copied: uv_spawn forks, and a fork
 * costs in proportion to vlbuild's memory, which grows with the graph, plus
 * a copy-on-write fault for every page vlbuild writes afterwards.  Unlike
 * posix_spawn, the child can set the death signal itself before the exec, so
 * no wrapper program is exec'd in between (each exec costs a dynamic
 * loader's start-up, slow under virtual machines).  The exit is watched
 * through a pidfd (Linux 5.3) polled by the loop. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec/runner.h"

#define MAX_LOG (1 << 20) /* output kept per action */

struct local_runner;

struct local_request {
    struct local_runner *runner;
    struct vl_run_request *req;
    struct local_request *next, *prev;
    pid_t pid;            /* the child, leader of its process group; 0 once reaped */
    uv_poll_t exit_watch; /* its pidfd, readable when it exits */
    int pidfd;
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
    struct local_request *running;
    int null_fd; /* /dev/null, every command's stdin */
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

static void on_exit_watch_closed(uv_handle_t *h)
{
    struct local_request *l = h->data;
    close(l->pidfd);
    on_handle_closed(h);
}

static void on_child_exit(uv_poll_t *watch, int status, int events)
{
    struct local_request *l = watch->data;
    int wstatus;
    pid_t got;
    while ((got = waitpid(l->pid, &wstatus, WNOHANG)) < 0 && errno == EINTR) {
    }
    if (got == 0) return; /* not yet: a spurious wake-up */
    if (got < 0) {
        l->exit_status = 127;
    } else if (WIFSIGNALED(wstatus)) {
        l->term_signal = WTERMSIG(wstatus);
    } else {
        l->exit_status = WEXITSTATUS(wstatus);
    }
    l->pid = 0;
    uv_poll_stop(watch);
    uv_close((uv_handle_t *)watch, on_exit_watch_closed);
}

/* What the child needs, prepared by the parent: the child shares vlbuild's
 * memory until its exec and must only make system calls. */
struct child_setup {
    char *const *argv;
    char *const *envp;
    int out_fd;    /* stdout and stderr */
    int null_fd;   /* stdin: /dev/null */
    pid_t parent;
    int exec_errno; /* written by the child when the exec fails */
};

/* The kernel's struct sigaction for rt_sigaction (not libc's, whose mask is
 * 128 bytes): enough to put back a default disposition. */
struct kernel_sigaction {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)(void);
    unsigned long mask;
};

/* The child's system calls go straight to the kernel (syscall(2)), never
 * through libc's or a sanitizer's wrappers, as glibc's posix_spawn makes its
 * child's: a wrapper may take a lock or write thread state in the memory the
 * child shares with vlbuild, which a child killed inside it would leave
 * behind, and under ASan the wrappers of prctl, signal and sigprocmask are
 * the sanitizer's (its _exit even runs the leak check, in the child). */
__attribute__((no_sanitize_address, no_sanitize_thread)) static long child_dup(int from, int to)
{
    /* dup3 refuses from == to; then the descriptor only loses close-on-exec */
    return from == to ? syscall(SYS_fcntl, to, F_SETFD, 0) : syscall(SYS_dup3, from, to, 0);
}

/* not instrumented: it runs on its own stack, sharing vlbuild's memory */
__attribute__((no_sanitize_address, no_sanitize_thread)) static int child_main(void *arg)
{
    struct child_setup *c = arg;
    /* signals are blocked (spawn_child): put back the defaults, then unblock */
    static const int handled[] = {SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGPIPE};
    const struct kernel_sigaction dfl = {SIG_DFL, 0, NULL, 0};
    for (size_t i = 0; i < sizeof handled / sizeof *handled; i++)
        syscall(SYS_rt_sigaction, handled[i], &dfl, NULL, sizeof dfl.mask);
    syscall(SYS_setpgid, 0, 0);
    syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (syscall(SYS_getppid) != c->parent) /* vlbuild died before the death signal was set */
        syscall(SYS_exit_group, 137);
    if (child_dup(c->null_fd, 0) < 0 || child_dup(c->out_fd, 1) < 0 ||
        child_dup(c->out_fd, 2) < 0) {
        c->exec_errno = errno;
        syscall(SYS_exit_group, 127);
    }
    const unsigned long none = 0;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof none);
    syscall(SYS_execve, c->argv[0], c->argv, c->envp);
    c->exec_errno = errno;
    syscall(SYS_exit_group, 127);
    return 127;
}

/* Starts argv[0] in the environment envp (NULL: vlbuild's) with stdin from
 * null_fd and stdout and stderr on out_fd (see the top of the file);
 * returns 0 or an errno value. */
static int spawn_child(char *const argv[], char *const *envp, int null_fd, int out_fd, pid_t *pid)
{
    extern char **environ;
    /* the child's stack: one child starts at a time, from the loop thread,
     * and vlbuild waits (CLONE_VFORK) until it has exec'd */
    static char stack[64 * 1024] __attribute__((aligned(16)));
    struct child_setup c = {argv, envp ? envp : environ, out_fd, null_fd, getpid(), 0};
    /* no signal handler may run in the child while it shares our memory */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
#ifdef __SANITIZE_THREAD__
    /* ThreadSanitizer cannot follow a child that runs on vlbuild's memory
     * and thread state (it lost the loop thread's writes after the first
     * spawn): under it, and only there, the child is forked.  An exec
     * failure then shows as the child's exit status 127. */
    (void)stack;
    pid_t p = fork();
    if (p == 0) child_main(&c);
#else
    pid_t p = clone(child_main, stack + sizeof stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &c);
#endif
    int clone_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (p < 0) return clone_errno;
    if (c.exec_errno) {
        waitpid(p, NULL, 0);
        return c.exec_errno;
    }
    *pid = p;
    return 0;
}

static int submit_shell(struct local_runner *r, struct local_request *l, struct vl_error *err)
{
    struct vl_run_request *req = l->req;
    char *args[4] = {"/bin/sh", "-c", (char *)req->command, NULL};
    if (req->script) {
        args[1] = (char *)req->script;
        args[2] = NULL;
    }
    /* stdout and stderr share one pipe, so the log keeps their interleaving */
    uv_file fds[2];
    int rc = uv_pipe(fds, 0, 0);
    if (rc < 0) return vl_error_set(err, "cannot create a pipe: %s", uv_strerror(rc));
    rc = spawn_child(args, req->envp, r->null_fd, fds[1], &l->pid);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        return vl_error_set(err, "cannot start /bin/sh for %s: %s", req->name, strerror(rc));
    }
    l->pidfd = (int)syscall(SYS_pidfd_open, l->pid, 0);
    const char *why = l->pidfd < 0 ? strerror(errno) : NULL;
    if (!why && (rc = uv_poll_init(r->base.loop, &l->exit_watch, l->pidfd)) < 0)
        why = uv_strerror(rc);
    if (why) {
        kill(-l->pid, SIGKILL);
        waitpid(l->pid, NULL, 0);
        if (l->pidfd >= 0) close(l->pidfd);
        close(fds[0]);
        return vl_error_set(err, "cannot watch the command of %s: %s (vlbuild needs Linux 5.3 "
                                 "or later)", req->name, why);
    }
    l->exit_watch.data = l;
    uv_poll_start(&l->exit_watch, UV_READABLE, on_child_exit);
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
        if ((l->req->command || l->req->script) && l->pid > 0) kill(-l->pid, sig);
}

static void local_close(struct vl_runner *base)
{
    close(((struct local_runner *)base)->null_fd);
    free(base);
}

static const struct vl_runner_ops local_ops = {"local", local_submit, local_cancel, local_close};

int vl_runner_local_open(uv_loop_t *loop, struct vl_runner **out, struct vl_error *err)
{
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd < 0) return vl_error_set(err, "cannot open /dev/null: %s", strerror(errno));
    struct local_runner *r = calloc(1, sizeof *r);
    if (!r) abort();
    r->base.ops = &local_ops;
    r->base.loop = loop;
    r->null_fd = null_fd;
    *out = &r->base;
    return 0;
}
