/* replay_main.c - the main() of a fuzz target's replay executable: runs the
 * target's LLVMFuzzerTestOneInput once on every input named on the command
 * line, with any compiler and no libFuzzer, so that ctest replays the seed
 * corpus and the committed crash inputs (tests/fuzz/NAME/crash-*) on every
 * build, the sanitizer build included.
 *
 * Usage: replay_NAME PATH...  (a PATH is a file or a folder of files; a
 * folder's files are run in name order, its dot files and subfolders left
 * out).  It prints each input before running it, so that a crash names the
 * input that caused it, then the count.  Exit status: 0 when every input ran;
 * 1 when a path cannot be read or no input was found (a replay that runs
 * nothing must not pass); a failing input aborts the process. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/fs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct replay_counts {
    size_t inputs;
    size_t crashes; /* inputs named crash-*: regressions of fixed finds */
};

/* Runs the target on the file at path.  The bytes are copied into a buffer
 * of exactly their size, as libFuzzer passes them, so that AddressSanitizer
 * catches a read one past the end (an empty input gets malloc(0), or
 * malloc(1) where that gives NULL: the target is never passed NULL).
 * Returns 0 or -1 (message printed). */
static int replay_file(const char *path, const char *name, struct replay_counts *counts)
{
    char *text;
    size_t n;
    struct vl_error err = {{0}};
    if (vl_read_file(path, &text, &n, &err) < 0) {
        fprintf(stderr, "replay: %s\n", err.msg);
        return -1;
    }
    uint8_t *data = malloc(n);
    if (!data && !(data = malloc(1))) abort();
    memcpy(data, text, n);
    free(text);
    fprintf(stderr, "replay: %s (%zu bytes)\n", path, n);
    LLVMFuzzerTestOneInput(data, n);
    free(data);
    counts->inputs++;
    if (!strncmp(name, "crash-", 6)) counts->crashes++;
    return 0;
}

/* Runs the target on path, a file or a folder of files.  Returns 0 or -1. */
static int replay_path(const char *path, struct replay_counts *counts)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        fprintf(stderr, "replay: cannot find %s\n", path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        const char *slash = strrchr(path, '/');
        return replay_file(path, slash ? slash + 1 : path, counts);
    }
    struct dirent **names;
    int n = scandir(path, &names, NULL, alphasort);
    if (n < 0) {
        fprintf(stderr, "replay: cannot list %s\n", path);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        char file[4096];
        if (name[0] != '.' && rc == 0 &&
            (size_t)snprintf(file, sizeof file, "%s/%s", path, name) < sizeof file &&
            stat(file, &st) == 0 && S_ISREG(st.st_mode))
            rc = replay_file(file, name, counts);
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    struct replay_counts counts = {0};
    for (int i = 1; i < argc; i++)
        if (replay_path(argv[i], &counts) < 0) return 1;
    printf("replay: %zu inputs, %zu of them crash inputs\n", counts.inputs, counts.crashes);
    if (counts.inputs == 0) {
        fprintf(stderr, "replay: no input found (usage: %s PATH...)\n", argv[0]);
        return 1;
    }
    return 0;
}
