/* outputs.c - clearing, checking and removing an action's outputs. */
#include "exec/outputs.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec/plan.h"
#include "util/fs.h"

static int is_output(void *ctx, const char *path, size_t n)
{
    const struct vl_node *node = vl_map_getn(&((struct vl_graph *)ctx)->nodes, path, n);
    return node && node->producer;
}

/* Removes the temporaries that an interrupted run left beside the outputs in
 * output's folder (vl_remove_temporaries' names), so that none lingers
 * half-written: one scan a folder and build, made before any action writing
 * there starts (the project lock keeps other builds out).  A scan per action
 * made a full build quadratic in the number of files of a folder. */
static void sweep_temporaries(struct vl_graph *g, struct vl_map *swept, const char *output)
{
    const char *slash = strrchr(output, '/');
    size_t dlen = slash ? (size_t)(slash - output) : 0;
    if (vl_map_getn(swept, output, dlen)) return;
    char *dir = vl_arena_strndup(&g->arena, output, dlen);
    vl_map_put(swept, dir, dir);
    vl_remove_temporaries_in(dir, dlen, is_output, g);
}

int vl_outputs_prepare(const struct vl_disk *disk, struct vl_graph *g, const struct vl_edge *e,
                       struct vl_map *swept, struct vl_error *err)
{
    disk = vl_disk_or_real(disk);
    for (size_t i = 0; i < e->n_outputs; i++) {
        disk->ops->remove(disk, e->outputs[i]->path); /* a stale output must not pass for a new one */
        sweep_temporaries(g, swept, e->outputs[i]->path); /* nor linger half-written */
        if (disk->ops->make_parents(disk, e->outputs[i]->path, err) < 0) return -1;
    }
    return 0;
}

void vl_outputs_remove(const struct vl_disk *disk, const struct vl_edge *e)
{
    disk = vl_disk_or_real(disk);
    for (size_t i = 0; i < e->n_outputs; i++) disk->ops->remove(disk, e->outputs[i]->path);
}

void vl_outputs_check_init(struct vl_outputs_check *c, const struct vl_disk *disk,
                           const struct vl_edge *e, const atomic_int *cancel)
{
    c->disk = vl_disk_or_real(disk);
    c->rule = e->rule->name;
    c->n = e->n_outputs;
    c->paths = calloc(e->n_outputs + 1, sizeof *c->paths);
    c->known = calloc(e->n_outputs + 1, sizeof *c->known);
    c->records = calloc(e->n_outputs + 1, sizeof *c->records);
    c->fresh = calloc(e->n_outputs + 1, sizeof *c->fresh);
    if (!c->paths || !c->known || !c->records || !c->fresh) abort();
    for (size_t i = 0; i < e->n_outputs; i++) {
        const struct vl_node *o = e->outputs[i];
        c->paths[i] = o->path;
        if (o->file_rec) c->known[i] = *o->file_rec; /* a copy: the loop may replace it */
    }
    c->cancel = cancel;
    c->message = (struct vl_strbuf)VL_STRBUF_INIT;
}

int vl_outputs_check(struct vl_outputs_check *c, uint64_t max_bytes)
{
    uint64_t bytes = 0;
    for (size_t i = 0; i < c->n; i++) {
        struct vl_error err;
        struct vl_stat *st = &c->records[i].st;
        if (c->disk->ops->stat(c->disk, c->paths[i], st, &err) < 0) {
            vl_strbuf_addf(&c->message, "vlbuild: rule %s wrote %s\n", c->rule, err.msg);
            return -1;
        }
        if (!st->exists) {
            vl_strbuf_addf(&c->message, "vlbuild: rule %s succeeded but did not write %s\n",
                           c->rule, c->paths[i]);
            return -1;
        }
        bytes += st->size;
    }
    if (max_bytes && bytes > max_bytes) return 1;
    for (size_t i = 0; i < c->n; i++) {
        struct vl_error err;
        struct vl_stat st = c->records[i].st;
        int hashed = vl_plan_fingerprint_file(c->disk, c->paths[i], &st,
                                              c->known[i].st.exists ? &c->known[i] : NULL,
                                              c->cancel, &c->records[i], &err);
        if (hashed < 0) {
            vl_strbuf_addf(&c->message, "vlbuild: %s\n", err.msg);
            return -1;
        }
        c->fresh[i] = (unsigned char)hashed;
    }
    return 0;
}

int vl_outputs_check_apply(const struct vl_outputs_check *c, struct vl_edge *e,
                           struct vl_state *state, struct vl_error *err)
{
    for (size_t i = 0; i < e->n_outputs; i++) {
        struct vl_node *o = e->outputs[i];
        o->st = c->records[i].st;
        o->hash = c->records[i].hash;
        o->stat_done = o->hash_known = 1;
        if (c->fresh[i] && vl_state_put_file(state, o->path, &c->records[i], err) < 0)
            return -1;
    }
    return 0;
}

void vl_outputs_check_release(struct vl_outputs_check *c)
{
    free(c->paths);
    free(c->known);
    free(c->records);
    free(c->fresh);
    vl_strbuf_release(&c->message);
    memset(c, 0, sizeof *c);
}
