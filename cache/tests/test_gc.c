/* test_gc.c - `cache gc --max-size` evicts least recently used entries first,
 * keeps blobs that a surviving entry still names, and clears leftovers. */
#include <sys/time.h>
#include <time.h>

#include "cache_test.h"

#define BLOB_SIZE 1000

/* Stores action `name` with one output of BLOB_SIZE bytes of `fill`, then
 * dates its entry `age_s` seconds back. */
static struct vl_hash store_aged(struct vl_cache *c, const char *cache_dir, const char *name,
                                 char fill, int age_s)
{
    char text[BLOB_SIZE + 1], path[64];
    memset(text, fill, BLOB_SIZE);
    text[BLOB_SIZE] = '\0';
    snprintf(path, sizeof path, "build/%s.bin", name);
    const char *outs[] = {path};
    struct vl_hash h = put_file(path, text), key = key_of(name);
    struct vl_error err;
    CHECK(vl_cache_store(c, &key, outs, &h, 1, &err) == 0);
    struct timeval tv[2];
    gettimeofday(&tv[0], NULL);
    tv[0].tv_sec -= age_s;
    tv[1] = tv[0];
    CHECK(utimes(store_path(cache_dir, "ac", &key), tv) == 0);
    return h;
}

static int restores(struct vl_cache *c, const char *name)
{
    char path[64];
    snprintf(path, sizeof path, "build/%s.bin", name);
    const char *outs[] = {path};
    struct vl_hash key = key_of(name), got;
    struct vl_error err;
    return vl_cache_restore(c, &key, outs, 1, &got, &err);
}

int main(void)
{
    const char *root = test_dir("cache_gc");
    char *cache_dir = sub_path(root, "cache");
    struct vl_cache_options o = options_for(cache_dir);
    struct vl_cache *c = open_cache(&o);

    store_aged(c, cache_dir, "a", 'a', 500);
    store_aged(c, cache_dir, "b", 'b', 400);
    store_aged(c, cache_dir, "c", 'c', 300);
    store_aged(c, cache_dir, "d", 'd', 200);
    /* "e" has the same content as "a": the blob must outlive a's entry */
    struct vl_hash shared = store_aged(c, cache_dir, "e", 'a', 100);
    /* using "b" makes it the most recently used */
    CHECK(restores(c, "b") == 1);

    /* an old blob no entry names, a fresh one (a store in progress), and a
     * temporary file left by a crash an hour ago */
    char junk_text[BLOB_SIZE + 1];
    memset(junk_text, 'j', BLOB_SIZE);
    junk_text[BLOB_SIZE] = '\0';
    struct vl_hash junk = vl_hash_bytes(junk_text, BLOB_SIZE);
    const char *junk_path = store_path(cache_dir, "cas", &junk);
    char *old_orphan = strdup(junk_path);
    put_file(old_orphan, junk_text);
    struct timeval old[2] = {{time(NULL) - 7200, 0}, {time(NULL) - 7200, 0}};
    CHECK(utimes(old_orphan, old) == 0);
    junk_text[0] = 'k';
    struct vl_hash fresh = vl_hash_bytes(junk_text, BLOB_SIZE);
    char *fresh_orphan = strdup(store_path(cache_dir, "cas", &fresh));
    put_file(fresh_orphan, junk_text);
    char *stale_tmp = sub_path(cache_dir, "tmp/1234-0-0.blob");
    put_file(stale_tmp, "half a blob");
    CHECK(utimes(stale_tmp, old) == 0);
    vl_cache_close(c);

    /* 6000 bytes of blobs (a = e, b, c, d, two orphans) and 5 small entries.
     * In LRU order: the old orphan, a, c, d, e, b.  Under 3500 bytes, gc
     * removes the orphan, a's entry (not its blob: e names it), c and d. */
    const char *out;
    CHECK(run_command(&o, &out, "gc", "--max-size", "3500") == 0);
    CHECK_CONTAINS(out, "removed 3 entries, 3 blobs");
    CHECK_CONTAINS(out, "1 stale temporary files");
    c = open_cache(&o);
    CHECK(access(old_orphan, F_OK) != 0);
    CHECK(access(fresh_orphan, F_OK) == 0); /* within the grace period */
    CHECK(access(stale_tmp, F_OK) != 0);
    CHECK(restores(c, "a") == 0);
    CHECK(restores(c, "c") == 0);
    CHECK(restores(c, "d") == 0);
    CHECK(restores(c, "b") == 1);
    CHECK(restores(c, "e") == 1);
    CHECK(access(store_path(cache_dir, "cas", &shared), F_OK) == 0);
    vl_cache_close(c);

    /* the limit 0 empties the store, apart from the blob still in its grace */
    CHECK(run_command(&o, &out, "gc", "--max-size=0", NULL) == 0);
    CHECK_CONTAINS(out, "removed 2 entries, 2 blobs");
    c = open_cache(&o);
    CHECK(restores(c, "b") == 0);
    vl_cache_close(c);
    CHECK(run_command(&o, &out, "stats", NULL, NULL) == 0);
    CHECK_CONTAINS(out, "entries:      0");
    CHECK_CONTAINS(out, "blobs:        1,");

    if (!vl_test_failures) remove_test_dir(root);
    free(old_orphan);
    free(fresh_orphan);
    free(stale_tmp);
    free(cache_dir);
    vl_strbuf_release(&warnings);
    TEST_DONE();
}
