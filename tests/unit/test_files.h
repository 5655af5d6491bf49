/* test_files.h - a unit test's scratch folder and the files it writes there.
 *
 * test_dir_make("name") makes $VL_TEST_TMP/name.PID (or /tmp/...) as `dir`;
 * path_of() and write_text() name and write files in it; test_dir_remove()
 * deletes it.  Include after test.h, in one test file only (static state). */
#ifndef VL_TEST_FILES_H
#define VL_TEST_FILES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/fs.h"

static char dir[4096];

/* Makes the scratch folder `dir` for the test called name; aborts on failure. */
static inline void test_dir_make(const char *name)
{
    const char *base = getenv("VL_TEST_TMP") ? getenv("VL_TEST_TMP") : "/tmp";
    snprintf(dir, sizeof dir, "%s/%s.%d", base, name, (int)getpid());
    struct vl_error err;
    if (vl_mkdir_p(dir, &err) < 0) abort();
}

/* Returns dir/name, malloc'ed. */
static inline char *path_of(const char *name)
{
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    if (!p) abort();
    sprintf(p, "%s/%s", dir, name);
    return p;
}

/* Writes text as dir/name; aborts on failure. */
static inline void write_text(const char *name, const char *text)
{
    struct vl_error err;
    char *p = path_of(name);
    if (vl_write_file_atomic(p, text, strlen(text), &err) < 0) abort();
    free(p);
}

/* Removes the scratch folder; returns 0, or -1 (said on stderr) when it could not. */
static inline int test_dir_remove(void)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) == 0) return 0;
    fprintf(stderr, "could not remove %s\n", dir);
    return -1;
}

#endif
