/* metacache.h - video metadata cached in state.db, keyed by content.
 *
 * A video is probed once in its life: the key is the XXH3-128 fingerprint
 * of its content, so a renamed or copied file hits the cache, and an edited
 * one misses it.  Each struct vl_metacache owns its own SQLite connection
 * and is used by one thread at a time (open one per worker job). */
#ifndef VL_VIDEO_METACACHE_H
#define VL_VIDEO_METACACHE_H

#include <stdint.h>

#include "util/error.h"
#include "util/fs.h"
#include "util/strbuf.h"

struct vl_metacache;

/* Opens (creating if needed) the video_meta table of the SQLite database at
 * state_path; *out is freed by vl_metacache_close. */
int vl_metacache_open(const char *state_path, struct vl_metacache **out, struct vl_error *err);
/* Closes the connection and frees c (NULL is fine). */
void vl_metacache_close(struct vl_metacache *c);
/* Looks up hash: returns 1 and appends the JSON to json on a hit, 0 on a
 * miss, -1 on a database error. */
int vl_metacache_get(struct vl_metacache *c, const struct vl_hash *hash, struct vl_strbuf *json,
                     struct vl_error *err);
/* Stores (or replaces) the JSON of hash; json must come from vl_meta_to_json. */
int vl_metacache_put(struct vl_metacache *c, const struct vl_hash *hash, const char *json,
                     struct vl_error *err);
/* Records that a decode pass found frames frames for hash: rewrites the
 * JSON's frame count, marks it corrected.  A missing entry is not an error. */
int vl_metacache_correct_frames(struct vl_metacache *c, const struct vl_hash *hash, int64_t frames,
                                struct vl_error *err);

/* The one call actions use: the metadata JSON of the file at path whose
 * fingerprint is hash, from the cache at state_path (NULL: no cache), probing
 * and storing it on a miss.  *hit says whether the cache answered. */
int vl_video_meta_lookup(const char *state_path, const char *path, const struct vl_hash *hash,
                         struct vl_strbuf *json, int *hit, struct vl_error *err);

/* The most frames vlbuild believes a video has (about 38 days at 30 fps): a
 * damaged or hand-edited cache row must not make an action allocate or
 * write without end. */
#define VL_VIDEO_MAX_FRAMES 100000000LL

struct vl_video_meta;

/* vl_video_meta_lookup, parsed, and checked to be plausible: at least one
 * frame, a picture size, at most VL_VIDEO_MAX_FRAMES.  Errors name path. */
int vl_video_meta_get(const char *state_path, const char *path, const struct vl_hash *hash,
                      struct vl_video_meta *meta, struct vl_error *err);

/* After a full decode of path delivered `decoded` frames where the metadata
 * said `expected`: records the true count in the cache when they differ
 * (the cache then tells the truth from now on), and fails when the decode
 * fell short by more than a few frames (more than 16, and more than a tenth)
 * so that an action does not pad an output with copies of its last frame. */
int vl_video_meta_check_decoded(const char *state_path, const char *path,
                                const struct vl_hash *hash, int64_t expected, int64_t decoded,
                                struct vl_error *err);

#endif
