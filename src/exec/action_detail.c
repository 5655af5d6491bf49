/* action_detail.c - an action's detail entries and their comparison. */
#include "exec/action_detail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state/state.h"
#include "util/map.h"

#define LISTED 3      /* paths named per kind of change; then "and N more" */
#define COMMAND_SHOWN 60 /* bytes of a changed command shown around its first difference */

void vl_action_detail_write(const struct vl_edge *e, struct vl_strbuf *out)
{
    const struct vl_rule_decl *r = e->rule;
    char num[64];
    if (r->kind == VL_RULE_RUN) {
        vl_state_detail_add(out, VL_DETAIL_COMMAND, e->command);
    } else {
        snprintf(num, sizeof num, "%s version %d", r->def->name, r->def->version);
        vl_state_detail_add(out, VL_DETAIL_ACTION, num);
        snprintf(num, sizeof num, "%d", e->copy);
        vl_state_detail_add(out, VL_DETAIL_COPY, num);
        struct vl_strbuf p = VL_STRBUF_INIT;
        for (size_t i = 0; i < r->values.len; i++) {
            if (!vl_param_in_key(&r->values.values[i])) continue; /* as the key does */
            vl_strbuf_reset(&p);
            vl_strbuf_addf(&p, "%s=%s", r->values.values[i].spec->name, r->values.values[i].text);
            vl_state_detail_add(out, VL_DETAIL_PARAM, p.buf);
        }
        vl_strbuf_release(&p);
    }
    for (size_t i = 0; i < e->n_outputs; i++)
        vl_state_detail_add(out, VL_DETAIL_OUTPUT, e->outputs[i]->path);
    for (size_t i = 0; i < e->n_inputs; i++)
        vl_state_detail_add(out, VL_DETAIL_INPUT, e->inputs[i]->path);
}

int vl_action_detail_backfill(const struct vl_graph *g, struct vl_state *s, struct vl_error *err)
{
    struct vl_strbuf detail = VL_STRBUF_INIT;
    int rc = 0;
    for (size_t i = 0; i < g->n_edges && rc == 0; i++) {
        const struct vl_edge *e = g->edges[i];
        if (e->state != VL_EDGE_CLEAN || !e->action_rec || e->action_rec->detail_len) continue;
        vl_strbuf_reset(&detail);
        vl_action_detail_write(e, &detail);
        rc = vl_state_put_detail(s, e->outputs[0]->path, detail.buf, detail.len, err);
    }
    vl_strbuf_release(&detail);
    return rc;
}

/* The entries of one detail, split by kind (texts point into a copy). */
struct entries {
    char *copy;
    const char *action, *copy_index, *command;
    const char **params, **outputs, **inputs;
    size_t n_params, n_outputs, n_inputs;
};

static void push(const char ***list, size_t *n, const char *text)
{
    *list = realloc(*list, (*n + 1) * sizeof **list);
    if (!*list) abort();
    (*list)[(*n)++] = text;
}

static void split(const char *detail, size_t len, struct entries *en)
{
    memset(en, 0, sizeof *en);
    en->copy = malloc(len + 1);
    if (!en->copy) abort();
    if (len) memcpy(en->copy, detail, len);
    size_t pos = 0;
    char tag;
    const char *text;
    while ((text = vl_state_detail_next(en->copy, len, &pos, &tag))) {
        switch (tag) {
        case VL_DETAIL_ACTION: en->action = text; break;
        case VL_DETAIL_COPY: en->copy_index = text; break;
        case VL_DETAIL_COMMAND: en->command = text; break;
        case VL_DETAIL_PARAM: push(&en->params, &en->n_params, text); break;
        case VL_DETAIL_OUTPUT: push(&en->outputs, &en->n_outputs, text); break;
        case VL_DETAIL_INPUT: push(&en->inputs, &en->n_inputs, text); break;
        default: break; /* dropped outputs: clean's business */
        }
    }
}

static void release(struct entries *en)
{
    free(en->copy);
    free(en->params);
    free(en->outputs);
    free(en->inputs);
}

static void separate(struct vl_strbuf *out, size_t *n)
{
    if ((*n)++) vl_strbuf_adds(out, "; ");
}

