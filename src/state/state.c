/* state.c - the state database, .vlbuild/state.db.
 *
 * Format (SQLite, journal_mode=WAL, synchronous=NORMAL), schema version 2,
 * stored in PRAGMA user_version and checked on open:
 *
 *   files(path TEXT PRIMARY KEY,          -- relative to the project
 *         dev, ino, size, mtime_ns, ctime_ns INTEGER,   -- the stat tuple
 *         hash BLOB,                      -- XXH3-128 of the content, 16 bytes
 *         hashed_at INTEGER)              -- wall clock (ns) when hashed
 *   actions(output TEXT PRIMARY KEY,      -- the action's first output
 *           rule TEXT,
 *           key BLOB,                     -- the action key, 16 bytes
 *           outputs BLOB,                 -- 16 bytes per output, in rule order
 *           def_key BLOB,                 -- key of the action without its inputs
 *           inputs BLOB,                  -- 16 bytes per input fingerprint, in order
 *           exit_status INTEGER, start_ns INTEGER, end_ns INTEGER,
 *           log TEXT,                     -- what the action printed
 *           detail BLOB)                  -- what the action was: its action and
 *                                         -- parameters or command, output and
 *                                         -- input paths (entries: state.h); NULL
 *                                         -- in a row that schema 1 wrote
 *   video_meta(hash TEXT PRIMARY KEY, json TEXT, frames INTEGER,
 *              corrected INTEGER, probed_at INTEGER, seal TEXT)  -- see src/video/metacache.c
 *
 * A file's record is trusted only while its stat tuple is unchanged and its
 * mtime is older than hashed_at by more than the timestamp granularity;
 * otherwise the file is re-hashed (see exec/plan.c).  An action's record is
 * written only after all its outputs are complete, so an interrupted build
 * leaves nothing that a later build could take for finished.
 *
 * Versions: 1 had no detail column.  Opening a version-1 file for writing
 * adds it (ALTER TABLE, no row rewritten: every fingerprint and key stays,
 * so nothing rebuilds) and sets version 2; its old rows keep a NULL detail
 * until their action runs again.  A read-only open leaves the file at 1. */
#include "state/state.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/arena.h"
#include "util/fs.h"
#include "util/strbuf.h"

#define SCHEMA_VERSION 2

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS files(path TEXT PRIMARY KEY, dev INTEGER, ino INTEGER,"
    " size INTEGER, mtime_ns INTEGER, ctime_ns INTEGER, hash BLOB, hashed_at INTEGER);"
    "CREATE TABLE IF NOT EXISTS actions(output TEXT PRIMARY KEY, rule TEXT, key BLOB,"
    " outputs BLOB, def_key BLOB, inputs BLOB, exit_status INTEGER, start_ns INTEGER,"
    " end_ns INTEGER, log TEXT, detail BLOB);"
    "CREATE TABLE IF NOT EXISTS video_meta(hash TEXT PRIMARY KEY, json TEXT NOT NULL,"
    " frames INTEGER NOT NULL, corrected INTEGER NOT NULL DEFAULT 0,"
    " probed_at INTEGER NOT NULL, seal TEXT NOT NULL DEFAULT '');"; /* video/metacache.c */

struct vl_state {
    sqlite3 *db;
    struct vl_arena arena; /* the records, which the index's slots point to */
    struct vl_state_index index;
    sqlite3_stmt *put_file, *put_action, *del_action, *del_file;
    sqlite3_stmt *put_detail; /* prepared on first use (schema 2 only) */
    int in_transaction;
    int readonly; /* vl_state_open_readonly: records are kept in memory only */
    int version;  /* the schema of the open file (1 only when read-only) */
    char *path;
    void (*warn)(void *ctx, const char *msg);
    void *warn_ctx;
};

static struct vl_file_record **file_slot(struct vl_state *s, const char *path, size_t len)
{
    return s->index.file_slot(s->index.ctx, path, len);
}

static struct vl_action_record **action_slot(struct vl_state *s, const char *path, size_t len)
{
    return s->index.action_slot(s->index.ctx, path, len);
}

static int wait_a_millisecond(void *ctx, int attempts)
{
    (void)ctx;
    if (attempts >= 10000) return 0; /* 10 s: give up, SQLITE_BUSY */
    struct timespec ms = {0, 1000000};
    nanosleep(&ms, NULL);
    return 1;
}

void vl_state_wait_for_writers(sqlite3 *db)
{
    sqlite3_busy_handler(db, wait_a_millisecond, NULL);
}

static int db_error(struct vl_state *s, struct vl_error *err, const char *what)
{
    return vl_error_set(err, "state database: %s: %s", what, sqlite3_errmsg(s->db));
}

static int exec_sql(struct vl_state *s, const char *sql, struct vl_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        vl_error_set(err, "state database: %s", msg ? msg : "error");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int read_user_version(sqlite3 *db, int *version)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK) return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) *version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

