/* explain.h - telling the user what the planner decided and why. */
#ifndef VL_EXPLAIN_H
#define VL_EXPLAIN_H

#include <stdio.h>

#include "exec/plan.h"

/* Prints why node's producing action would (or would not) run, and the chain
 * of reasons through its inputs, after vl_plan_build. */
int vl_explain_node(FILE *out, struct vl_state *state, const struct vl_node *node,
                    struct vl_error *err);
/* Prints per rule how many planned actions are up to date and how many would run. */
void vl_explain_status(FILE *out, const struct vl_rules *rules, const struct vl_plan *plan);
/* Prints the graph reachable from the targets in Graphviz DOT. */
void vl_explain_graph_dot(FILE *out, const struct vl_graph *g, struct vl_node *const *targets,
                          size_t n_targets);

#endif
