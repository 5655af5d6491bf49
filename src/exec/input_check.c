/* input_check.c - check_inputs of built-in actions, before their jobs start (input_check.h). */
#include "exec/input_check.h"

#include <stdlib.h>

#include "actions/action.h"

/* Calls e's check_inputs with the inputs that want(node, ctx) selects;
 * 0 when it has none or nothing is selected. */
static int check_edge(const struct vl_edge *e, int (*want)(const struct vl_node *, const void *),
                      const void *ctx, struct vl_error *err)
{
    const struct vl_action_def *def = e->rule->def;
    if (!def || !def->check_inputs) return 0;
    const char **paths = calloc(e->n_inputs + 1, sizeof *paths);
    if (!paths) abort();
    size_t n = 0;
    for (size_t i = 0; i < e->n_inputs; i++)
        if (want(e->inputs[i], ctx)) paths[n++] = e->inputs[i]->path;
    struct vl_error inner;
    int rc = n ? def->check_inputs(&e->rule->values, paths, n, &inner) : 0;
    if (rc < 0)
        rc = vl_error_set(err, "%s:%d:%d: rule %s: %s", e->rule->loc.path, e->rule->loc.line,
                          e->rule->loc.col, e->rule->name, inner.msg);
    free(paths);
    return rc;
}

static int is_source(const struct vl_node *n, const void *ctx)
{
    (void)ctx;
    return !n->producer && n->st.exists;
}

int vl_input_check_sources(const struct vl_edge *e, struct vl_error *err)
{
    return check_edge(e, is_source, NULL, err);
}

int vl_input_check_outputs(const struct vl_edge *producer, struct vl_error *err)
{
    for (size_t i = 0; i < producer->n_outputs; i++) {
        const struct vl_node *o = producer->outputs[i];
        for (size_t k = 0; k < o->n_consumers; k++) {
            const struct vl_edge *c = o->consumers[k];
            const struct vl_action_def *def = c->rule->def;
            if (!def || !def->check_inputs || !vl_edge_will_run(c) || c->done) continue;
            /* the outputs of producer that c reads, checked once: at the first */
            int first = 1;
            for (size_t m = 0; m < i && first; m++)
                for (size_t q = 0; q < producer->outputs[m]->n_consumers; q++)
                    if (producer->outputs[m]->consumers[q] == c) first = 0;
            if (!first) continue;
            const char *paths[64]; /* a few outputs; the job reads any others itself */
            size_t n = 0;
            for (size_t m = i; m < producer->n_outputs && n < 64; m++)
                for (size_t q = 0; q < producer->outputs[m]->n_consumers; q++)
                    if (producer->outputs[m]->consumers[q] == c) {
                        paths[n++] = producer->outputs[m]->path;
                        break;
                    }
            struct vl_error inner;
            if (def->check_inputs(&c->rule->values, paths, n, &inner) < 0)
                return vl_error_set(err, "%s:%d:%d: rule %s: %s", c->rule->loc.path,
                                    c->rule->loc.line, c->rule->loc.col, c->rule->name,
                                    inner.msg);
        }
    }
    return 0;
}