/* Fills r from the columns at first.. of st: dev, ino, size, mtime_ns,
 * ctime_ns, hash (16 bytes, checked by the caller), hashed_at. */
static void read_file_columns(sqlite3_stmt *st, int first, struct vl_file_record *r)
{
    r->st.dev = (uint64_t)sqlite3_column_int64(st, first);
    r->st.ino = (uint64_t)sqlite3_column_int64(st, first + 1);
    r->st.size = (uint64_t)sqlite3_column_int64(st, first + 2);
    r->st.mtime_ns = sqlite3_column_int64(st, first + 3);
    r->st.ctime_ns = sqlite3_column_int64(st, first + 4);
    r->st.exists = 1;
    memcpy(r->hash.bytes, sqlite3_column_blob(st, first + 5), 16);
    r->hashed_at_ns = sqlite3_column_int64(st, first + 6);
}

static int load(struct vl_state *s, struct vl_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT path, dev, ino, size, mtime_ns, ctime_ns, hash, hashed_at "
                           "FROM files",
                           -1, &st, NULL) != SQLITE_OK)
        return db_error(s, err, "reading files");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 6) != 16) continue;
        struct vl_file_record **slot =
            file_slot(s, (const char *)sqlite3_column_text(st, 0),
                      (size_t)sqlite3_column_bytes(st, 0));
        if (!slot) continue;
        struct vl_file_record *r = VL_ARENA_NEW(&s->arena, struct vl_file_record);
        read_file_columns(st, 1, r);
        *slot = r;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return db_error(s, err, "reading files");

    if (sqlite3_prepare_v2(s->db,
                           s->version < 2 ? "SELECT output, key, outputs, exit_status, start_ns,"
                                            " end_ns, def_key, 0 FROM actions"
                                          : "SELECT output, key, outputs, exit_status, start_ns,"
                                            " end_ns, def_key, length(detail) FROM actions",
                           -1, &st, NULL) != SQLITE_OK)
        return db_error(s, err, "reading actions");
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int outs_len = sqlite3_column_bytes(st, 2);
        if (sqlite3_column_bytes(st, 1) != 16 || outs_len % 16) continue;
        struct vl_action_record **slot =
            action_slot(s, (const char *)sqlite3_column_text(st, 0),
                        (size_t)sqlite3_column_bytes(st, 0));
        if (!slot) continue;
        struct vl_action_record *r = VL_ARENA_NEW(&s->arena, struct vl_action_record);
        memcpy(r->key.bytes, sqlite3_column_blob(st, 1), 16);
        r->n_outputs = (size_t)outs_len / 16;
        r->outputs = VL_ARENA_ARRAY(&s->arena, struct vl_hash, r->n_outputs);
        if (outs_len) memcpy(r->outputs, sqlite3_column_blob(st, 2), (size_t)outs_len);
        r->exit_status = sqlite3_column_int(st, 3);
        r->start_ns = sqlite3_column_int64(st, 4);
        r->end_ns = sqlite3_column_int64(st, 5);
        if (sqlite3_column_bytes(st, 6) == 16) memcpy(r->def_key.bytes, sqlite3_column_blob(st, 6), 16);
        r->detail_len = (size_t)sqlite3_column_int64(st, 7);
        *slot = r;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return db_error(s, err, "reading actions");
    return 0;
}

