/* action_desc.c - built-in action jobs as files.
 *
 * Format, version 1: UTF-8 text, one record per line, fields separated by a
 * tab; in every field a backslash, a tab and a newline are written as `\\`,
 * `\t` and `\n`.  Records, in this order:
 *   vlbuild-action  1                      the format and its version
 *   action  NAME  VERSION                  the built-in and its implementation version
 *   param   NAME=VALUE                     one per parameter, canonical text
 *   input   PATH  HASH  ORIGIN             one per input, in order; HASH is 32 hex digits
 *   output  PATH                           one per output, in order
 *   origin  PATH  HASH                     the job's source item (HASH `-`: unknown); optional
 *   copy    N
 *   device  N                              -1: the CPU
 *   memory_budget  BYTES
 *   build_start_ns NS
 * Paths are relative to the project directory, as the scheduler has them.  A
 * reader refuses another format version and an action whose implementation
 * version differs from its own (the node runs another vlbuild than the head). */
#include "exec/action_desc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DESC_VERSION 1
#define MAX_FIELDS 4

static void add_field(struct vl_strbuf *sb, const char *s)
{
    vl_strbuf_addch(sb, '\t');
    for (; *s; s++) {
        if (*s == '\\')
            vl_strbuf_adds(sb, "\\\\");
        else if (*s == '\t')
            vl_strbuf_adds(sb, "\\t");
        else if (*s == '\n')
            vl_strbuf_adds(sb, "\\n");
        else
            vl_strbuf_addch(sb, *s);
    }
}

int vl_action_desc_write(const struct vl_action_job *job, const char *path, struct vl_error *err)
{
    struct vl_strbuf sb = VL_STRBUF_INIT;
    char hex[33];
    vl_strbuf_addf(&sb, "vlbuild-action\t%d\naction", DESC_VERSION);
    add_field(&sb, job->def->name);
    vl_strbuf_addf(&sb, "\t%d\n", job->def->version);
    for (size_t i = 0; job->params && i < job->params->len; i++) {
        const struct vl_param_value *v = &job->params->values[i];
        struct vl_strbuf word = VL_STRBUF_INIT;
        vl_strbuf_addf(&word, "%s=%s", v->spec->name, v->text);
        vl_strbuf_adds(&sb, "param");
        add_field(&sb, word.buf);
        vl_strbuf_addch(&sb, '\n');
        vl_strbuf_release(&word);
    }
    for (size_t i = 0; i < job->n_inputs; i++) {
        vl_hash_hex(&job->input_hashes[i], hex);
        vl_strbuf_adds(&sb, "input");
        add_field(&sb, job->inputs[i]);
        add_field(&sb, hex);
        add_field(&sb, job->input_origins ? job->input_origins[i] : job->inputs[i]);
        vl_strbuf_addch(&sb, '\n');
    }
    for (size_t i = 0; i < job->n_outputs; i++) {
        vl_strbuf_adds(&sb, "output");
        add_field(&sb, job->outputs[i]);
        vl_strbuf_addch(&sb, '\n');
    }
    if (job->origin) {
        if (job->origin_hash) vl_hash_hex(job->origin_hash, hex);
        vl_strbuf_adds(&sb, "origin");
        add_field(&sb, job->origin);
        add_field(&sb, job->origin_hash ? hex : "-");
        vl_strbuf_addch(&sb, '\n');
    }
    vl_strbuf_addf(&sb, "copy\t%d\ndevice\t%d\nmemory_budget\t%llu\nbuild_start_ns\t%lld\n",
                   job->copy, job->device, (unsigned long long)job->memory_budget,
                   (long long)job->build_start_ns);
    int rc = vl_write_file_atomic(path, sb.buf, sb.len, err);
    vl_strbuf_release(&sb);
    return rc;
}

/* Splits line (modified in place) into unescaped fields; returns their count. */
static size_t split_fields(char *line, char **fields)
{
    size_t n = 0;
    fields[n++] = line;
    char *w = line;
    for (char *p = line; *p; p++) {
        if (*p == '\t') {
            *w++ = '\0';
            if (n == MAX_FIELDS) return n + 1; /* too many: the caller refuses */
            fields[n++] = w;
        } else if (*p == '\\' && p[1]) {
            p++;
            *w++ = *p == 't' ? '\t' : *p == 'n' ? '\n' : *p;
        } else {
            *w++ = *p;
        }
    }
    *w = '\0';
    return n;
}

static char *dup_or_die(const char *s)
{
    char *d = strdup(s);
    if (!d) abort();
    return d;
}

static void push(char ***list, size_t n, const char *s)
{
    *list = realloc(*list, (n + 2) * sizeof **list);
    if (!*list) abort();
    (*list)[n] = dup_or_die(s);
    (*list)[n + 1] = NULL;
}

static int parse_long(const char *s, long long *out)
{
    char *end;
    errno = 0;
    *out = strtoll(s, &end, 10);
    return end == s || *end || errno ? -1 : 0;
}

