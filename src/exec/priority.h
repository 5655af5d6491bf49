/* priority.h - which ready action starts first.
 *
 * The scheduler starts, among the actions that are ready, the one with the
 * most estimated work between it and the end of the build: its own estimate
 * plus the largest rank among the actions that read its outputs (the
 * critical path).  First come first served left a long action (one large
 * video) to start late and run alone at the end while the other workers sat
 * idle.
 *
 * An action's estimate is its last run's duration, kept in the state; an
 * action that never ran is estimated from the bytes it reads, at a nominal
 * ESTIMATE_NS_PER_BYTE (priority.c) plus a fixed cost, since decoding and
 * transforming video takes time roughly in proportion to the compressed
 * size.  Estimates only order the work; they never decide what runs. */
#ifndef VL_PRIORITY_H
#define VL_PRIORITY_H

#include <stdint.h>

#include "exec/plan.h"

/* The estimated duration of e in nanoseconds (see above). */
int64_t vl_priority_estimate(const struct vl_edge *e);

/* Fills rank[e->index] for every action of plan that will or may run (dirty
 * or maybe): its estimate plus the largest rank among such actions reading
 * its outputs.  rank has one slot per edge of the plan's graph. */
void vl_priority_rank(const struct vl_plan *plan, int64_t *rank);

/* Ranks e again when it becomes ready: its inputs made during the build now
 * have sizes to estimate from, and its users' ranks may have changed. */
void vl_priority_refresh(const struct vl_edge *e, int64_t *rank);

/* Ready actions, highest rank first; equal ranks in the order of their edge
 * index (the rules' order), so that a build's order is reproducible. */
struct vl_ready {
    struct vl_edge **items; /* a binary max-heap */
    size_t len, cap;
    const int64_t *rank; /* by edge index, from vl_priority_rank */
};

/* Adds e. */
void vl_ready_push(struct vl_ready *q, struct vl_edge *e);
/* Removes and returns the first action, or NULL when q is empty. */
struct vl_edge *vl_ready_pop(struct vl_ready *q);
/* Frees q's storage (q may be reused after). */
void vl_ready_release(struct vl_ready *q);

#endif