/* Opens and checks the database; returns 1 when it is damaged or foreign. */
static int try_open(struct vl_state *s, const char *path, struct vl_error *err)
{
    /* one thread uses this connection (the loop): no SQLite mutexes; never
     * through a symbolic link (a link to a device would be written) */
    if (sqlite3_open_v2(path, &s->db,
                        (s->readonly ? SQLITE_OPEN_READONLY | (s->readonly == 2 ? SQLITE_OPEN_URI : 0)
                                     : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                            SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
                        NULL) !=
        SQLITE_OK)
        return vl_error_set(err, "cannot open state database %s: %s", path,
                            s->db ? sqlite3_errmsg(s->db) : "out of memory");
    vl_state_wait_for_writers(s->db);
    int version = 0;
    if (read_user_version(s->db, &version) < 0) {
        vl_error_set(err, "%s", sqlite3_errmsg(s->db));
        return 1;
    }
    if (version > SCHEMA_VERSION)
        return vl_error_set(err, "%s was written by a newer vlbuild (state schema %d, this one "
                                 "reads %d); use that version or delete the file",
                            path, version, SCHEMA_VERSION);
    if (!s->readonly &&
        exec_sql(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", err) < 0)
        return 1;
    if (version == 0) {
        /* new, or empty: check that it is not some other database */
        sqlite3_stmt *st;
        int foreign = 0;
        if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM sqlite_master WHERE name NOT IN "
                                      "('files','actions','video_meta')",
                               -1, &st, NULL) != SQLITE_OK) {
            vl_error_set(err, "%s", sqlite3_errmsg(s->db));
            return 1;
        }
        if (sqlite3_step(st) == SQLITE_ROW) foreign = sqlite3_column_int(st, 0) > 0;
        sqlite3_finalize(st);
        if (foreign) {
            vl_error_set(err, "it holds tables that vlbuild did not write");
            return 1;
        }
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version=%d;", SCHEMA_VERSION);
        if (exec_sql(s, schema_sql, err) < 0 || exec_sql(s, sql, err) < 0) return 1;
        version = SCHEMA_VERSION;
    } else if (version == 1 && !s->readonly) {
        /* an added column with no default rewrites no row: cheap on any size */
        if (exec_sql(s, "BEGIN IMMEDIATE; ALTER TABLE actions ADD COLUMN detail BLOB;"
                        " PRAGMA user_version=2; COMMIT;",
                     err) < 0) {
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return -1; /* a full disk, say: not a reason to move the file aside */
        }
        version = 2;
    }
    s->version = version;
    /* load() reads every page of both tables, so SQLite reports damage there
     * (SQLITE_CORRUPT) as it goes; a full integrity check on every open would
     * cost a no-op build more than all its planning. */
    if (load(s, err) < 0) return 1;
    return 0;
}

/* Closes the database and drops what was loaded (the caller's slots too). */
static void close_db(struct vl_state *s)
{
    s->index.clear(s->index.ctx);
    sqlite3_close(s->db);
    s->db = NULL;
    vl_arena_release(&s->arena);
}

static int prepare(struct vl_state *s, struct vl_error *err)
{
    static const char *const sql[] = {
        "INSERT OR REPLACE INTO files(path, dev, ino, size, mtime_ns, ctime_ns, hash, hashed_at) "
        "VALUES(?,?,?,?,?,?,?,?)",
        "INSERT OR REPLACE INTO actions(output, rule, key, outputs, exit_status, start_ns, end_ns,"
        " log, def_key, inputs, detail) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
        "DELETE FROM actions WHERE output=?",
        "DELETE FROM files WHERE path=?",
    };
    sqlite3_stmt **slots[] = {&s->put_file, &s->put_action, &s->del_action, &s->del_file};
    /* a read-only schema-1 file: never written, but the statement must prepare */
    static const char put_action_v1[] =
        "INSERT OR REPLACE INTO actions(output, rule, key, outputs, exit_status, start_ns, end_ns,"
        " log, def_key, inputs) VALUES(?,?,?,?,?,?,?,?,?,?)";
    const char *sql_of[4] = {sql[0], s->version < 2 ? put_action_v1 : sql[1], sql[2], sql[3]};
    for (size_t i = 0; i < 4; i++)
        if (sqlite3_prepare_v3(s->db, sql_of[i], -1, SQLITE_PREPARE_PERSISTENT, slots[i], NULL) !=
            SQLITE_OK)
            return db_error(s, err, "preparing statements");
    return 0;
}

/* "" (the database), "-wal", "-shm", then NULL: the files SQLite keeps. */
static const char *next_side_suffix(const char *suffix)
{
    return !*suffix ? "-wal" : suffix[1] == 'w' ? "-shm" : NULL;
}

/* 1 for the errors of a damaged or foreign file (not of a full disk). */
static int is_damage(int code)
{
    return (code & 0xff) == SQLITE_CORRUPT || (code & 0xff) == SQLITE_NOTADB;
}

/* Renames the closed database and its -wal and -shm to
 * <path>.corrupt-YYYYMMDD-HHMMSS[-wal|-shm] (kept for a post-mortem, never
 * read again) and warns, naming both and why (what). */
static int move_aside(struct vl_state *s, const char *what, struct vl_error *err)
{
    char stamp[32], aside[4200], msg[VL_ERROR_MAX + 8600];
    time_t now = time(NULL);
    struct tm tm;
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime_r(&now, &tm));
    snprintf(aside, sizeof aside, "%s.corrupt-%s", s->path, stamp);
    for (const char *suffix = ""; suffix; suffix = next_side_suffix(suffix)) {
        char from[4200], to[4300];
        snprintf(from, sizeof from, "%s%s", s->path, suffix);
        snprintf(to, sizeof to, "%s%s", aside, suffix);
        if (rename(from, to) != 0 && errno != ENOENT)
            return vl_error_set(err, "cannot move damaged %s aside to %s: %s", from, to,
                                strerror(errno));
    }
    snprintf(msg, sizeof msg, "%s %s; moved it to %s, and what it recorded will be rebuilt",
             s->path, what, aside);
    if (s->warn) s->warn(s->warn_ctx, msg);
    return 0;
}

