/* metacache.c - the video metadata cache in state.db.
 *
 * Table (shared with the engine's schema, which creates it too):
 *   video_meta(hash TEXT PRIMARY KEY,      -- 32 hex digits, XXH3-128 of the content
 *              json TEXT NOT NULL,         -- vl_meta_to_json, version VL_META_VERSION
 *              frames INTEGER NOT NULL,    -- the frame count, also inside json
 *              corrected INTEGER NOT NULL DEFAULT 0,  -- 1 once a decode pass corrected it
 *              probed_at INTEGER NOT NULL, -- unix seconds of the probe
 *              seal TEXT NOT NULL DEFAULT '')  -- see below
 * A row is believed only when its seal is right: 32 hex digits of the
 * XXH3-128 of "vlbuild.video_meta.1", NUL, the hash column, NUL, the json
 * column.  A row damaged on disk or edited by hand (a frame count of 5 for a
 * 24-frame video) fails the seal and the video is probed again, its row
 * replaced.  The seal is not a signature: whoever can write state.db and
 * knows this comment can forge one; it makes damage detectable, not
 * impossible.  A row of a database made before the seal column (added by
 * vl_metacache_open) has an empty seal and is probed again once.
 * The database runs in WAL mode, and each connection waits up to 10 s for
 * another writer (vl_state_wait_for_writers), so workers on several threads
 * (each with its own connection) and the engine share it. */
#include "video/metacache.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "state/state.h"
#include "video/probe.h"

#define SCHEMA                                                                                     \
    "CREATE TABLE IF NOT EXISTS video_meta(hash TEXT PRIMARY KEY, json TEXT NOT NULL, frames "     \
    "INTEGER NOT NULL, corrected INTEGER NOT NULL DEFAULT 0, probed_at INTEGER NOT NULL, "      \
    "seal TEXT NOT NULL DEFAULT '')"
#define SEAL_TAG "vlbuild.video_meta.1"

struct vl_metacache {
    sqlite3 *db;
    char *path;
};

static int db_fail(struct vl_metacache *c, const char *what, struct vl_error *err)
{
    return vl_error_set(err, "%s: %s: %s", c->path, what, sqlite3_errmsg(c->db));
}

/* The seal of a row (see the top of the file) as 32 hex digits. */
static void row_seal(const char *hex, const char *json, char out[33])
{
    XXH3_state_t *st = XXH3_createState();
    if (!st) abort();
    XXH3_128bits_reset(st);
    XXH3_128bits_update(st, SEAL_TAG, sizeof SEAL_TAG); /* with its NUL */
    XXH3_128bits_update(st, hex, 32);
    XXH3_128bits_update(st, "", 1);
    XXH3_128bits_update(st, json, strlen(json));
    struct vl_hash h;
    XXH128_canonicalFromHash((XXH128_canonical_t *)h.bytes, XXH3_128bits_digest(st));
    XXH3_freeState(st);
    vl_hash_hex(&h, out);
}

static int has_seal_column(sqlite3 *db)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT seal FROM video_meta LIMIT 0", -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_finalize(st);
    return 1;
}

