/* clean.c - `vlbuild clean` and the dead outputs (exec/clean.h). */
#include "exec/clean.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "graph/path.h"
#include "util/fs.h"
#include "util/map.h"
#include "util/strbuf.h"

#define SHOWN 10 /* dead paths named one per line by clean, or in a list by status */

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d) abort();
    return d;
}

struct finder {
    const struct vl_graph *g;
    struct vl_state *s;
    struct vl_dead *dead;
    char *root_real; /* the project directory, links resolved */
    struct vl_strbuf norm;
    struct vl_map seen; /* dead paths found so far (keys: the dead paths' copies) */
};

/* 1 when path's folder, symbolic links resolved, is the project or below it. */
static int folder_inside(const struct finder *f, const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return 1;
    char *dir = strndup(path, (size_t)(slash - path));
    if (!dir) abort();
    char *real = realpath(dir, NULL);
    free(dir);
    if (!real) return 0;
    size_t n = strlen(f->root_real);
    int inside = !strncmp(real, f->root_real, n) && (real[n] == '/' || real[n] == '\0');
    free(real);
    return inside;
}

/* Decides the fate of a dead path; expect is the output fingerprint its
 * record holds, or NULL. */
static enum vl_dead_fate fate_of(struct finder *f, const char *path, const struct vl_hash *expect,
                                 const char **why)
{
    struct stat lst;
    if (lstat(path, &lst) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) return VL_DEAD_GONE;
        *why = "it cannot be examined";
        return VL_DEAD_KEEP;
    }
    if (!S_ISREG(lst.st_mode)) {
        *why = S_ISLNK(lst.st_mode) ? "it is a symbolic link, which vlbuild never writes"
                                    : "it is not a regular file";
        return VL_DEAD_KEEP;
    }
    if (!folder_inside(f, path)) {
        *why = "a symbolic link on its path leads out of the project";
        return VL_DEAD_KEEP;
    }
    struct vl_file_record rec;
    struct vl_error err;
    int known = vl_state_file_record(f->s, path, &rec, &err);
    struct vl_stat st;
    if (known == 1 && vl_stat_path(path, &st, &err) == 0 && vl_stat_equal(&st, &rec.st))
        return VL_DEAD_REMOVE;
    if (known != 1 && !expect) {
        *why = "vlbuild has no fingerprint of it to tell that it wrote it";
        return VL_DEAD_KEEP;
    }
    struct vl_hash h;
    if (vl_hash_file(path, &h, &err) < 0) {
        *why = "it cannot be read";
        return VL_DEAD_KEEP;
    }
    if ((known == 1 && vl_hash_equal(&h, &rec.hash)) || (expect && vl_hash_equal(&h, expect)))
        return VL_DEAD_REMOVE;
    *why = "it changed since vlbuild wrote it";
    return VL_DEAD_KEEP;
}

/* 1 when path is a file the current graph knows (an output it makes, or a
 * source or input, which clean never removes). */
static int graph_knows(struct finder *f, const char *path)
{
    return vl_graph_find(f->g, path) != NULL;
}

static void add_dead(struct finder *f, const char *record, const char *path,
                     const struct vl_hash *expect)
{
    /* a record's path is in the one spelling of an output inside the
     * project; any other (a damaged or hand-edited row) is left alone */
    if (vl_path_normalise(path, f->g->root, &f->norm) != VL_PATH_INSIDE ||
        strcmp(f->norm.buf, path) || !strncmp(path, ".vlbuild/", 9) || graph_knows(f, path))
        return;
    struct vl_dead *d = f->dead;
    if (vl_map_get(&f->seen, path)) return; /* named by two records */
    d->paths = realloc(d->paths, (d->n_paths + 1) * sizeof *d->paths);
    if (!d->paths) abort();
    struct vl_dead_path *p = &d->paths[d->n_paths++];
    p->path = xstrdup(path);
    p->record = xstrdup(record);
    vl_map_put(&f->seen, p->path, p->path);
    p->why = NULL;
    p->fate = fate_of(f, path, expect, &p->why);
    if (p->fate == VL_DEAD_REMOVE) d->n_remove++;
    if (p->fate == VL_DEAD_KEEP) d->n_keep++;
}

static void visit_record(void *ctx, const char *output, const char *rule,
                         const struct vl_hash *outputs, size_t n_outputs, const char *detail,
                         size_t detail_len)
{
    (void)rule;
    struct finder *f = ctx;
    const struct vl_node *first = vl_graph_find(f->g, output);
    if (!first || !first->producer) {
        struct vl_dead *d = f->dead;
        d->records = realloc(d->records, (d->n_records + 1) * sizeof *d->records);
        if (!d->records) abort();
        d->records[d->n_records++] = xstrdup(output);
    }
    if (!detail_len) { /* a record of schema 1: it names its first output only */
        add_dead(f, output, output, n_outputs ? &outputs[0] : NULL);
        return;
    }
    char *copy = malloc(detail_len);
    if (!copy) abort();
    memcpy(copy, detail, detail_len);
    size_t pos = 0, k = 0;
    char tag;
    const char *text;
    while ((text = vl_state_detail_next(copy, detail_len, &pos, &tag))) {
        if (tag == VL_DETAIL_OUTPUT) {
            add_dead(f, output, text, k < n_outputs ? &outputs[k] : NULL);
            k++;
        } else if (tag == VL_DETAIL_DROPPED) {
            add_dead(f, output, text, NULL);
        }
    }
    free(copy);
}