static void finalize_statements(struct vl_state *s)
{
    sqlite3_stmt **all[] = {&s->put_file, &s->put_action, &s->del_action, &s->del_file,
                            &s->put_detail};
    for (size_t i = 0; i < 5; i++) {
        sqlite3_finalize(*all[i]);
        *all[i] = NULL;
    }
}

/* A write found the database damaged (pages the open did not read): moves
 * it aside and goes on with an empty one.  The records in memory stay, so
 * this build does not redo its work; those of the old file and of the
 * transaction lost with it are gone, so the next build re-verifies or
 * rebuilds their outputs.  1 (the caller retries its write), or -1. */
static int recover(struct vl_state *s, struct vl_error *err)
{
    char why[VL_ERROR_MAX + 64];
    snprintf(why, sizeof why, "is damaged (%s)", sqlite3_errmsg(s->db));
    finalize_statements(s);
    sqlite3_close(s->db);
    s->db = NULL;
    s->in_transaction = 0;
    if (move_aside(s, why, err) < 0) return -1;
    int rc = try_open(s, s->path, err);
    if (rc == 1) rc = -1;
    if (rc == 0) rc = prepare(s, err);
    return rc < 0 ? -1 : 1;
}

/* Ends an open whose try_open gave rc: prepares the statements and hands
 * s over, or frees it. */
static int finish_open(struct vl_state *s, int rc, struct vl_state **out, struct vl_error *err)
{
    if (rc == 0) rc = prepare(s, err);
    if (rc < 0) {
        vl_state_close(s);
        return -1;
    }
    *out = s;
    return 0;
}

int vl_state_open(const char *db_path, const struct vl_state_index *index,
                  void (*warn)(void *ctx, const char *msg), void *warn_ctx,
                  struct vl_state **out, struct vl_error *err)
{
    /* SQLite writes the database and its -wal and -shm in place: each must
     * be a regular file or missing, never a link, FIFO or device */
    for (const char *suffix = ""; suffix; suffix = next_side_suffix(suffix)) {
        char side[4200];
        snprintf(side, sizeof side, "%s%s", db_path, suffix);
        if (vl_check_replaceable(side, err) < 0) return -1;
    }
    struct vl_state *s = calloc(1, sizeof *s);
    if (!s) abort();
    s->index = *index;
    s->path = strdup(db_path);
    if (!s->path) abort();
    s->warn = warn;
    s->warn_ctx = warn_ctx;
    int rc = try_open(s, db_path, err);
    if (rc == 1) {
        char why[VL_ERROR_MAX + 64];
        snprintf(why, sizeof why, "is not a usable state database (%s)", err->msg);
        close_db(s);
        rc = move_aside(s, why, err);
        if (rc == 0) rc = try_open(s, db_path, err);
        if (rc == 1) rc = -1;
    }
    return finish_open(s, rc, out, err);
}

