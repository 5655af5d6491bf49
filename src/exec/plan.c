/* plan.c - staleness decisions: content keys, stat fast path, early cutoff.
 *
 * A file's recorded hash is trusted when its stat tuple is unchanged and the
 * hash was taken more than RACY_WINDOW_NS after its mtime.  Within that
 * window a later write could have left the same mtime (file timestamps come
 * from a coarse clock), so the file is re-hashed next time, as git does with
 * racily clean index entries. */
#include "exec/plan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/input_check.h"
#include "exec/key.h"
#include "exec/prehash.h"
#include "util/strbuf.h"
#include "util/vec.h"

#define RACY_WINDOW_NS (20 * 1000000LL)


static struct vl_file_record **node_file_slot(void *ctx, const char *path, size_t len)
{
    struct vl_node *n = vl_map_getn(&((struct vl_graph *)ctx)->nodes, path, len);
    return n ? &n->file_rec : NULL;
}

static struct vl_action_record **edge_action_slot(void *ctx, const char *path, size_t len)
{
    struct vl_node *n = vl_map_getn(&((struct vl_graph *)ctx)->nodes, path, len);
    /* an action's record is filed under its first output */
    return n && n->producer && n->producer->outputs[0] == n ? &n->producer->action_rec : NULL;
}

static void clear_slots(void *ctx)
{
    struct vl_graph *g = ctx;
    for (size_t i = 0; i < g->n_nodes; i++) g->node_list[i]->file_rec = NULL;
    for (size_t i = 0; i < g->n_edges; i++) g->edges[i]->action_rec = NULL;
}

struct vl_state_index vl_plan_state_index(struct vl_graph *g)
{
    return (struct vl_state_index){node_file_slot, edge_action_slot, clear_slots, g};
}

/* Appends node unless seen (by path) holds it: a target named many times,
 * or in several sets, is one target. */
static void push_once(struct vl_map *seen, struct vl_node *node, struct vl_node ***nodes,
                      size_t *n, size_t *cap)
{
    if (vl_map_get(seen, node->path)) return;
    vl_map_put(seen, node->path, node);
    VL_PUSH(*nodes, *n, *cap, node);
}

static void push_set(struct vl_map *seen, const struct vl_set *set, struct vl_node ***nodes,
                     size_t *n, size_t *cap)
{
    for (size_t i = 0; i < set->len; i++) push_once(seen, set->nodes[i], nodes, n, cap);
}

int vl_plan_resolve_targets(const struct vl_graph *g, const struct vl_rules *rules,
                            const char *const *words, size_t n_words, struct vl_node ***nodes,
                            size_t *n_nodes, struct vl_error *err)
{
    size_t cap = 0;
    struct vl_map seen = {0}, seen_sets = {0};
    *nodes = NULL;
    *n_nodes = 0;
    if (n_words == 0 && rules->defaults.len == 0) {
        for (size_t i = 0; i < rules->n_rules; i++)
            push_set(&seen, vl_graph_set(g, rules->rules[i]->name), nodes, n_nodes, &cap);
        vl_map_release(&seen);
        return 0;
    }
    int rc = 0;
    for (size_t i = 0; i < (n_words ? n_words : rules->defaults.len); i++) {
        const char *word = n_words ? words[i] : rules->defaults.items[i].text;
        const struct vl_set *set = vl_graph_set(g, word);
        struct vl_node *node = set ? NULL : vl_graph_find(g, word);
        if (set) {
            if (vl_map_get(&seen_sets, set->name)) continue; /* the same set again */
            vl_map_put(&seen_sets, set->name, (void *)set);
            push_set(&seen, set, nodes, n_nodes, &cap);
        } else if (node) {
            push_once(&seen, node, nodes, n_nodes, &cap);
        } else {
            free(*nodes);
            *nodes = NULL;
            *n_nodes = 0;
            if (!n_words) {
                const struct vl_word *w = &rules->defaults.items[i];
                rc = vl_error_set(err, "%s:%d:%d: default target '%s' is not a rule, a source "
                                       "or a file of the graph",
                                  w->loc.path, w->loc.line, w->loc.col, word);
            } else {
                rc = vl_error_set(err, "unknown target '%s': not a rule, a source or a file that "
                                       "a rule makes (see vlbuild graph)", word);
            }
            break;
        }
    }
    vl_map_release(&seen);
    vl_map_release(&seen_sets);
    return rc;
}

