/* clean.h - `vlbuild clean`, and the dead outputs that `status` reports.
 *
 * A dead output is a file that vlbuild wrote in an earlier build (an output
 * path named by a record in the state) and that no action of the current
 * graph makes any more: its source was renamed or deleted, its rule removed
 * or its `out` pattern changed (as `ninja -t cleandead` finds them). */
#ifndef VL_CLEAN_H
#define VL_CLEAN_H

#include <stdio.h>

#include "graph/graph.h"
#include "state/state.h"

/* One dead path and what clean does with it. */
enum vl_dead_fate {
    VL_DEAD_REMOVE, /* on disk, as vlbuild wrote it: clean removes it */
    VL_DEAD_GONE,   /* no longer on disk: only its records go */
    VL_DEAD_KEEP,   /* on disk but not provably vlbuild's, or outside the project: kept */
};

struct vl_dead_path {
    char *path;
    char *record; /* the first output of the record that names it */
    enum vl_dead_fate fate;
    const char *why; /* VL_DEAD_KEEP: why it is kept (static text) */
};

struct vl_dead {
    struct vl_dead_path *paths; /* in the order of their records' first output */
    size_t n_paths, n_remove, n_keep;
    char **records; /* first outputs of the records no action of the graph writes */
    size_t n_records;
};

/* Finds the dead outputs of the state s against graph g (built in the
 * project directory, g->root): every output path that a record names and
 * that is no node of g.  A file is to be removed only when it is a regular
 * file whose stat or content matches its recorded fingerprint, and whose
 * folder, symbolic links resolved, lies inside the project; anything else
 * on disk is kept with a reason.  *dead is the caller's (vl_dead_release). */
int vl_dead_find(const struct vl_graph *g, struct vl_state *s, struct vl_dead *dead,
                 struct vl_error *err);
/* Frees what vl_dead_find filled. */
void vl_dead_release(struct vl_dead *dead);
/* Prints to out, for `status`, how many dead outputs clean would remove and
 * the first few, with the hint that `vlbuild clean` removes them; nothing
 * when there are none. */
void vl_dead_report(FILE *out, const struct vl_dead *dead);
/* `vlbuild clean`: removes the outputs of the producers of targets (n of
 * them) and the dead outputs their records name (ones they wrote under an
 * earlier `out`), or with no targets (targets NULL) the outputs of every
 * action of g and every dead output; forgets their records; prints what it
 * removed and kept to out.  Returns 0, or -1 when the state could not be
 * written. */
int vl_clean(FILE *out, const struct vl_graph *g, struct vl_state *s, struct vl_node *const *targets,
             size_t n, struct vl_error *err);

#endif
