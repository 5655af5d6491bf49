/* shell_job.c - expanding a run rule's command and writing its scratch files. */
#include "exec/shell_job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/fs.h"

#define LONG_COMMAND (64 * 1024) /* longer commands go through a script file */

void vl_shell_command(const struct vl_edge *e, const char *in_list, struct vl_strbuf *out,
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

static int write_list(const char *path, struct vl_node *const *nodes, size_t n,
                      struct vl_error *err)
{
    struct vl_strbuf sb = VL_STRBUF_INIT;
    for (size_t i = 0; i < n; i++) vl_strbuf_addf(&sb, "%s\n", nodes[i]->path);
    int rc = vl_write_file_atomic(path, sb.buf, sb.len, err);
    vl_strbuf_release(&sb);
    return rc;
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d) abort();
    return d;
}

int vl_shell_job_prepare(struct vl_shell_job *sj, const struct vl_edge *e, const char *tmp_dir,
                         struct vl_run_request *req, struct vl_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/in-%zu.list", tmp_dir, e->index);
    int uses_list;
    vl_shell_command(e, path, &sj->command, &uses_list);
    if (uses_list) {
        sj->in_list = xstrdup(path);
        if (write_list(path, e->inputs, e->n_inputs, err) < 0) return -1;
    }
    req->command = sj->command.buf;
    if (sj->command.len > LONG_COMMAND) {
        /* past ARG_MAX's per-argument limit: let the shell read a script */
        snprintf(path, sizeof path, "%s/cmd-%zu.sh", tmp_dir, e->index);
        sj->script = xstrdup(path);
        if (vl_write_file_atomic(path, sj->command.buf, sj->command.len, err) < 0) return -1;
        req->command = NULL;
        req->script = sj->script;
    }
    return 0;
}

void vl_shell_job_release(struct vl_shell_job *sj)
{
    if (sj->in_list) unlink(sj->in_list), free(sj->in_list);
    if (sj->script) unlink(sj->script), free(sj->script);
    vl_strbuf_release(&sj->command);
    *sj = (struct vl_shell_job)VL_SHELL_JOB_INIT;
}
