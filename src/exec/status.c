/* status.c - the status line and per-action output. */
#include "exec/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util/fs.h"

void vl_status_init(struct vl_status *st, size_t total, int quiet, int verbose)
{
    memset(st, 0, sizeof *st);
    const char *term = getenv("TERM");
    st->tty = isatty(STDOUT_FILENO) && term && strcmp(term, "dumb") != 0;
    st->quiet = quiet;
    st->verbose = verbose;
    st->total = total;
    st->start_ns = vl_mono_ns();
    st->columns = 80;
    struct winsize ws;
    if (st->tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
        st->columns = ws.ws_col;
}

static void clear_line(struct vl_status *st)
{
    if (st->line_shown) {
        fputs("\r\033[K", stdout);
        fflush(stdout);
        st->line_shown = 0;
    }
}

static void show_line(struct vl_status *st, const char *description)
{
    double elapsed = (double)(vl_mono_ns() - st->start_ns) / 1e9;
    double rate = elapsed > 0 ? (double)st->finished / elapsed : 0;
    char eta[32] = "";
    if (rate > 0 && st->finished < st->total) {
        double left = (double)(st->total - st->finished) / rate;
        if (left >= 60)
            snprintf(eta, sizeof eta, " ETA %dm%02ds", (int)left / 60, (int)left % 60);
        else
            snprintf(eta, sizeof eta, " ETA %.0fs", left);
    }
    char line[1024];
    int n = snprintf(line, sizeof line, "[%zu/%zu] %.1f/s%s %s", st->finished, st->total, rate,
                     eta, description);
    if (n > st->columns - 1) n = st->columns - 1;
    if (n < 0) n = 0;
    printf("\r%.*s\033[K", n, line);
    fflush(stdout);
    st->line_shown = 1;
}

void vl_status_started(struct vl_status *st, const char *description, const char *command)
{
    st->started++;
    if (st->quiet) return;
    if (st->verbose && command) {
        clear_line(st);
        printf("%s\n", command);
    }
    if (st->tty) {
        show_line(st, description);
    } else {
        printf("[%zu/%zu] %s\n", st->started, st->total, description);
        fflush(stdout);
    }
}

void vl_status_command(struct vl_status *st, const char *command)
{
    if (!st->verbose || st->quiet) return;
    clear_line(st);
    printf("  %s\n", command);
    fflush(stdout);
}

void vl_status_finished(struct vl_status *st, const char *description, int ok, const char *log,
                        size_t log_len)
{
    st->finished++;
    if (!ok || (log_len && !st->quiet)) {
        clear_line(st);
        if (!ok) fprintf(stderr, "FAILED: %s\n", description);
        if (log_len) {
            FILE *to = ok ? stdout : stderr;
            fwrite(log, 1, log_len, to);
            if (log[log_len - 1] != '\n') fputc('\n', to);
            fflush(to);
        }
    }
    if (st->tty && !st->quiet) show_line(st, description);
}

void vl_status_progress(struct vl_status *st, const char *description, const char *progress)
{
    if (!st->tty || st->quiet) return;
    char line[1024];
    snprintf(line, sizeof line, "%s: %s", description, progress);
    show_line(st, line);
}

void vl_status_message(struct vl_status *st, const char *fmt, ...)
{
    clear_line(st);
    va_list ap;
    va_start(ap, fmt);
    fputs("vlbuild: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void vl_status_end(struct vl_status *st)
{
    clear_line(st);
}