int vl_metacache_open(const char *state_path, struct vl_metacache **out, struct vl_error *err)
{
    struct vl_metacache *c = calloc(1, sizeof *c);
    if (!c) abort();
    c->path = strdup(state_path);
    if (!c->path) abort();
    *out = NULL;
    if (vl_mkdir_parents(state_path, err) < 0) goto fail;
    if (sqlite3_open_v2(state_path, &c->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        db_fail(c, "cannot open", err);
        goto fail;
    }
    vl_state_wait_for_writers(c->db);
    if (sqlite3_exec(c->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(c->db, SCHEMA, NULL, NULL, NULL) != SQLITE_OK) {
        db_fail(c, "cannot create the video_meta table", err);
        goto fail;
    }
    if (!has_seal_column(c->db) &&
        sqlite3_exec(c->db, "ALTER TABLE video_meta ADD COLUMN seal TEXT NOT NULL DEFAULT ''",
                     NULL, NULL, NULL) != SQLITE_OK && !has_seal_column(c->db)) {
        db_fail(c, "cannot add the seal column to video_meta", err);
        goto fail;
    }
    *out = c;
    return 0;
fail:
    vl_metacache_close(c);
    return -1;
}

void vl_metacache_close(struct vl_metacache *c)
{
    if (!c) return;
    sqlite3_close(c->db);
    free(c->path);
    free(c);
}

int vl_metacache_get(struct vl_metacache *c, const struct vl_hash *hash, struct vl_strbuf *json,
                     struct vl_error *err)
{
    char hex[33];
    sqlite3_stmt *st;
    vl_hash_hex(hash, hex);
    if (sqlite3_prepare_v2(c->db, "SELECT json, seal FROM video_meta WHERE hash = ?1", -1, &st,
                           NULL))
        return db_fail(c, "cannot read video_meta", err);
    sqlite3_bind_text(st, 1, hex, 32, SQLITE_STATIC);
    int r = sqlite3_step(st), rc = 0;
    if (r == SQLITE_ROW) {
        const char *row_json = (const char *)sqlite3_column_text(st, 0);
        const char *seal = (const char *)sqlite3_column_text(st, 1);
        char want[33];
        if (row_json && seal) row_seal(hex, row_json, want);
        if (row_json && seal && !strcmp(seal, want)) { /* else damaged: a miss */
            vl_strbuf_adds(json, row_json);
            rc = 1;
        }
    } else if (r != SQLITE_DONE) {
        rc = db_fail(c, "cannot read video_meta", err);
    }
    sqlite3_finalize(st);
    return rc;
}

static int store(struct vl_metacache *c, const char *hex, const char *json, int64_t frames,
                 int corrected, struct vl_error *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(c->db,
                           "INSERT OR REPLACE INTO video_meta(hash, json, frames, corrected, "
                           "probed_at, seal) VALUES(?1, ?2, ?3, ?4, strftime('%s','now'), ?5)",
                           -1, &st, NULL))
        return db_fail(c, "cannot write video_meta", err);
    char seal[33];
    row_seal(hex, json, seal);
    sqlite3_bind_text(st, 1, hex, 32, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, json, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, frames);
    sqlite3_bind_int(st, 4, corrected);
    sqlite3_bind_text(st, 5, seal, 32, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(c, "cannot write video_meta", err);
    sqlite3_finalize(st);
    return rc;
}

int vl_metacache_put(struct vl_metacache *c, const struct vl_hash *hash, const char *json,
                     struct vl_error *err)
{
    struct vl_video_meta m;
    char hex[33];
    if (vl_meta_from_json(json, &m, err) < 0) return -1;
    vl_hash_hex(hash, hex);
    return store(c, hex, json, m.frames, m.frames_corrected, err);
}

int vl_metacache_correct_frames(struct vl_metacache *c, const struct vl_hash *hash, int64_t frames,
                                struct vl_error *err)
{
    struct vl_strbuf json = VL_STRBUF_INIT;
    struct vl_video_meta m;
    char hex[33];
    int r = vl_metacache_get(c, hash, &json, err);
    if (r <= 0 || vl_meta_from_json(json.buf, &m, err) < 0) {
        vl_strbuf_release(&json);
        return r < 0 ? -1 : 0; /* a missing or unreadable entry is simply probed again */
    }
    int rc = 0;
    if (m.frames != frames) {
        m.frames = frames;
        m.frames_corrected = 1;
        if (m.duration > 0 && !(m.avg_fps_num > 0 && m.avg_fps_den > 0))
            m.fps = (double)frames / m.duration;
        vl_strbuf_reset(&json);
        vl_meta_to_json(&m, &json);
        vl_hash_hex(hash, hex);
        rc = store(c, hex, json.buf, frames, 1, err);
    }
    vl_strbuf_release(&json);
    return rc;
}

static void cache_warning(const char *video, const struct vl_error *err)
{
    fprintf(stderr, "vlbuild: warning: %s: the metadata cache is not used: %s\n", video, err->msg);
}

int vl_video_meta_lookup(const char *state_path, const char *path, const struct vl_hash *hash,
                         struct vl_strbuf *json, int *hit, struct vl_error *err)
{
    struct vl_metacache *c = NULL;
    struct vl_error cache_err;
    *hit = 0;
    /* the cache only saves work: when it cannot be opened, read or written
     * (another writer held state.db past the busy limit, a read-only
     * checkout), the video is probed and the build goes on, with a warning */
    if (state_path && vl_metacache_open(state_path, &c, &cache_err) < 0)
        cache_warning(path, &cache_err);
    int rc = 0;
    if (c) {
        size_t start = json->len;
        rc = vl_metacache_get(c, hash, json, &cache_err);
        if (rc < 0) cache_warning(path, &cache_err), rc = 0;
        if (rc == 1) {
            struct vl_video_meta m;
            if (vl_meta_from_json(json->buf + start, &m, NULL) == 0) {
                *hit = 1;
                vl_metacache_close(c);
                return 0;
            }
            json->len = start; /* an entry of an older layout: probe again */
            json->buf[start] = '\0';
        }
    }
    if (rc >= 0) {
        struct vl_video_meta m;
        rc = vl_probe_file(path, &m, err);
        if (rc == 0) {
            size_t start = json->len;
            vl_meta_to_json(&m, json);
            if (c && vl_metacache_put(c, hash, json->buf + start, &cache_err) < 0)
                cache_warning(path, &cache_err);
        }
    }
    vl_metacache_close(c);
    return rc < 0 ? -1 : 0;
}

int vl_video_meta_get(const char *state_path, const char *path, const struct vl_hash *hash,
                      struct vl_video_meta *meta, struct vl_error *err)
{
    struct vl_strbuf json = VL_STRBUF_INIT;
    int hit = 0;
    int rc = vl_video_meta_lookup(state_path, path, hash, &json, &hit, err);
    if (rc == 0 && vl_meta_from_json(json.buf, meta, err) < 0)
        rc = vl_error_prefix(err, "%s: metadata", path);
    vl_strbuf_release(&json);
    if (rc < 0) return -1;
    if (meta->frames <= 0 || meta->width <= 0 || meta->height <= 0)
        return vl_error_set(err, "%s: no video frames", path);
    if (meta->frames > VL_VIDEO_MAX_FRAMES)
        return vl_error_set(err, "%s: the metadata says %lld frames, more than vlbuild believes "
                                 "(%lld); `vlbuild meta %s` probes it again",
                            path, (long long)meta->frames, VL_VIDEO_MAX_FRAMES, path);
    return 0;
}

int vl_video_meta_check_decoded(const char *state_path, const char *path,
                                const struct vl_hash *hash, int64_t expected, int64_t decoded,
                                struct vl_error *err)
{
    if (decoded == expected) return 0;
    if (state_path) {
        struct vl_metacache *c;
        struct vl_error ignored;
        if (vl_metacache_open(state_path, &c, &ignored) == 0) {
            vl_metacache_correct_frames(c, hash, decoded, &ignored);
            vl_metacache_close(c);
        }
    }
    int64_t short_by = expected - decoded;
    if (short_by > 16 && short_by * 10 > expected)
        return vl_error_set(err, "%s: the metadata said %lld frames but a full decode gave %lld; "
                                 "the cache now holds the true count: run the build again",
                            path, (long long)expected, (long long)decoded);
    return 0;
}