static void set_reason(struct vl_edge *e, enum vl_edge_state state, enum vl_reason why,
                       const struct vl_node *node)
{
    e->state = state;
    e->reason = why;
    e->reason_node = node;
}

const char *vl_plan_reason_text(const struct vl_edge *e, char *buf, size_t size)
{
    const char *node = e->reason_node ? e->reason_node->path : "?";
    switch (e->reason) {
    case VL_REASON_NONE: return "not decided";
    case VL_REASON_UP_TO_DATE: return "up to date";
    case VL_REASON_CUTOFF: return "up to date: its rebuilt inputs did not change";
    case VL_REASON_NO_RECORD: return "no record of a previous run";
    case VL_REASON_KEY_CHANGED: return "its command, parameters or input data changed";
    case VL_REASON_OUTPUTS_CHANGED: return "its outputs changed";
    case VL_REASON_OUTPUT_MISSING: snprintf(buf, size, "output %s is missing", node); break;
    case VL_REASON_OUTPUT_MODIFIED:
        snprintf(buf, size, "output %s was modified since it was built", node);
        break;
    case VL_REASON_INPUT_REBUILT: snprintf(buf, size, "input %s is being rebuilt", node); break;
    }
    return buf;
}

int vl_plan_record_vouches(const struct vl_file_record *known, const struct vl_stat *st)
{
    return known && known->st.exists && vl_stat_equal(&known->st, st) &&
           known->hashed_at_ns - st->mtime_ns > RACY_WINDOW_NS;
}

int vl_plan_fingerprint_file(const struct vl_disk *disk, const char *path, const struct vl_stat *st,
                             const struct vl_file_record *known, const atomic_int *cancel,
                             struct vl_file_record *out, struct vl_error *err)
{
    disk = vl_disk_or_real(disk);
    if (vl_plan_record_vouches(known, st)) {
        *out = *known;
        return 0;
    }
    *out = (struct vl_file_record){.st = *st, .hashed_at_ns = vl_now_ns()};
    if (disk->ops->hash(disk, path, cancel, &out->hash, err) < 0) return -1;
    /* the file may have changed while we read it: then trust nothing */
    struct vl_stat after;
    if (disk->ops->stat(disk, path, &after, err) < 0) return -1;
    if (!vl_stat_equal(&after, st)) out->hashed_at_ns = 0;
    return 1;
}

int vl_plan_fingerprint(struct vl_plan *plan, struct vl_node *node, struct vl_state *state,
                        struct vl_error *err)
{
    if (!node->stat_done) {
        const struct vl_disk *disk = vl_disk_or_real(plan->disk);
        if (disk->ops->stat(disk, node->path, &node->st, err) < 0) return -1;
        node->stat_done = 1;
    }
    if (node->hash_known || !node->st.exists) return 0;
    struct vl_file_record fresh;
    int hashed = vl_plan_fingerprint_file(plan->disk, node->path, &node->st, node->file_rec, NULL,
                                          &fresh, err);
    if (hashed < 0) return -1;
    node->hash = fresh.hash;
    node->hash_known = 1;
    if (!hashed) return 0;
    plan->n_hashed++;
    return vl_state_put_file(state, node->path, &fresh, err);
}

int vl_plan_decide(struct vl_plan *plan, struct vl_graph *g, struct vl_edge *e,
                   struct vl_state *state, struct vl_error *err)
{
    e->key = vl_key_action(e, &e->def_key);
    e->key_known = 1;
    const struct vl_action_record *rec = e->action_rec;
    if (!rec || rec->n_outputs == 0) {
        set_reason(e, VL_EDGE_DIRTY, VL_REASON_NO_RECORD, NULL);
        return 0;
    }
    if (!vl_hash_equal(&rec->key, &e->key)) {
        set_reason(e, VL_EDGE_DIRTY, VL_REASON_KEY_CHANGED, NULL);
        return 0;
    }
    if (rec->n_outputs != e->n_outputs) {
        set_reason(e, VL_EDGE_DIRTY, VL_REASON_OUTPUTS_CHANGED, NULL);
        return 0;
    }
    for (size_t i = 0; i < e->n_outputs; i++) {
        struct vl_node *out = e->outputs[i];
        if (vl_plan_fingerprint(plan, out, state, err) < 0) return -1;
        if (!out->st.exists) {
            set_reason(e, VL_EDGE_DIRTY, VL_REASON_OUTPUT_MISSING, out);
            return 0;
        }
        if (!vl_hash_equal(&out->hash, &rec->outputs[i])) {
            set_reason(e, VL_EDGE_DIRTY, VL_REASON_OUTPUT_MODIFIED, out);
            return 0;
        }
    }
    set_reason(e, VL_EDGE_CLEAN, VL_REASON_UP_TO_DATE, NULL);
    return 0;
}

