/* test_concurrent.c - several processes share one store: writers of the same
 * and of different keys, readers, and gc at the same time.  Every restore
 * that hits gives the right bytes, nothing fails, and what remains is
 * consistent (verify finds nothing). */
#include "cache_test.h"

#define WRITERS 8
#define ROUNDS 25
#define SIZE 60000

static void fill(char *buf, const char *seed)
{
    struct vl_hash h = vl_hash_bytes(seed, strlen(seed));
    for (size_t i = 0; i < SIZE; i++)
        buf[i] = (char)('a' + (h.bytes[i % 16] + i) % 26);
    buf[SIZE] = '\0';
}

/* One writer: stores a key shared with every writer and one of its own per
 * round, and restores the shared one; exits with the number of failures. */
static int writer(const char *root, const char *cache_dir, int id)
{
    char dir[64];
    snprintf(dir, sizeof dir, "w%d", id);
    struct vl_error err;
    if (chdir(root) != 0 || vl_mkdir_p(dir, &err) < 0 || chdir(dir) != 0) return 1;
    struct vl_cache_options o = options_for(cache_dir);
    struct vl_cache *c = open_cache(&o);
    static char content[SIZE + 1], expect[SIZE + 1];
    int failures = 0;
    const char *outs[] = {"build/out.bin"};
    for (int round = 0; round < ROUNDS; round++) {
        char name[64];
        fill(content, "shared");
        struct vl_hash h = put_file(outs[0], content), key = key_of("shared");
        if (vl_cache_store(c, &key, outs, &h, 1, &err) < 0) failures++;
        snprintf(name, sizeof name, "own-%d-%d", id, round);
        fill(content, name);
        h = put_file(outs[0], content);
        key = key_of(name);
        if (vl_cache_store(c, &key, outs, &h, 1, &err) < 0) failures++;

        unlink(outs[0]);
        key = key_of("shared");
        struct vl_hash got;
        int rc = vl_cache_restore(c, &key, outs, 1, &got, &err);
        fill(expect, "shared");
        if (rc < 0 || (rc == 1 && strcmp(file_text(outs[0]), expect) != 0)) {
            fprintf(stderr, "writer %d: restore gave %d: %s\n", id, rc, rc < 0 ? err.msg : "");
            failures++;
        }
    }
    vl_cache_close(c);
    if (failures)
        fprintf(stderr, "writer %d: %d failures\nwarnings:\n%s", id, failures, warnings.buf);
    return failures ? 1 : 0;
}

static int gc_loop(const char *cache_dir)
{
    struct vl_cache_options o = options_for(cache_dir);
    int failures = 0;
    for (int i = 0; i < 20; i++) {
        const char *out;
        failures += run_command(&o, &out, "gc", "--max-size", "200K") != 0;
        usleep(2000);
    }
    return failures ? 1 : 0;
}

/* Starts the writers (and a gc loop when with_gc), waits; returns failures. */
static int run_all(const char *root, const char *cache_dir, int with_gc)
{
    pid_t pids[WRITERS + 1];
    int n = 0, failures = 0;
    for (int i = 0; i < WRITERS + with_gc; i++) {
        pid_t pid = fork();
        if (pid == 0) _exit(i < WRITERS ? writer(root, cache_dir, i) : gc_loop(cache_dir));
        if (pid < 0) abort();
        pids[n++] = pid;
    }
    for (int i = 0; i < n; i++) {
        int status;
        if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
            fprintf(stderr, "process %d failed (status %d)\n", i, status);
            failures++;
        }
    }
    return failures;
}

int main(void)
{
    const char *root_tmp = test_dir("cache_concurrent");
    char *root = strdup(root_tmp);
    char *cache_dir = sub_path(root, "cache"), *tmp_dir = sub_path(cache_dir, "tmp");

    /* writers only: every entry and blob survives, consistent */
    CHECK(run_all(root, cache_dir, 0) == 0);
    struct vl_cache_options o = options_for(cache_dir);
    const char *out;
    CHECK(run_command(&o, &out, "verify", NULL, NULL) == 0);
    CHECK_CONTAINS(out, "0 damaged blobs, 0 bad entries");
    CHECK(count_files(tmp_dir) == 0);
    struct vl_cache *c = open_cache(&o);
    static char expect[SIZE + 1];
    int all = 1;
    for (int id = 0; id < WRITERS; id++) {
        for (int round = 0; round < ROUNDS; round++) {
            char name[64];
            snprintf(name, sizeof name, "own-%d-%d", id, round);
            struct vl_hash key = key_of(name), got;
            struct vl_error err;
            const char *path[] = {"build/out.bin"};
            fill(expect, name);
            all &= vl_cache_restore(c, &key, path, 1, &got, &err) == 1 &&
                   strcmp(file_text(path[0]), expect) == 0;
        }
    }
    CHECK(all);
    vl_cache_close(c);

    /* and with gc running all along: misses are allowed, wrong bytes and
     * errors are not; afterwards at most entries whose blobs gc took */
    CHECK(run_all(root, cache_dir, 1) == 0);
    run_command(&o, &out, "verify", NULL, NULL);
    CHECK_CONTAINS(out, "0 damaged blobs");
    CHECK(run_command(&o, &out, "verify", NULL, NULL) == 0);
    CHECK(count_files(tmp_dir) == 0);

    if (!vl_test_failures) remove_test_dir(root);
    free(tmp_dir);
    free(cache_dir);
    free(root);
    vl_strbuf_release(&warnings);
    TEST_DONE();
}
