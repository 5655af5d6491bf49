/* key.h - action keys: what makes two runs of an action interchangeable. */
#ifndef VL_KEY_H
#define VL_KEY_H

#include "graph/graph.h"

/* The key of what an action is, without its input data: for a run rule the
 * command (templates filled, $in/$out as written), for a built-in its name,
 * implementation version, canonical parameters and copy index; then the
 * output paths and the input paths.  Stable across runs and machines. */
struct vl_hash vl_key_definition(const struct vl_edge *e);
/* The full action key: the definition key followed by every input's content
 * fingerprint, in order.  All inputs must have hash_known set. */
struct vl_hash vl_key_action(const struct vl_edge *e, const struct vl_hash *definition);

#endif