int vl_state_open_readonly(const char *db_path, const struct vl_state_index *index,
                           void (*warn)(void *ctx, const char *msg), void *warn_ctx,
                           struct vl_state **out, struct vl_error *err)
{
    struct vl_state *s = calloc(1, sizeof *s);
    if (!s) abort();
    s->index = *index;
    s->path = strdup(db_path);
    if (!s->path) abort();
    s->readonly = 1;
    int rc = access(db_path, F_OK) != 0 ? 1 : try_open(s, db_path, err);
    if (rc == 1 && access(db_path, F_OK) == 0) {
        /* a WAL database cannot be opened read-only where its -shm cannot
         * be made: read it as immutable (the -wal of a vlbuild that was
         * killed is then not read; a stale record only means a rebuild) */
        struct vl_strbuf uri = VL_STRBUF_INIT;
        vl_strbuf_adds(&uri, "file:");
        for (const char *c = db_path; *c; c++)
            if (*c == '%' || *c == '?' || *c == '#') vl_strbuf_addf(&uri, "%%%02X", *c);
            else vl_strbuf_addch(&uri, *c);
        vl_strbuf_adds(&uri, "?immutable=1");
        close_db(s);
        s->readonly = 2; /* the URI form */
        rc = try_open(s, uri.buf, err);
        s->readonly = 1;
        vl_strbuf_release(&uri);
    }
    if (rc == 1) {
        /* missing, empty or damaged: an empty database in memory, the
         * file left as it is */
        if (access(db_path, F_OK) == 0 && warn) {
            char msg[VL_ERROR_MAX + 4400];
            snprintf(msg, sizeof msg, "%s cannot be read (%s); everything counts as stale",
                     db_path, err->msg);
            warn(warn_ctx, msg);
        }
        close_db(s);
        s->readonly = 0;
        rc = try_open(s, ":memory:", err);
        if (rc == 1) rc = -1;
    }
    return finish_open(s, rc, out, err);
}

static int begin(struct vl_state *s, struct vl_error *err)
{
    if (s->in_transaction || s->readonly) return 0;
    if (exec_sql(s, "BEGIN IMMEDIATE", err) < 0) return -1;
    s->in_transaction = 1;
    return 0;
}

/* Steps and resets st: 0, -1 with a message, or 1 when the database was
 * found damaged and replaced (recover): the caller binds and steps again. */
static int step_reset(struct vl_state *s, sqlite3_stmt *st, struct vl_error *err, const char *what)
{
    int rc = s->readonly ? SQLITE_DONE : sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc == SQLITE_DONE) return 0;
    if (is_damage(rc) || is_damage(sqlite3_extended_errcode(s->db))) return recover(s, err);
    return db_error(s, err, what);
}

int vl_state_put_file(struct vl_state *s, const char *path, const struct vl_file_record *rec,
                      struct vl_error *err)
{
again:
    if (begin(s, err) < 0) return -1;
    sqlite3_stmt *st = s->put_file;
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)rec->st.dev);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)rec->st.ino);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)rec->st.size);
    sqlite3_bind_int64(st, 5, rec->st.mtime_ns);
    sqlite3_bind_int64(st, 6, rec->st.ctime_ns);
    sqlite3_bind_blob(st, 7, rec->hash.bytes, 16, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, rec->hashed_at_ns);
    int stepped = step_reset(s, st, err, "recording a file");
    if (stepped == 1) goto again;
    if (stepped < 0) return -1;
    struct vl_file_record **slot = file_slot(s, path, strlen(path));
    if (slot) {
        if (!*slot) *slot = VL_ARENA_NEW(&s->arena, struct vl_file_record);
        **slot = *rec;
    }
    return 0;
}