struct walk {
    struct vl_plan *plan;
    struct vl_graph *g;
    struct vl_state *state;
    struct vl_edge **stack;
    size_t depth, cap;
    struct vl_error *err;
};

static int cycle_error(struct walk *w, struct vl_edge *again)
{
    struct vl_strbuf chain = VL_STRBUF_INIT;
    size_t start = 0;
    while (w->stack[start] != again) start++;
    for (size_t k = start; k < w->depth; k++)
        vl_strbuf_addf(&chain, "%s -> ", w->stack[k]->outputs[0]->path);
    vl_strbuf_adds(&chain, again->outputs[0]->path);
    int rc = vl_error_set(w->err, "%s:%d:%d: dependency cycle: %s", again->rule->loc.path,
                          again->rule->loc.line, again->rule->loc.col, chain.buf);
    vl_strbuf_release(&chain);
    return rc;
}

static int visit(struct walk *w, struct vl_edge *e)
{
    if (e->state == VL_EDGE_VISITING) return cycle_error(w, e);
    if (e->state != VL_EDGE_UNVISITED) return 0;
    e->state = VL_EDGE_VISITING;
    VL_PUSH(w->stack, w->depth, w->cap, e);
    int waits = 0;
    const struct vl_node *waits_on = NULL;
    for (size_t i = 0; i < e->n_inputs; i++) {
        struct vl_node *in = e->inputs[i];
        in->wanted = 1;
        if (in->producer) {
            if (visit(w, in->producer) < 0) return -1;
            if (in->producer->state != VL_EDGE_CLEAN) {
                if (!waits) waits_on = in;
                waits = 1;
            }
            continue;
        }
        if (vl_plan_fingerprint(w->plan, in, w->state, w->err) < 0) return -1;
        if (!in->st.exists)
            return vl_error_set(w->err, "%s:%d:%d: %s, an input of rule %s, does not exist and "
                                        "no rule makes it",
                                e->rule->loc.path, e->rule->loc.line, e->rule->loc.col, in->path,
                                e->rule->name);
    }
    w->depth--;
    e->def_key = vl_key_definition(e);
    for (size_t i = 0; i < e->n_outputs; i++) e->outputs[i]->wanted = 1;
    if (waits) {
        set_reason(e, VL_EDGE_MAYBE, VL_REASON_INPUT_REBUILT, waits_on);
        w->plan->n_maybe++;
    } else {
        if (vl_plan_decide(w->plan, w->g, e, w->state, w->err) < 0) return -1;
        if (e->state == VL_EDGE_CLEAN)
            w->plan->n_clean++;
        else
            w->plan->n_dirty++;
    }
    /* annotations that are source files: checked now, so -n reports a bad one */
    if (vl_edge_will_run(e) && vl_input_check_sources(e, w->err) < 0) return -1;
    VL_PUSH(w->plan->order, w->plan->len, w->plan->cap, e);
    return 0;
}

int vl_plan_build(struct vl_plan *plan, struct vl_graph *g, struct vl_state *state,
                  struct vl_node *const *targets, size_t n_targets, struct vl_error *err)
{
    struct walk w = {plan, g, state, NULL, 0, 0, err};
    /* many sources to hash: on the thread pool first (exec/prehash.h) */
    int rc = vl_prehash_sources(plan, g, state, targets, n_targets, err);
    for (size_t i = 0; i < n_targets && rc == 0; i++) {
        struct vl_node *t = targets[i];
        t->wanted = 1;
        if (t->producer) {
            rc = visit(&w, t->producer);
        } else {
            rc = vl_plan_fingerprint(plan, t, state, err);
            if (rc == 0 && !t->st.exists)
                rc = vl_error_set(err, "target %s does not exist and no rule makes it", t->path);
        }
    }
    free(w.stack);
    return rc;
}

void vl_plan_release(struct vl_plan *plan)
{
    const struct vl_disk *disk = plan->disk;
    free(plan->order);
    memset(plan, 0, sizeof *plan);
    plan->disk = disk;
}
