/* shell_job.h - a run rule's command made ready for a runner: $in, $out and
 * $in_list filled in, the input list written, and a script file for a
 * command too long to pass as one argument. */
#ifndef VL_SHELL_JOB_H
#define VL_SHELL_JOB_H

#include "exec/runner.h"
#include "graph/graph.h"
#include "util/strbuf.h"

struct vl_shell_job {
    struct vl_strbuf command; /* the expanded command */
    char *in_list;            /* the $in_list file, or NULL */
    char *script;             /* the script file of a long command, or NULL */
};

#define VL_SHELL_JOB_INIT {VL_STRBUF_INIT, NULL, NULL}

/* Replaces $in, $out and $in_list in a run rule's command: appends the
 * command for edge e to out.  in_list is the path of the file listing the
 * inputs (written by the caller when *uses_in_list is set on return). */
void vl_shell_command(const struct vl_edge *e, const char *in_list, struct vl_strbuf *out,
                      int *uses_in_list);
/* Expands e's command into sj, writes its scratch files into tmp_dir (named
 * by e's index) and points req's command or script at them.  Error: a
 * scratch file cannot be written. */
int vl_shell_job_prepare(struct vl_shell_job *sj, const struct vl_edge *e, const char *tmp_dir,
                         struct vl_run_request *req, struct vl_error *err);
/* Removes sj's scratch files and frees what it holds. */
void vl_shell_job_release(struct vl_shell_job *sj);

#endif
