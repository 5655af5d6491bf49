/* outputs.h - an action's output files around its run: cleared before it
 * starts (a stale output must not pass for a new one, nor a killed run's
 * temporary linger), checked and fingerprinted after it succeeds, removed
 * when it fails.
 *
 * The check after a run reads every byte of the outputs, so it runs on a
 * worker thread (vl_outputs_check), never on the loop: the loop holds the
 * state database's write transaction, which workers writing the metadata
 * cache wait on. */
#ifndef VL_OUTPUTS_H
#define VL_OUTPUTS_H

#include <stdint.h>

#include "graph/graph.h"
#include "state/state.h"
#include "util/disk.h"
#include "util/map.h"
#include "util/strbuf.h"

/* Removes e's outputs (through disk; NULL: the real one) and the temporaries a killed run left in their
 * folders (one scan a folder and build: swept holds the folders done, its
 * keys in g's arena), and makes the outputs' folders.  Error: a folder
 * cannot be made. */
int vl_outputs_prepare(const struct vl_disk *disk, struct vl_graph *g, const struct vl_edge *e,
                       struct vl_map *swept, struct vl_error *err);
/* Removes e's outputs (a failed or interrupted run's). */
void vl_outputs_remove(const struct vl_disk *disk, const struct vl_edge *e);

/* What the check of a finished run's outputs works on: filled on the loop
 * by vl_outputs_check_init, run anywhere by vl_outputs_check. */
struct vl_outputs_check {
    const struct vl_disk *disk;
    const char *rule;
    size_t n;
    const char **paths;                 /* the outputs (the graph's strings) */
    struct vl_file_record *known;       /* each one's last record, or exists = 0 */
    struct vl_file_record *records;     /* out: each output's fingerprint */
    unsigned char *fresh;               /* out: 1 where it was hashed anew */
    const atomic_int *cancel;           /* stops the hashing when set, or NULL */
    struct vl_strbuf message;           /* out: why the check failed */
};

/* Prepares c for e's outputs. */
void vl_outputs_check_init(struct vl_outputs_check *c, const struct vl_disk *disk,
                           const struct vl_edge *e, const atomic_int *cancel);
/* Stats and fingerprints every output (the stat fast path of
 * vl_plan_fingerprint_file); touches nothing shared, so it may run on a
 * worker.  With max_bytes (0: no limit), outputs larger than that in all
 * are stat'ed but not hashed, and 1 is returned: the caller hashes them off
 * the loop.  Returns 0, or -1 with c->message naming the file: an output
 * that is missing or not a regular file, one that cannot be read. */
int vl_outputs_check(struct vl_outputs_check *c, uint64_t max_bytes);
/* Applies a passed check to e's nodes (stat, fingerprint) and records the
 * fingerprints in state: on the loop thread. */
int vl_outputs_check_apply(const struct vl_outputs_check *c, struct vl_edge *e,
                           struct vl_state *state, struct vl_error *err);
/* Frees what c holds. */
void vl_outputs_check_release(struct vl_outputs_check *c);

#endif