void vl_state_detail_add(struct vl_strbuf *sb, char tag, const char *text)
{
    vl_strbuf_addch(sb, tag);
    vl_strbuf_adds(sb, text);
    vl_strbuf_addch(sb, '\0');
}

const char *vl_state_detail_next(const char *detail, size_t len, size_t *pos, char *tag)
{
    if (*pos >= len) return NULL;
    const char *end = memchr(detail + *pos, '\0', len - *pos);
    if (!end) return NULL;
    *tag = detail[*pos];
    const char *text = detail + *pos + 1;
    *pos = (size_t)(end - detail) + 1;
    return text;
}

/* 1 when detail holds an output entry for path. */
static int writes_path(const char *detail, size_t len, const char *path)
{
    size_t pos = 0;
    char tag;
    const char *text;
    while ((text = vl_state_detail_next(detail, len, &pos, &tag)))
        if (tag == VL_DETAIL_OUTPUT && !strcmp(text, path)) return 1;
    return 0;
}

/* When the action that writes first_output is being recorded with another
 * definition than before, the outputs its earlier record named and the new
 * one does not (an `out` pattern changed) would be forgotten with the old
 * row: appends them to detail as dropped entries, so that `clean` still
 * finds them.  One read, only for an action whose definition changed. */
static void carry_dropped(struct vl_state *s, const char *first_output,
                          const struct vl_action_record *rec, struct vl_strbuf *detail)
{
    struct vl_action_record **slot = action_slot(s, first_output, strlen(first_output));
    if (s->version < 2 || !slot || !*slot || vl_hash_equal(&(*slot)->def_key, &rec->def_key))
        return;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT detail FROM actions WHERE output=?", -1, &st, NULL) !=
        SQLITE_OK)
        return; /* at worst, a dead output that clean will not see */
    sqlite3_bind_text(st, 1, first_output, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_blob(st, 0)) {
        const char *old = sqlite3_column_blob(st, 0);
        size_t len = (size_t)sqlite3_column_bytes(st, 0), pos = 0;
        char tag;
        const char *text;
        while ((text = vl_state_detail_next(old, len, &pos, &tag)))
            if ((tag == VL_DETAIL_OUTPUT || tag == VL_DETAIL_DROPPED) &&
                !writes_path(rec->detail, rec->detail_len, text))
                vl_state_detail_add(detail, VL_DETAIL_DROPPED, text);
    }
    sqlite3_finalize(st);
}

int vl_state_put_action(struct vl_state *s, const char *first_output, const char *rule,
                        const struct vl_action_record *rec, const char *log, size_t log_len,
                        struct vl_error *err)
{
    struct vl_strbuf detail = VL_STRBUF_INIT;
    if (rec->detail) vl_strbuf_add(&detail, rec->detail, rec->detail_len);
    if (!s->readonly) carry_dropped(s, first_output, rec, &detail);
again:
    if (begin(s, err) < 0) {
        vl_strbuf_release(&detail);
        return -1;
    }
    sqlite3_stmt *st = s->put_action;
    sqlite3_bind_text(st, 1, first_output, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, rule, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, rec->key.bytes, 16, SQLITE_STATIC);
    sqlite3_bind_blob(st, 4, rec->outputs, (int)(rec->n_outputs * 16), SQLITE_STATIC);
    sqlite3_bind_int(st, 5, rec->exit_status);
    sqlite3_bind_int64(st, 6, rec->start_ns);
    sqlite3_bind_int64(st, 7, rec->end_ns);
    sqlite3_bind_text(st, 8, log ? log : "", (int)log_len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 9, rec->def_key.bytes, 16, SQLITE_STATIC);
    sqlite3_bind_blob(st, 10, rec->inputs, (int)(rec->n_inputs * 16), SQLITE_STATIC);
    if (rec->detail) sqlite3_bind_blob(st, 11, detail.buf, (int)detail.len, SQLITE_STATIC);
    int stepped = step_reset(s, st, err, "recording an action");
    if (stepped == 1) goto again;
    size_t detail_len = detail.len;
    vl_strbuf_release(&detail);
    if (stepped < 0) return -1;
    struct vl_action_record **slot = action_slot(s, first_output, strlen(first_output));
    if (!slot) return 0;
    if (!*slot) *slot = VL_ARENA_NEW(&s->arena, struct vl_action_record);
    struct vl_action_record *copy = *slot;
    *copy = *rec;
    copy->outputs = VL_ARENA_ARRAY(&s->arena, struct vl_hash, rec->n_outputs);
    memcpy(copy->outputs, rec->outputs, rec->n_outputs * sizeof *rec->outputs);
    copy->inputs = NULL; /* details are read back on demand */
    copy->n_inputs = 0;
    copy->detail = NULL; /* kept on disk only */
    copy->detail_len = detail_len;
    return 0;
}

