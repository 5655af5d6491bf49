/* action_detail.h - what an action was, in words: the detail entries that
 * the state keeps beside each action's key (state/state.h), and the
 * comparison that lets `explain` name what changed. */
#ifndef VL_ACTION_DETAIL_H
#define VL_ACTION_DETAIL_H

#include <stddef.h>

#include "graph/graph.h"
#include "state/state.h"
#include "util/strbuf.h"

/* Appends e's detail entries to out: what vl_key_definition hashes (the
 * action and its version, copy index and parameters, or the command; the
 * output and input paths), in words. */
void vl_action_detail_write(const struct vl_edge *e, struct vl_strbuf *out);
/* Gives every up-to-date action of g whose record has no detail (one
 * written by schema 1) its detail, so that explain and clean know it from
 * the next run on: the definition is unchanged, so the current one is the
 * recorded one.  Written with the state's next commit; 0 or -1. */
int vl_action_detail_backfill(const struct vl_graph *g, struct vl_state *s, struct vl_error *err);
/* Appends to out, "; "-separated, what differs between a recorded detail
 * (before) and the current one (now): the action or its version, each
 * parameter with its old and new value, the command (old and new, around
 * the first difference), outputs and inputs added or removed (the first
 * few, and how many more).  Returns how many differences it named. */
size_t vl_action_detail_diff(const char *before, size_t before_len, const char *now,
                             size_t now_len, struct vl_strbuf *out);

#endif
