/* plan.h - deciding what is stale.
 *
 * The planner walks the graph from the targets, fingerprints the files it
 * meets (stat fast path, re-hash on change), and decides for every action
 * whether it is up to date, must run, or must wait for a rebuilt input to be
 * decided by content (early cutoff).  Every decision keeps its reason. */
#ifndef VL_PLAN_H
#define VL_PLAN_H

#include "graph/graph.h"
#include "state/state.h"
#include "util/disk.h"

struct vl_plan {
    /* the file system the planner and the scheduler stat and hash through;
     * NULL: the real one (the engine's tests set a fake) */
    const struct vl_disk *disk;
    struct vl_edge **order; /* wanted actions, inputs before users */
    size_t len, cap;
    size_t n_dirty, n_maybe, n_clean;
    size_t n_hashed;        /* files whose content was read this run */
};

/* The index that keeps the state's records on g: a file's on its node
 * (node->file_rec), an action's on its edge (edge->action_rec).  Open the
 * state with it after building g. */
struct vl_state_index vl_plan_state_index(struct vl_graph *g);
/* Resolves command-line target words (rule names, source names, output or
 * source paths) to nodes appended to *nodes (malloc'd).  With no words, uses
 * the rules' `default` list, or every rule's outputs when there is none.
 * A file named more than once (by path, in several sets, or a word given
 * again) is one target, in the place of its first mention. */
int vl_plan_resolve_targets(const struct vl_graph *g, const struct vl_rules *rules,
                            const char *const *words, size_t n_words, struct vl_node ***nodes,
                            size_t *n_nodes, struct vl_error *err);
/* Plans the build of the given target nodes: fills plan->order and each
 * edge's state and reason.  Errors: a cycle between files (printed as a
 * chain), a needed input that no rule makes and that does not exist, an
 * unreadable file. */
int vl_plan_build(struct vl_plan *plan, struct vl_graph *g, struct vl_state *state,
                  struct vl_node *const *targets, size_t n_targets, struct vl_error *err);
/* Fingerprints node (stat, then the recorded hash or a fresh one); records
 * fresh hashes in state.  Sets node->hash_known when the file exists. */
int vl_plan_fingerprint(struct vl_plan *plan, struct vl_node *node, struct vl_state *state,
                        struct vl_error *err);
/* 1 when known (a file's last record, or NULL) may stand for a file whose
 * stat is st: the same stat tuple, hashed outside the racy window. */
int vl_plan_record_vouches(const struct vl_file_record *known, const struct vl_stat *st);
/* The fingerprint of the file at path on disk (NULL: the real one) whose stat is st: known's when known
 * (its last record, or NULL) has the same stat and was hashed outside the
 * racy window, else a fresh hash.  Touches no shared state: safe on a worker
 * thread.  A set *cancel (may be NULL) stops the hashing with an error.
 * Returns 1 when it hashed, 0 when it took known's, -1 on a read
 * error (in err). */
int vl_plan_fingerprint_file(const struct vl_disk *disk, const char *path, const struct vl_stat *st,
                             const struct vl_file_record *known, const atomic_int *cancel,
                             struct vl_file_record *out, struct vl_error *err);
/* The text of e's reason ("output build/a.json is missing"): a constant, or
 * written into buf. */
const char *vl_plan_reason_text(const struct vl_edge *e, char *buf, size_t size);
/* Decides an action whose inputs are all fingerprinted: compares its key and
 * outputs with the record; sets e->state to CLEAN or DIRTY with a reason. */
int vl_plan_decide(struct vl_plan *plan, struct vl_graph *g, struct vl_edge *e,
                   struct vl_state *state, struct vl_error *err);
/* Frees the plan's arrays (not its disk). */
void vl_plan_release(struct vl_plan *plan);

#endif
