/* status.h - what the user sees while a build runs.
 *
 * On a terminal, one overprinted line: `[done/total] rate/s ETA current`.
 * Otherwise, one plain line per started action (`[3/40] rule output`), as
 * ninja does.  Messages and failed actions' output are printed above the
 * status line without garbling it. */
#ifndef VL_STATUS_H
#define VL_STATUS_H

#include <stddef.h>
#include <stdint.h>

struct vl_status {
    int tty;      /* overprint one line */
    int quiet;    /* only failures and the summary */
    int verbose;  /* print each command */
    size_t total, started, finished;
    int64_t start_ns;
    int line_shown;
    int columns;
};

/* Prepares the status for `total` actions to run; detects the terminal. */
void vl_status_init(struct vl_status *st, size_t total, int quiet, int verbose);
/* Reports an action starting: a description and, with -v, its command. */
void vl_status_started(struct vl_status *st, const char *description, const char *command);
/* With -v, prints the command an action runs. */
void vl_status_command(struct vl_status *st, const char *command);
/* Reports an action finishing; prints its captured output, if any. */
void vl_status_finished(struct vl_status *st, const char *description, int ok, const char *log,
                        size_t log_len);
/* Redraws the status line (on a terminal) with a running action's progress. */
void vl_status_progress(struct vl_status *st, const char *description, const char *progress);
/* Prints a message line (to stderr), above the status line. */
void vl_status_message(struct vl_status *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Clears the status line at the end of the build. */
void vl_status_end(struct vl_status *st);

#endif
