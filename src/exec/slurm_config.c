/* slurm_config.c - the Slurm runner's configuration file.
 *
 * Format, version 1: lines of `key = value`, `#` starts a comment, blank
 * lines are ignored.  Keys before any section apply to every action; a
 * `[rule NAME]` section overrides them for the actions of rule NAME.
 *   version = 1        optional; another version is refused
 *   partition = NAME   account = NAME   time = SLURM-TIME
 *   cpus = N           CPUs per action (default 1)
 *   mem = SIZE         memory per action, K/M/G/T suffixes (default: the cluster's)
 *   gpus = N           GPUs per action of the gpu pool (default 1)
 *   batch = N          actions per job at most (default 64; 1: one job per action)
 *   lanes = N          actions run side by side in one job (default 1; 1 in the gpu pool)
 *   local = yes|no     run on the head, with the local runner
 *   sbatch = WORDS     more sbatch options; a rule's replace the top's
 * Top only:
 *   window_ms = N      collect ready actions this long before a job goes out (default 100)
 *   poll_ms = N        read results of running jobs this often (default 100)
 *   squeue_ms = N      ask squeue this often (default 500)
 *   vlbuild = PATH     the vlbuild binary nodes run (default: the head's) */
#include "exec/slurm.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_VERSION 1

static void resources_unset(struct vl_slurm_resources *r)
{
    *r = (struct vl_slurm_resources){
        .cpus = -1, .mem_mb = -1, .gpus = -1, .batch = -1, .lanes = -1, .local = -1};
}

void vl_slurm_config_init(struct vl_slurm_config *c)
{
    memset(c, 0, sizeof *c);
    resources_unset(&c->defaults);
    c->window_ms = 100;
    c->poll_ms = 100;
    c->squeue_ms = 500;
}

static void resources_release(struct vl_slurm_resources *r)
{
    free(r->time);
    free(r->partition);
    free(r->account);
    free(r->sbatch);
}

void vl_slurm_config_release(struct vl_slurm_config *c)
{
    resources_release(&c->defaults);
    for (size_t i = 0; i < c->n_rules; i++) {
        free(c->rules[i].name);
        resources_release(&c->rules[i].res);
    }
    free(c->rules);
    free(c->vlbuild);
    memset(c, 0, sizeof *c);
}

static int parse_int(const char *s, int min, int max, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < min || v > max) return -1;
    *out = (int)v;
    return 0;
}

static int parse_mem(const char *s, long long *mb)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    double scale = 1; /* MiB, as Slurm reads a bare number */
    switch (toupper((unsigned char)*end)) {
    case 'K':
        scale = 1.0 / 1024;
        end++;
        break;
    case 'M':
        end++;
        break;
    case 'G':
        scale = 1024;
        end++;
        break;
    case 'T':
        scale = 1024.0 * 1024;
        end++;
        break;
    }
    if (*end == 'i' || *end == 'I') end++;
    if (*end == 'B' || *end == 'b') end++;
    if (end == s || *end || errno || v <= 0) return -1;
    *mb = (long long)(v * scale + 0.999);
    return 0;
}

static char *dup_str(const char *s)
{
    char *d = strdup(s);
    if (!d) abort();
    return d;
}

static void set_str(char **field, const char *value)
{
    free(*field);
    *field = dup_str(value);
}

/* Sets one resource key; returns 1 if key is not a resource key, -1 on a bad value. */
static int set_resource(struct vl_slurm_resources *r, const char *key, const char *value)
{
    if (!strcmp(key, "cpus")) return parse_int(value, 1, 100000, &r->cpus);
    if (!strcmp(key, "gpus")) return parse_int(value, 0, 1024, &r->gpus);
    if (!strcmp(key, "batch")) return parse_int(value, 1, 100000, &r->batch);
    if (!strcmp(key, "lanes")) return parse_int(value, 1, 100000, &r->lanes);
    if (!strcmp(key, "mem")) return parse_mem(value, &r->mem_mb);
    if (!strcmp(key, "local")) {
        if (!strcmp(value, "yes") || !strcmp(value, "true") || !strcmp(value, "1"))
            r->local = 1;
        else if (!strcmp(value, "no") || !strcmp(value, "false") || !strcmp(value, "0"))
            r->local = 0;
        else
            return -1;
        return 0;
    }
    if (!strcmp(key, "time"))
        set_str(&r->time, value);
    else if (!strcmp(key, "partition"))
        set_str(&r->partition, value);
    else if (!strcmp(key, "account"))
        set_str(&r->account, value);
    else if (!strcmp(key, "sbatch"))
        set_str(&r->sbatch, value);
    else
        return 1;
    return 0;
}