int vl_dead_find(const struct vl_graph *g, struct vl_state *s, struct vl_dead *dead,
                 struct vl_error *err)
{
    memset(dead, 0, sizeof *dead);
    struct finder f = {.g = g, .s = s, .dead = dead, .norm = VL_STRBUF_INIT, .seen = {0}};
    f.root_real = realpath(g->root, NULL);
    if (!f.root_real) return vl_error_set(err, "cannot resolve %s: %s", g->root, strerror(errno));
    int rc = vl_state_each_action(s, visit_record, &f, err);
    free(f.root_real);
    vl_strbuf_release(&f.norm);
    vl_map_release(&f.seen);
    return rc;
}

void vl_dead_release(struct vl_dead *dead)
{
    for (size_t i = 0; i < dead->n_paths; i++) {
        free(dead->paths[i].path);
        free(dead->paths[i].record);
    }
    free(dead->paths);
    for (size_t i = 0; i < dead->n_records; i++) free(dead->records[i]);
    free(dead->records);
    memset(dead, 0, sizeof *dead);
}

void vl_dead_report(FILE *out, const struct vl_dead *dead)
{
    if (!dead->n_remove) return;
    fprintf(out, "vlbuild: %zu output%s that no rule makes any more (", dead->n_remove,
            dead->n_remove == 1 ? "" : "s");
    size_t shown = 0;
    for (size_t i = 0; i < dead->n_paths && shown < 3; i++)
        if (dead->paths[i].fate == VL_DEAD_REMOVE)
            fprintf(out, "%s%s", shown++ ? ", " : "", dead->paths[i].path);
    if (dead->n_remove > shown) fprintf(out, " and %zu more", dead->n_remove - shown);
    fprintf(out, "): `vlbuild clean` removes %s\n", dead->n_remove == 1 ? "it" : "them");
}

/* Removes the dead outputs (only those whose record is in only, when only
 * is not NULL) and forgets the records of dead paths and actions; counts
 * what it removed in *removed and prints it. */
static int clean_dead(FILE *out, struct vl_state *s, const struct vl_dead *dead,
                      const struct vl_map *only, size_t *removed, struct vl_error *err)
{
    size_t named = 0;
    for (size_t i = 0; i < dead->n_paths; i++) {
        const struct vl_dead_path *p = &dead->paths[i];
        if (only && !vl_map_get(only, p->record)) continue;
        if (p->fate == VL_DEAD_KEEP) {
            fprintf(out, "vlbuild: kept %s, which no rule makes any more: %s\n", p->path, p->why);
        } else if (p->fate == VL_DEAD_REMOVE) {
            if (unlink(p->path) != 0) {
                fprintf(out, "vlbuild: cannot remove %s: %s\n", p->path, strerror(errno));
                continue;
            }
            (*removed)++;
            if (named++ < SHOWN)
                fprintf(out, "vlbuild: removed %s (no rule makes it any more)\n", p->path);
        }
        if (vl_state_forget_file(s, p->path, err) < 0) return -1;
    }
    if (named > SHOWN)
        fprintf(out, "vlbuild: and %zu more outputs that no rule makes any more\n", named - SHOWN);
    for (size_t i = 0; i < dead->n_records && !only; i++)
        if (vl_state_forget_action(s, dead->records[i], err) < 0) return -1;
    return 0;
}

int vl_clean(FILE *out, const struct vl_graph *g, struct vl_state *s, struct vl_node *const *targets,
             size_t n, struct vl_error *err)
{
    size_t removed = 0, dead_removed = 0;
    /* first: the records of the actions cleaned below name outputs that
     * they no longer write (VL_DETAIL_DROPPED) */
    struct vl_dead dead;
    if (vl_dead_find(g, s, &dead, err) < 0) return -1;
    int rc = 0;
    struct vl_map cleaned = {0}; /* first outputs of the actions cleaned */
    size_t count = targets ? n : g->n_edges;
    for (size_t i = 0; i < count && rc == 0; i++) {
        struct vl_edge *e = targets ? targets[i]->producer : g->edges[i];
        if (!e || e->done) continue;
        e->done = 1;
        vl_map_put(&cleaned, e->outputs[0]->path, e);
        for (size_t k = 0; k < e->n_outputs && rc == 0; k++) {
            if (unlink(e->outputs[k]->path) == 0) removed++;
            rc = vl_state_forget_file(s, e->outputs[k]->path, err);
        }
        if (rc == 0) rc = vl_state_forget_action(s, e->outputs[0]->path, err);
    }
    if (rc == 0) rc = clean_dead(out, s, &dead, targets ? &cleaned : NULL, &dead_removed, err);
    vl_map_release(&cleaned);
    if (rc == 0) rc = vl_state_commit(s, err);
    removed += dead_removed;
    fprintf(out, "vlbuild: removed %zu file%s", removed, removed == 1 ? "" : "s");
    if (dead_removed) fprintf(out, ", %zu of them outputs that no rule makes any more", dead_removed);
    fprintf(out, "\n");
    if (targets && dead.n_remove > dead_removed) {
        size_t left = dead.n_remove - dead_removed;
        fprintf(out, "vlbuild: %zu output%s that no rule makes any more left: `vlbuild clean` "
                     "with no target removes %s\n",
                left, left == 1 ? "" : "s", left == 1 ? "it" : "them");
    }
    vl_dead_release(&dead);
    return rc;
}