int vl_action_desc_read(const char *path, struct vl_action_desc *d, struct vl_error *err)
{
    memset(d, 0, sizeof *d);
    d->log = (struct vl_strbuf)VL_STRBUF_INIT;
    char *text;
    size_t len;
    if (vl_read_file(path, &text, &len, err) < 0) return -1;
    struct vl_action_job *job = &d->job;
    job->device = -1;
    err->msg[0] = '\0'; /* a malformed line sets no message of its own */
    char **words = NULL;
    size_t n_words = 0, n_in = 0, n_out = 0, lineno = 0;
    int rc = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line && rc == 0;
         line = strtok_r(NULL, "\n", &save)) {
        lineno++;
        char *f[MAX_FIELDS + 1];
        size_t n = split_fields(line, f);
        long long v = 0;
#define NEED(k)                                                                                    \
    if (n != (k)) {                                                                                \
        rc = -1;                                                                                   \
        break;                                                                                     \
    }
        if (lineno == 1) {
            NEED(2);
            if (strcmp(f[0], "vlbuild-action") || parse_long(f[1], &v) < 0 || v != DESC_VERSION) {
                rc = vl_error_set(err, "%s: not an action description of version %d", path,
                                  DESC_VERSION);
                break;
            }
        } else if (!strcmp(f[0], "action")) {
            NEED(3);
            job->def = vl_action_find(f[1]);
            if (!job->def) {
                rc = vl_error_set(err, "%s: unknown action '%s'", path, f[1]);
            } else if (parse_long(f[2], &v) < 0 || v != job->def->version) {
                rc = vl_error_set(err,
                                  "%s: action %s version %s, but this vlbuild has version %d "
                                  "(is the node running another vlbuild?)",
                                  path, f[1], f[2], job->def->version);
            }
        } else if (!strcmp(f[0], "param")) {
            NEED(2);
            push(&words, n_words++, f[1]);
        } else if (!strcmp(f[0], "input")) {
            NEED(4);
            d->hashes = realloc(d->hashes, (n_in + 1) * sizeof *d->hashes);
            if (!d->hashes) abort();
            if (vl_hash_parse(f[2], &d->hashes[n_in]) < 0) {
                rc = -1;
                break;
            }
            push(&d->inputs, n_in, f[1]);
            push(&d->origins, n_in++, f[3]);
        } else if (!strcmp(f[0], "output")) {
            NEED(2);
            push(&d->outputs, n_out++, f[1]);
        } else if (!strcmp(f[0], "origin")) {
            NEED(3);
            d->origin = dup_or_die(f[1]);
            job->origin = d->origin;
            if (strcmp(f[2], "-")) {
                if (vl_hash_parse(f[2], &d->origin_hash) < 0) rc = -1;
                job->origin_hash = &d->origin_hash;
            }
        } else if (!strcmp(f[0], "copy") || !strcmp(f[0], "device") ||
                   !strcmp(f[0], "memory_budget") || !strcmp(f[0], "build_start_ns")) {
            NEED(2);
            if (parse_long(f[1], &v) < 0)
                rc = -1;
            else if (f[0][0] == 'c')
                job->copy = (int)v;
            else if (f[0][0] == 'd')
                job->device = (int)v;
            else if (f[0][0] == 'm')
                job->memory_budget = (uint64_t)v;
            else
                job->build_start_ns = v;
        } else {
            rc = -1;
        }
#undef NEED
    }
    if (rc < 0 && !err->msg[0])
        vl_error_set(err, "%s:%zu: malformed action description", path, lineno);
    if (rc == 0 && !job->def) rc = vl_error_set(err, "%s: names no action", path);
    if (rc == 0) {
        int bad;
        if (vl_params_parse(job->def, (const char *const *)words, n_words, &d->params, &bad, err) <
            0) {
            vl_error_prefix(err, "%s", path);
            rc = -1;
        }
    }
    for (size_t i = 0; i < n_words; i++)
        free(words[i]);
    free(words);
    free(text);
    if (rc < 0) return -1;
    job->params = &d->params;
    job->inputs = (const char *const *)d->inputs;
    job->input_hashes = d->hashes;
    job->input_origins = (const char *const *)d->origins;
    job->n_inputs = n_in;
    job->outputs = (const char *const *)d->outputs;
    job->n_outputs = n_out;
    job->log = &d->log;
    return 0;
}

static void free_list(char **list)
{
    for (size_t i = 0; list && list[i]; i++)
        free(list[i]);
    free(list);
}

void vl_action_desc_release(struct vl_action_desc *d)
{
    vl_params_release(&d->params);
    free_list(d->inputs);
    free_list(d->outputs);
    free_list(d->origins);
    free(d->hashes);
    free(d->origin);
    vl_strbuf_release(&d->log);
    memset(d, 0, sizeof *d);
}
