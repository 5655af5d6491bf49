/* metacmd.h - `vlbuild meta [--json] FILE...`: video metadata from the cache. */
#ifndef VL_VIDEO_METACMD_H
#define VL_VIDEO_METACMD_H

/* Runs `meta` with argv[0] = "meta": prints one table row per file (or a
 * JSON array with --json) on stdout, probing and caching in the state.db at
 * state_path (NULL: no cache) on a miss.  Returns the exit status: 0, 1 when
 * any file failed (each named on stderr), 2 on a usage error. */
int vl_meta_command(int argc, char **argv, const char *state_path);

#endif