int vl_state_put_detail(struct vl_state *s, const char *path, const char *detail, size_t len,
                        struct vl_error *err)
{
    if (s->readonly || s->version < 2) return 0;
again:
    if (!s->put_detail &&
        sqlite3_prepare_v3(s->db, "UPDATE actions SET detail=? WHERE output=? AND detail IS NULL",
                           -1, SQLITE_PREPARE_PERSISTENT, &s->put_detail, NULL) != SQLITE_OK)
        return db_error(s, err, "preparing statements");
    if (begin(s, err) < 0) return -1;
    sqlite3_bind_blob(s->put_detail, 1, detail, (int)len, SQLITE_STATIC);
    sqlite3_bind_text(s->put_detail, 2, path, -1, SQLITE_STATIC);
    int stepped = step_reset(s, s->put_detail, err, "recording an action's detail");
    if (stepped == 1) goto again; /* recovered: the statement was finalized */
    if (stepped < 0) return -1;
    struct vl_action_record **slot = action_slot(s, path, strlen(path));
    if (slot && *slot) (*slot)->detail_len = len;
    return 0;
}

/* Runs the DELETE statement *st (re-read after a recover) for path. */
static int delete_row(struct vl_state *s, sqlite3_stmt *const *st, const char *path,
                      struct vl_error *err, const char *what)
{
    int stepped = 1;
    while (stepped == 1) {
        if (begin(s, err) < 0) return -1;
        sqlite3_bind_text(*st, 1, path, -1, SQLITE_STATIC);
        stepped = step_reset(s, *st, err, what);
    }
    return stepped;
}

int vl_state_forget_action(struct vl_state *s, const char *path, struct vl_error *err)
{
    /* a known path without a record has no row; an unknown one may */
    struct vl_action_record **slot = action_slot(s, path, strlen(path));
    if (slot && !*slot) return 0;
    if (delete_row(s, &s->del_action, path, err, "forgetting an action") < 0) return -1;
    if (slot) *slot = NULL;
    return 0;
}

int vl_state_forget_file(struct vl_state *s, const char *path, struct vl_error *err)
{
    struct vl_file_record **slot = file_slot(s, path, strlen(path));
    if (slot && !*slot) return 0;
    if (delete_row(s, &s->del_file, path, err, "forgetting a file") < 0) return -1;
    if (slot) *slot = NULL;
    return 0;
}

int vl_state_file_record(struct vl_state *s, const char *path, struct vl_file_record *rec,
                         struct vl_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT dev, ino, size, mtime_ns, ctime_ns, hash, hashed_at FROM files "
                           "WHERE path=?",
                           -1, &st, NULL) != SQLITE_OK)
        return db_error(s, err, "reading a file record");
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    int found = 0;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 5) == 16) {
        found = 1;
        memset(rec, 0, sizeof *rec);
        read_file_columns(st, 0, rec);
    }
    sqlite3_finalize(st);
    return found;
}

int vl_state_action_log(struct vl_state *s, const char *path, struct vl_strbuf *out,
                        struct vl_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT log FROM actions WHERE output=?", -1, &st, NULL) !=
        SQLITE_OK)
        return db_error(s, err, "reading a log");
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        vl_strbuf_add(out, sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0));
    sqlite3_finalize(st);
    return 0;
}

