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
    /* what the action was, as VL_DETAIL_ entries: what `explain` compares
     * and `clean` reads.  Writing a record: the entries (NULL for none).  A
     * record loaded or kept by the state: detail NULL (never loaded) and
     * detail_len the size of the stored one, 0 where the row has none. */
    const char *detail;
    size_t detail_len;
    int exit_status;
    int64_t start_ns, end_ns;
};

/* An action's detail (the actions table's detail column) is a sequence of
 * entries, each a tag byte, a text and a NUL byte (no text holds a NUL):
 *   'a' the built-in action and its version ("probe version 3"),
 *   'k' its copy index, 'p' one parameter ("size=8x8", in canonical order),
 *   'c' a run rule's command (templates filled, $in and $out as written),
 *   'o' an output path, 'i' an input path (each in order),
 *   'd' a path this action wrote in an earlier run and no longer writes
 *       (kept for `clean`: vl_state_put_action carries them over). */
enum {
    VL_DETAIL_ACTION = 'a',
    VL_DETAIL_COPY = 'k',
    VL_DETAIL_PARAM = 'p',
    VL_DETAIL_COMMAND = 'c',
    VL_DETAIL_OUTPUT = 'o',
    VL_DETAIL_INPUT = 'i',
    VL_DETAIL_DROPPED = 'd',
};

/* Appends one detail entry (tag, text, NUL) to sb. */
void vl_state_detail_add(struct vl_strbuf *sb, char tag, const char *text);
/* Steps through detail: the entry at *pos (its tag in *tag, its text
 * returned, NUL-terminated in place), advancing *pos; NULL at the end or at
 * a damaged entry (one without its NUL). */
const char *vl_state_detail_next(const char *detail, size_t len, size_t *pos, char *tag);

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
/* Adds the detail entries of the action whose first output is path to its
 * record when the record has none (it was written by schema 1); nothing
 * else of the record changes. */
int vl_state_put_detail(struct vl_state *s, const char *path, const char *detail, size_t len,
                        struct vl_error *err);
/* Forgets the action whose first output is path (it failed or is gone),
 * also when the index does not know path (a dead action's record). */
int vl_state_forget_action(struct vl_state *s, const char *path, struct vl_error *err);
/* Forgets the fingerprint of path (the file was deleted), also when the
 * index does not know path. */
int vl_state_forget_file(struct vl_state *s, const char *path, struct vl_error *err);
/* Appends the captured output of the action whose first output is path. */
int vl_state_action_log(struct vl_state *s, const char *path, struct vl_strbuf *out,
                        struct vl_error *err);
/* Reads what `explain` needs of a recorded action: its definition key, the
 * input fingerprints it ran on (*inputs malloc'd, the caller frees) and its
 * detail entries (appended to detail; none for a record of schema 1). */
int vl_state_action_detail(struct vl_state *s, const char *path, struct vl_hash *def_key,
                           struct vl_hash **inputs, size_t *n_inputs, struct vl_strbuf *detail,
                           struct vl_error *err);
/* Commits the changes recorded since the last commit. */
int vl_state_commit(struct vl_state *s, struct vl_error *err);
/* Calls fn for every recorded action, in the order of its first output:
 * that output, its rule, its output fingerprints and its detail entries (len
 * 0 for a record of schema 1, which names its first output only); for
 * `clean` and `status`.  The pointers live until fn returns. */
int vl_state_each_action(struct vl_state *s,
                         void (*fn)(void *ctx, const char *output, const char *rule,
                                    const struct vl_hash *outputs, size_t n_outputs,
                                    const char *detail, size_t detail_len),
                         void *ctx, struct vl_error *err);
/* Reads the fingerprint recorded for path, whether or not the index knows
 * it: 1 and *rec when there is one, 0 when none, -1 with a message. */
int vl_state_file_record(struct vl_state *s, const char *path, struct vl_file_record *rec,
                         struct vl_error *err);
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
