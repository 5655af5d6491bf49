/* explain.c - `vlbuild explain`, `status` and `graph`. */
#include "exec/explain.h"

#include <stdlib.h>
#include <string.h>

#include "exec/action_detail.h"
#include "util/map.h"
#include "util/strbuf.h"

/* Names what changed in e's definition against its record's (detail
 * entries, state/state.h) into out. */
static void definition_detail(const struct vl_edge *e, const struct vl_strbuf *before,
                              struct vl_strbuf *out)
{
    struct vl_strbuf now = VL_STRBUF_INIT;
    vl_action_detail_write(e, &now);
    size_t named =
        before->len ? vl_action_detail_diff(before->buf, before->len, now.buf, now.len, out) : 0;
    vl_strbuf_release(&now);
    if (!named)
        vl_strbuf_adds(out, e->rule->kind == VL_RULE_RUN
                                ? "its command, outputs or input list changed"
                                : "its action, parameters, outputs or input list changed");
    if (!before->len)
        vl_strbuf_adds(out, " (its record, from an older vlbuild, does not say which; the "
                            "next run records it)");
}

/* For an action waiting on rebuilt inputs: 1 and what changed in out when
 * its definition differs from its record's too (then it runs whatever its
 * inputs turn out to be), else 0. */
static int definition_changed(struct vl_state *state, const struct vl_edge *e,
                              struct vl_strbuf *out)
{
    struct vl_hash def_key, *inputs;
    size_t n;
    struct vl_error err;
    struct vl_strbuf before = VL_STRBUF_INIT;
    int changed = 0;
    if (vl_state_action_detail(state, e->outputs[0]->path, &def_key, &inputs, &n, &before, &err) ==
            0 &&
        !vl_hash_equal(&def_key, &e->def_key)) {
        definition_detail(e, &before, out);
        changed = 1;
    }
    free(inputs);
    vl_strbuf_release(&before);
    return changed;
}

/* Finds the detailed reason of a key mismatch by comparing with the record:
 * what changed in the action's definition (its detail entries against the
 * recorded ones), or which input's content changed. */
static void key_detail(struct vl_state *state, const struct vl_edge *e, struct vl_strbuf *out)
{
    struct vl_hash def_key, *inputs;
    size_t n;
    struct vl_error err;
    struct vl_strbuf before = VL_STRBUF_INIT;
    if (vl_state_action_detail(state, e->outputs[0]->path, &def_key, &inputs, &n, &before, &err) <
        0) {
        vl_strbuf_adds(out, "no record of a previous run");
        vl_strbuf_release(&before);
        return;
    }
    if (!vl_hash_equal(&def_key, &e->def_key)) {
        definition_detail(e, &before, out);
    } else if (n != e->n_inputs) {
        vl_strbuf_addf(out, "its inputs changed (%zu before, %zu now)", n, e->n_inputs);
    } else {
        size_t i = 0;
        while (i < n && (!e->inputs[i]->hash_known || vl_hash_equal(&inputs[i], &e->inputs[i]->hash)))
            i++;
        if (i < n)
            vl_strbuf_addf(out, "input %s changed", e->inputs[i]->path);
        else
            vl_strbuf_adds(out, "its inputs changed");
    }
    vl_strbuf_release(&before);
    free(inputs);
}

static void explain_edge(FILE *out, struct vl_state *state, const struct vl_edge *e, int depth,
                         struct vl_map *seen)
{
    const char *first = e->outputs[0]->path;
    fprintf(out, "%*s%s (rule %s, %s:%d): ", depth * 2, "", first, e->rule->name,
            e->rule->loc.path, e->rule->loc.line);
    if (vl_map_get(seen, first)) {
        fprintf(out, "see above\n");
        return;
    }
    vl_map_put(seen, first, (void *)first);
    char buf[4200];
    const char *reason = vl_plan_reason_text(e, buf, sizeof buf);
    switch (e->state) {
    case VL_EDGE_CLEAN:
        fprintf(out, "%s\n", reason);
        return;
    case VL_EDGE_DIRTY: {
        struct vl_strbuf why = VL_STRBUF_INIT;
        if (e->reason == VL_REASON_KEY_CHANGED)
            key_detail(state, e, &why);
        else
            vl_strbuf_adds(&why, reason);
        fprintf(out, "will run: %s\n", why.buf);
        vl_strbuf_release(&why);
        break;
    }
    case VL_EDGE_MAYBE: {
        struct vl_strbuf why = VL_STRBUF_INIT;
        if (definition_changed(state, e, &why))
            fprintf(out, "will run: %s (and %s)\n", why.buf, reason);
        else
            fprintf(out, "will run if its rebuilt inputs change: %s\n", reason);
        vl_strbuf_release(&why);
        break;
    }
    default:
        fprintf(out, "not planned\n");
        return;
    }
    for (size_t i = 0; i < e->n_inputs; i++) {
        const struct vl_edge *p = e->inputs[i]->producer;
        if (p && vl_edge_will_run(p))
            explain_edge(out, state, p, depth + 1, seen);
    }
}

int vl_explain_node(FILE *out, struct vl_state *state, const struct vl_node *node,
                    struct vl_error *err)
{
    (void)err;
    if (!node->producer) {
        fprintf(out, "%s: a source file, built by no rule\n", node->path);
        return 0;
    }
    struct vl_map seen = {0};
    explain_edge(out, state, node->producer, 0, &seen);
    vl_map_release(&seen);
    return 0;
}

void vl_explain_status(FILE *out, const struct vl_rules *rules, const struct vl_plan *plan)
{
    fprintf(out, "%-24s %10s %10s\n", "rule", "up to date", "to run");
    for (size_t r = 0; r < rules->n_rules; r++) {
        size_t clean = 0, dirty = 0;
        for (size_t i = 0; i < plan->len; i++) {
            const struct vl_edge *e = plan->order[i];
            if (e->rule != rules->rules[r]) continue;
            if (e->state == VL_EDGE_CLEAN) clean++;
            else dirty++;
        }
        if (clean + dirty) fprintf(out, "%-24s %10zu %10zu\n", rules->rules[r]->name, clean, dirty);
    }
    fprintf(out, "%-24s %10zu %10zu\n", "total", plan->n_clean, plan->n_dirty + plan->n_maybe);
}

static void dot_visit(FILE *out, const struct vl_edge *e, struct vl_map *seen)
{
    const char *first = e->outputs[0]->path;
    if (vl_map_get(seen, first)) return;
    vl_map_put(seen, first, (void *)first);
    fprintf(out, "  \"a:%s\" [label=\"%s\", shape=box];\n", first, e->rule->name);
    for (size_t i = 0; i < e->n_outputs; i++)
        fprintf(out, "  \"a:%s\" -> \"%s\";\n", first, e->outputs[i]->path);
    for (size_t i = 0; i < e->n_inputs; i++) {
        fprintf(out, "  \"%s\" -> \"a:%s\";\n", e->inputs[i]->path, first);
        if (e->inputs[i]->producer) dot_visit(out, e->inputs[i]->producer, seen);
    }
}

void vl_explain_graph_dot(FILE *out, const struct vl_graph *g, struct vl_node *const *targets,
                          size_t n_targets)
{
    (void)g;
    struct vl_map seen = {0};
    fprintf(out, "digraph vlbuild {\n  rankdir=LR;\n  node [fontsize=10];\n");
    for (size_t i = 0; i < n_targets; i++)
        if (targets[i]->producer) dot_visit(out, targets[i]->producer, &seen);
    fprintf(out, "}\n");
    vl_map_release(&seen);
}
