/* state.h - what vlbuild remembers between runs, in .vlbuild/state.db.
 *
 * The whole file and action tables are read into memory when the state is
 * opened (one scan each, much faster than a query per file), and changes are
 * written back in batched transactions as the build goes.  Where each record
 * is kept is the caller's choice (struct vl_state_index): the engine keeps
 * them on the graph's nodes and edges, so that the state holds no second
 * copy of every path and no maps of its own. */
#ifndef VL_STATE_H
#define VL_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "util/fs.h"
#include "util/strbuf.h"

/* The fingerprint of one file and the stat tuple it was taken under. */
struct vl_file_record {
    struct vl_stat st;
    struct vl_hash hash;
    int64_t hashed_at_ns; /* wall clock when hashed: detects racy timestamps */
};

/* The last successful run of one action, keyed by its first output. */
struct vl_action_record {
    struct vl_hash key;
    struct vl_hash *outputs; /* one fingerprint per output, in order */
    size_t n_outputs;
    struct vl_hash def_key;  /* the key without the inputs: what the action is */
    struct vl_hash *inputs;  /* input fingerprints in order (when writing a record) */
    size_t n_inputs;
    int exit_status;
    int64_t start_ns, end_ns;
};

struct vl_state;
struct sqlite3;

/* Makes db (any connection to a state database: the engine's, or a worker's
 * metadata cache) wait for another writer's transaction in 1 ms steps, up
 * to 10 s.  SQLite's own busy timeout backs off to 100 ms sleeps, and a
 * worker then slept half a second for the engine's batched commit, which
 * comes within milliseconds (the engine commits whenever its loop waits). */
void vl_state_wait_for_writers(struct sqlite3 *db);

/* Where the records live in memory: each function returns the slot that
 * holds the record of path (len bytes), or NULL when the caller does not know
 * the path; such a record stays on disk only (a file the rules no longer
 * name).  The engine's slots are on its graph (exec/plan.h). */
struct vl_state_index {
    struct vl_file_record **(*file_slot)(void *ctx, const char *path, size_t len);
    struct vl_action_record **(*action_slot)(void *ctx, const char *path, size_t len);
    /* empties every slot (a damaged database's records are being dropped) */
    void (*clear)(void *ctx);
    void *ctx;
};

/* Opens (creating if needed) db_path and loads its records into the slots of
 * index.  A file that
 * is not a vlbuild state database, or is damaged, is moved aside (with its
 * -wal and -shm) to db_path.corrupt-YYYYMMDD-HHMMSS with a warning through
 * warn() and replaced by an empty one (everything rebuilds); so is one that a
 * later write finds damaged (SQLITE_CORRUPT, SQLITE_NOTADB), the build going
 * on with the records it holds in memory.  A state written by a newer
 * schema version is an error; a symbolic link, FIFO or device at db_path or
 * its -wal or -shm is refused. */
int vl_state_open(const char *db_path, const struct vl_state_index *index,
                  void (*warn)(void *ctx, const char *msg), void *warn_ctx,
                  struct vl_state **out, struct vl_error *err);
/* vl_state_open for a read-only checkout (-n, status, explain, graph): opens
 * db_path read-only and changes nothing on disk; what is recorded is kept in
 * memory only.  A missing, empty or damaged file gives an empty state (a
 * damaged one with a warning), left as it is. */
int vl_state_open_readonly(const char *db_path, const struct vl_state_index *index,
                           void (*warn)(void *ctx, const char *msg), void *warn_ctx,
                           struct vl_state **out, struct vl_error *err);
/* Records the fingerprint of path (written at the next commit) and keeps a
 * copy in its slot. */
int vl_state_put_file(struct vl_state *s, const char *path, const struct vl_file_record *rec,
                      struct vl_error *err);
/* Records a finished action: its record, its rule and what it printed. */
int vl_state_put_action(struct vl_state *s, const char *first_output, const char *rule,
                        const struct vl_action_record *rec, const char *log, size_t log_len,
                        struct vl_error *err);
/* Forgets the action whose first output is path (it failed or is gone). */
int vl_state_forget_action(struct vl_state *s, const char *path, struct vl_error *err);
/* Forgets the fingerprint of path (the file was deleted). */
int vl_state_forget_file(struct vl_state *s, const char *path, struct vl_error *err);
/* Appends the captured output of the action whose first output is path. */
int vl_state_action_log(struct vl_state *s, const char *path, struct vl_strbuf *out,
                        struct vl_error *err);
/* Reads what `explain` needs of a recorded action: its definition key and
 * the input fingerprints it ran on (*inputs malloc'd, the caller frees). */
int vl_state_action_detail(struct vl_state *s, const char *path, struct vl_hash *def_key,
                           struct vl_hash **inputs, size_t *n_inputs, struct vl_error *err);
/* Commits the changes recorded since the last commit. */
int vl_state_commit(struct vl_state *s, struct vl_error *err);
/* Calls fn for every recorded action (first output, rule); for `clean`. */
int vl_state_each_action(struct vl_state *s, void (*fn)(void *ctx, const char *output,
                                                        const char *rule),
                         void *ctx, struct vl_error *err);
/* Calls fn for every recorded action of the database at db_path, opened
 * read-only on its own connection (safe on a worker thread while a build
 * writes): its first output, rule, and when it last ran. */
int vl_state_read_actions(const char *db_path,
                          void (*fn)(void *ctx, const char *output, const char *rule,
                                     int64_t start_ns, int64_t end_ns),
                          void *ctx, struct vl_error *err);
/* Commits and closes; s may be NULL. */
void vl_state_close(struct vl_state *s);

#endif