static int same(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

/* "name=value": the value of name among params, or NULL. */
static const char *param_value(const char **params, size_t n, const char *name, size_t name_len)
{
    for (size_t i = 0; i < n; i++)
        if (!strncmp(params[i], name, name_len) && params[i][name_len] == '=')
            return params[i] + name_len + 1;
    return NULL;
}

static void diff_params(const struct entries *b, const struct entries *a, struct vl_strbuf *out,
                        size_t *n)
{
    for (size_t i = 0; i < a->n_params; i++) {
        const char *eq = strchr(a->params[i], '=');
        if (!eq) continue;
        size_t len = (size_t)(eq - a->params[i]);
        const char *old = param_value(b->params, b->n_params, a->params[i], len);
        if (old && !strcmp(old, eq + 1)) continue;
        separate(out, n);
        if (old)
            vl_strbuf_addf(out, "parameter %.*s changed from %s to %s", (int)len, a->params[i], old,
                           eq + 1);
        else
            vl_strbuf_addf(out, "parameter %.*s is new (%s)", (int)len, a->params[i], eq + 1);
    }
    for (size_t i = 0; i < b->n_params; i++) {
        const char *eq = strchr(b->params[i], '=');
        if (!eq) continue;
        size_t len = (size_t)(eq - b->params[i]);
        if (param_value(a->params, a->n_params, b->params[i], len)) continue;
        separate(out, n);
        vl_strbuf_addf(out, "parameter %.*s is gone (was %s)", (int)len, b->params[i], eq + 1);
    }
}

/* Appends the part of s around offset at (COMMAND_SHOWN bytes at most). */
static void add_window(struct vl_strbuf *out, const char *s, size_t at)
{
    size_t len = strlen(s), from = at > COMMAND_SHOWN / 3 ? at - COMMAND_SHOWN / 3 : 0;
    size_t to = from + COMMAND_SHOWN < len ? from + COMMAND_SHOWN : len;
    vl_strbuf_addf(out, "'%s%.*s%s'", from ? "..." : "", (int)(to - from), s + from,
                   to < len ? "..." : "");
}

static void diff_command(const char *before, const char *now, struct vl_strbuf *out, size_t *n)
{
    if (same(before, now) || !before || !now) return;
    size_t at = 0;
    while (before[at] && before[at] == now[at]) at++;
    separate(out, n);
    vl_strbuf_adds(out, "its command changed from ");
    add_window(out, before, at);
    vl_strbuf_adds(out, " to ");
    add_window(out, now, at);
}

/* Names the paths of list a that list b lacks ("output X added"). */
static size_t missing_from(const char **a, size_t na, const char **b, size_t nb,
                           const char *what, const char *verb, struct vl_strbuf *out, size_t *n)
{
    struct vl_map in_b = {0};
    for (size_t i = 0; i < nb; i++) vl_map_put(&in_b, b[i], (void *)b[i]);
    size_t found = 0;
    for (size_t i = 0; i < na; i++) {
        if (vl_map_get(&in_b, a[i])) continue;
        if (found++ < LISTED) {
            separate(out, n);
            vl_strbuf_addf(out, "%s %s %s", what, a[i], verb);
        }
    }
    if (found > LISTED) {
        separate(out, n);
        vl_strbuf_addf(out, "and %zu more %ss %s", found - LISTED, what, verb);
    }
    vl_map_release(&in_b);
    return found;
}

static void diff_paths(const char **b, size_t nb, const char **a, size_t na, const char *what,
                       struct vl_strbuf *out, size_t *n)
{
    size_t changed = missing_from(b, nb, a, na, what, "removed", out, n) +
                     missing_from(a, na, b, nb, what, "added", out, n);
    if (changed || nb != na) return;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i], b[i])) {
            separate(out, n);
            vl_strbuf_addf(out, "its %ss are in another order", what);
            return;
        }
}

size_t vl_action_detail_diff(const char *before, size_t before_len, const char *now,
                             size_t now_len, struct vl_strbuf *out)
{
    struct entries b, a;
    split(before, before_len, &b);
    split(now, now_len, &a);
    size_t n = 0;
    if (!same(b.action, a.action)) {
        separate(out, &n);
        if (b.action && a.action)
            vl_strbuf_addf(out, "its action changed from %s to %s", b.action,
                           a.action);
        else if (a.action)
            vl_strbuf_addf(out, "it was a command and is now the action %s", a.action);
        else
            vl_strbuf_addf(out, "it was the action %s and is now a command",
                           b.action ? b.action : "?");
    } else if (!same(b.copy_index, a.copy_index)) {
        separate(out, &n);
        vl_strbuf_addf(out, "its copy index changed from %s to %s", b.copy_index ? b.copy_index : "-",
                       a.copy_index ? a.copy_index : "-");
    }
    if (same(b.action, a.action)) diff_params(&b, &a, out, &n);
    diff_command(b.command, a.command, out, &n);
    diff_paths(b.outputs, b.n_outputs, a.outputs, a.n_outputs, "output", out, &n);
    diff_paths(b.inputs, b.n_inputs, a.inputs, a.n_inputs, "input", out, &n);
    release(&b);
    release(&a);
    return n;
}
