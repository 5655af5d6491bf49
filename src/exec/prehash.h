/* prehash.h - the sources' fingerprints taken on libuv's thread pool before
 * the planner walks the graph.
 *
 * The first build of a dataset, or the first after its files were copied
 * (new inodes), reads every byte of every source video; the planner, which
 * walks one action at a time, did that on one thread.  This pass collects
 * the source files that the targets need, stats them, and hashes those
 * whose record does not already vouch for them on the worker threads, a
 * chunk of files per work item.  The planner then finds them fingerprinted. */
#ifndef VL_PREHASH_H
#define VL_PREHASH_H

#include "exec/plan.h"

/* Fingerprints, in parallel, the sources (files no rule makes) that the
 * actions behind targets read, recording fresh hashes in state and counting
 * them in plan->n_hashed.  A file that cannot be stat'ed or read is left to
 * the planner, which reports it.  Does nothing for fewer than a few dozen
 * files.  Error: the state cannot record a fingerprint. */
int vl_prehash_sources(struct vl_plan *plan, struct vl_graph *g, struct vl_state *state,
                       struct vl_node *const *targets, size_t n_targets, struct vl_error *err);

#endif
