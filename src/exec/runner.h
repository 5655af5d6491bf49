/* runner.h - where actions run: the executor interface.
 *
 * The scheduler (build.c) decides what runs and when; a runner runs it.  The
 * local runner starts shell actions as child processes and built-in actions
 * on libuv's thread pool; a cluster runner submits them as jobs.  Runners are
 * driven from the libuv loop thread only, and report each request's end on
 * that thread through req->done. */
#ifndef VL_RUNNER_H
#define VL_RUNNER_H

#include <uv.h>

#include "actions/action.h"
#include "util/error.h"
#include "util/strbuf.h"

struct vl_run_request {
    const char *name;              /* "rule output": for messages only, never parsed */
    const char *rule;              /* the rule's name */
    const char *output;            /* the action's first output */
    const char *command;           /* a shell action: run with /bin/sh -c; or NULL */
    const char *script;            /* a shell action too long for argv: run /bin/sh SCRIPT */
    struct vl_action_job *action;  /* a built-in action (when command and script are NULL) */
    int gpu;                       /* the action is in the gpu pool */
    char *const *envp;             /* a shell action's environment, or NULL: vlbuild's own
                                      (a gpu slot's child: gpu/devices.h) */
    struct vl_strbuf *log;         /* captured output; runners append their messages */
    /* called once, on the loop thread, when the action has ended; ok is 1 on
     * success; never called when submit() failed */
    void (*done)(struct vl_run_request *req, int ok);
    void *ctx;                     /* the caller's */
    void *runner_data;             /* the runner's own */
};

struct vl_runner;

struct vl_runner_ops {
    const char *name;
    /* Starts req; returns -1 with a message if it cannot be started. */
    int (*submit)(struct vl_runner *r, struct vl_run_request *req, struct vl_error *err);
    /* Asks every running action to stop: sig is SIGTERM, then SIGKILL to insist. */
    void (*cancel)(struct vl_runner *r, int sig);
    /* Frees the runner; no request may be running. */
    void (*close)(struct vl_runner *r);
};

struct vl_runner {
    const struct vl_runner_ops *ops;
    uv_loop_t *loop;
};

/* Opens the local runner on loop.  Error: /dev/null cannot be opened. */
int vl_runner_local_open(uv_loop_t *loop, struct vl_runner **out, struct vl_error *err);

#endif
