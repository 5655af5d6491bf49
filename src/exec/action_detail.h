/* action_detail.h - what an action was, in words: the detail entries that
 * the state keeps beside each action's key (state/state.h), and the
 * comparison that lets `explain` name what changed. */
#ifndef VL_ACTION_DETAIL_H
#define VL_ACTION_DETAIL_H

#include <stddef.h>

#include "graph/graph.h"
#include "util/strbuf.h"

/* Appends e's detail entries to out: what vl_key_definition hashes (the
 * action and its version, copy index and parameters, or the command; the
 * output and input paths), in words. */
void vl_action_detail_write(const struct vl_edge *e, struct vl_strbuf *out);
/* Appends to out, "; "-separated, what differs between a recorded detail
 * (before) and the current one (now): the action or its version, each
 * parameter with its old and new value, the command (old and new, around
 * the first difference), outputs and inputs added or removed (the first
 * few, and how many more).  Returns how many differences it named. */
size_t vl_action_detail_diff(const char *before, size_t before_len, const char *now,
                             size_t now_len, struct vl_strbuf *out);

#endif
