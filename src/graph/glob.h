/* glob.h - file-name patterns with `**`, for `source` sets. */
#ifndef VL_GLOB_H
#define VL_GLOB_H

#include <stddef.h>

#include "util/error.h"

struct vl_glob_result {
    char **paths; /* malloc'd, sorted, unique */
    size_t len, cap;
    char **cycles; /* malloc'd: the links skipped because they lead back up */
    size_t n_cycles, cap_cycles;
    /* Set by the caller, or NULL: the walk reads a folder to match its
     * entries against a pattern's last segment, and a regular file there
     * that the segment does not take, that is not hidden and whose name
     * wanted() accepts, goes into others (malloc'd, in walk order, with
     * repeats when two patterns read one folder).  It costs no extra read. */
    int (*wanted)(const char *name);
    char **others;
    size_t n_others, cap_others;
};

/* Appends to out every regular file matching pattern, a path relative to the
 * current directory (or absolute) in which `*`, `?` and `[...]` match within
 * one path component, `{a,b}` matches either alternative (within one
 * component, nested, empty alternatives allowed; see vl_glob_check) and a
 * `**` component matches any number of directories.
 * Hidden entries (a leading '.') match only a pattern segment that starts
 * with '.'.  A pattern without wildcards matches that file if it exists.
 * Symbolic links to folders are followed, except one that leads to a folder
 * the walk is already in (a cycle): it is skipped and named in out->cycles.
 * Consecutive `**` components are one. */
int vl_glob(const char *pattern, struct vl_glob_result *out, struct vl_error *err);
/* Checks the braces of pattern: 0, or -1 with the reason in err and in *at
 * the byte offset of the brace it is about ('{' without '}', a '}' without
 * '{', a group with no ',', a '/' inside a group, more than 16 levels or
 * more than 1024 alternatives in one component).  `\{`, `\}` and braces in a
 * `[...]` are ordinary characters. */
int vl_glob_check(const char *pattern, size_t *at, struct vl_error *err);
/* 1 when vl_glob(pattern) would find path if it existed as a regular file:
 * pattern one that vl_glob_check accepts, both relative to the same
 * directory, normalised (graph/path.h), with no symbolic links on the way.
 * Used to catch a rule output that a source would take for one of its
 * files. */
int vl_glob_match(const char *pattern, const char *path);
/* Sorts the paths and drops duplicates. */
void vl_glob_sort_unique(struct vl_glob_result *r);
/* Frees the paths, the cycles and the others. */
void vl_glob_release(struct vl_glob_result *r);

#endif