int vl_state_action_detail(struct vl_state *s, const char *path, struct vl_hash *def_key,
                           struct vl_hash **inputs, size_t *n_inputs, struct vl_strbuf *detail,
                           struct vl_error *err)
{
    sqlite3_stmt *st;
    *inputs = NULL;
    *n_inputs = 0;
    if (sqlite3_prepare_v2(s->db,
                           s->version < 2 ? "SELECT def_key, inputs, NULL FROM actions WHERE output=?"
                                          : "SELECT def_key, inputs, detail FROM actions WHERE output=?",
                           -1, &st, NULL) != SQLITE_OK)
        return db_error(s, err, "reading an action");
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    int found = 0;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 16 &&
        sqlite3_column_bytes(st, 1) % 16 == 0) {
        found = 1;
        memcpy(def_key->bytes, sqlite3_column_blob(st, 0), 16);
        size_t n = (size_t)sqlite3_column_bytes(st, 1) / 16;
        *inputs = malloc((n + 1) * sizeof **inputs);
        if (!*inputs) abort();
        if (n) memcpy(*inputs, sqlite3_column_blob(st, 1), n * 16);
        *n_inputs = n;
        if (sqlite3_column_blob(st, 2))
            vl_strbuf_add(detail, sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2));
    }
    sqlite3_finalize(st);
    return found ? 0 : vl_error_set(err, "no record of the action that writes %s", path);
}

int vl_state_commit(struct vl_state *s, struct vl_error *err)
{
    if (!s->in_transaction) return 0;
    s->in_transaction = 0;
    if (exec_sql(s, "COMMIT", err) == 0) return 0;
    if (!is_damage(sqlite3_extended_errcode(s->db))) return -1;
    /* what this transaction held is lost with the file: rebuilt next time */
    return recover(s, err) < 0 ? -1 : 0;
}

int vl_state_each_action(struct vl_state *s,
                         void (*fn)(void *ctx, const char *output, const char *rule,
                                    const struct vl_hash *outputs, size_t n_outputs,
                                    const char *detail, size_t detail_len),
                         void *ctx, struct vl_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           s->version < 2
                               ? "SELECT output, rule, outputs, NULL FROM actions ORDER BY output"
                               : "SELECT output, rule, outputs, detail FROM actions ORDER BY output",
                           -1, &st, NULL) != SQLITE_OK)
        return db_error(s, err, "listing actions");
    int rc;
    struct vl_hash *outs = NULL;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *output = (const char *)sqlite3_column_text(st, 0);
        const char *rule = (const char *)sqlite3_column_text(st, 1);
        size_t n = (size_t)sqlite3_column_bytes(st, 2);
        if (!output || n % 16) continue; /* not a row this vlbuild wrote */
        n /= 16;
        free(outs);
        outs = malloc((n + 1) * sizeof *outs);
        if (!outs) abort();
        if (n) memcpy(outs, sqlite3_column_blob(st, 2), n * 16);
        const char *detail = sqlite3_column_blob(st, 3);
        fn(ctx, output, rule ? rule : "", outs, n, detail,
           detail ? (size_t)sqlite3_column_bytes(st, 3) : 0);
    }
    free(outs);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : db_error(s, err, "listing actions");
}

int vl_state_read_actions(const char *db_path,
                          void (*fn)(void *ctx, const char *output, const char *rule,
                                     int64_t start_ns, int64_t end_ns),
                          void *ctx, struct vl_error *err)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc = -1;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        vl_error_set(err, "cannot open %s: %s", db_path, db ? sqlite3_errmsg(db) : "out of memory");
        goto done;
    }
    vl_state_wait_for_writers(db);
    if (sqlite3_prepare_v2(db, "SELECT output, rule, start_ns, end_ns FROM actions ORDER BY start_ns",
                           -1, &st, NULL) != SQLITE_OK) {
        vl_error_set(err, "%s: %s", db_path, sqlite3_errmsg(db));
        goto done;
    }
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        fn(ctx, (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
           sqlite3_column_int64(st, 2), sqlite3_column_int64(st, 3));
    if (step != SQLITE_DONE) {
        vl_error_set(err, "%s: %s", db_path, sqlite3_errmsg(db));
        goto done;
    }
    rc = 0;
done:
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

void vl_state_close(struct vl_state *s)
{
    if (!s) return;
    if (s->db) {
        struct vl_error ignored;
        vl_state_commit(s, &ignored);
        finalize_statements(s);
    }
    close_db(s);
    free(s->path);
    free(s);
}