/* The field of a top-only timing key and its least value; NULL for another key. */
static int *timing_key(struct vl_slurm_config *c, const char *key, int *min)
{
    *min = 10;
    if (!strcmp(key, "poll_ms")) return &c->poll_ms;
    if (!strcmp(key, "squeue_ms")) return &c->squeue_ms;
    *min = 0;
    if (!strcmp(key, "window_ms")) return &c->window_ms;
    return NULL;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

int vl_slurm_config_load(struct vl_slurm_config *c, const char *path, struct vl_error *err)
{
    vl_slurm_config_init(c);
    char *text;
    size_t len;
    if (vl_read_file(path, &text, &len, err) < 0) return -1;
    struct vl_slurm_resources *section = &c->defaults;
    int rc = 0, lineno = 0;
    char *next = text;
    while (next && rc == 0) {
        char *raw = next;
        next = strchr(raw, '\n');
        if (next) *next++ = '\0';
        lineno++;
        char *hash = strchr(raw, '#');
        if (hash) *hash = '\0';
        char *line = trim(raw);
        if (!*line) continue;
        if (*line == '[') {
            char *close = strchr(line, ']');
            char *name = line + 1;
            if (close) *close = '\0';
            name = trim(name);
            if (!close || *trim(close + 1) || strncmp(name, "rule", 4) ||
                !isspace((unsigned char)name[4])) {
                rc = vl_error_set(err, "%s:%d: expected a section `[rule NAME]`", path, lineno);
                break;
            }
            name = trim(name + 4);
            c->rules = realloc(c->rules, (c->n_rules + 1) * sizeof *c->rules);
            if (!c->rules) abort();
            struct vl_slurm_rule *r = &c->rules[c->n_rules++];
            r->name = dup_str(name);
            resources_unset(&r->res);
            section = &r->res;
            continue;
        }
        char *eq = strchr(line, '=');
        if (!eq) {
            rc = vl_error_set(err, "%s:%d: expected `key = value`", path, lineno);
            break;
        }
        *eq = '\0';
        char *key = trim(line), *value = trim(eq + 1);
        int top = section == &c->defaults, bad = 0, unknown = 0, min, *timing;
        if (!strcmp(key, "version")) {
            int v;
            if (!top || parse_int(value, 0, 1000, &v) < 0 || v != CONFIG_VERSION) {
                rc = vl_error_set(err, "%s:%d: this vlbuild reads version %d of the file", path,
                                  lineno, CONFIG_VERSION);
                break;
            }
        } else if ((timing = timing_key(c, key, &min))) {
            unknown = !top;
            bad = !unknown && parse_int(value, min, 600000, timing) < 0;
        } else if (!strcmp(key, "vlbuild")) {
            unknown = !top;
            if (top) set_str(&c->vlbuild, value);
        } else {
            int r = set_resource(section, key, value);
            unknown = r == 1;
            bad = r < 0;
        }
        if (unknown)
            rc = vl_error_set(err, "%s:%d: unknown key '%s'%s", path, lineno, key,
                              top ? "" : " in a rule section");
        else if (bad)
            rc = vl_error_set(err, "%s:%d: bad value '%s' for %s", path, lineno, value, key);
    }
    free(text);
    return rc;
}

struct vl_slurm_resources vl_slurm_config_resolve(const struct vl_slurm_config *c, const char *rule,
                                                  int gpu)
{
    const struct vl_slurm_resources *d = &c->defaults, *r = NULL;
    for (size_t i = 0; rule && i < c->n_rules; i++)
        if (!strcmp(c->rules[i].name, rule)) r = &c->rules[i].res;
    struct vl_slurm_resources out;
#define PICK(field, fallback)                                                                      \
    out.field = r && r->field != -1 ? r->field : d->field != -1 ? d->field : (fallback)
#define PICK_STR(field) out.field = r && r->field ? r->field : d->field
    PICK(cpus, 1);
    PICK(mem_mb, -1);
    PICK(gpus, 1);
    PICK(batch, 64);
    PICK(lanes, 1);
    PICK(local, 0);
    PICK_STR(time);
    PICK_STR(partition);
    PICK_STR(account);
    PICK_STR(sbatch);
#undef PICK
#undef PICK_STR
    if (gpu)
        out.lanes = 1; /* the job's GPUs would be shared by its lanes */
    else
        out.gpus = 0;
    return out;
}
