/* test_blob_race.c - threads that install the same blob again and again
 * (as concurrent downloads of one output's content do) while others
 * restore outputs from it: every restore must find the blob.  When a
 * second install replaced the blob by rename(2), a restore's link(2) of
 * the name whose old inode was losing its last link failed with ENOENT,
 * and the restore reported the blob missing. */
#include <pthread.h>

#include "cache/entry.h"
#include "cache/local.h"
#include "cache_test.h"

#define THREADS 4
#define ROUNDS 400

static struct vl_cache_local store;
static const char content[] = "{\"version\":1,\"shape\":[8,32,32,3]}\n";
static struct vl_hash blob_hash;
static int failures;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void failed(int id, int round, const char *what)
{
    pthread_mutex_lock(&lock);
    if (failures++ < 5) fprintf(stderr, "thread %d round %d: %s\n", id, round, what);
    pthread_mutex_unlock(&lock);
}

/* Installs a fresh copy of the blob, then restores an output from it. */
static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    char out[64];
    snprintf(out, sizeof out, "out/%d/meta.json", id);
    struct vl_cache_output o = {blob_hash, sizeof content - 1, 0644, out};
    struct vl_cache_entry e = {&o, 1};
    const char *outs[] = {out};
    for (int round = 0; round < ROUNDS; round++) {
        struct vl_strbuf tmp = VL_STRBUF_INIT;
        struct vl_error err, why = {{0}};
        vl_cache_local_tmp_path(&store, "download", &tmp);
        if (vl_write_file_atomic(tmp.buf, content, sizeof content - 1, &err) < 0 ||
            vl_cache_local_install_blob(&store, tmp.buf, &blob_hash, &err) < 0) {
            failed(id, round, err.msg);
        } else {
            struct vl_hash got;
            int rc = vl_cache_local_restore(&store, &e, outs, 1, 0, &got, &why, &err);
            if (rc != 1) failed(id, round, rc < 0 ? err.msg : why.msg);
        }
        vl_strbuf_release(&tmp);
    }
    return NULL;
}

int main(void)
{
    const char *root = test_dir("cache_blob_race");
    struct vl_error err;
    CHECK(vl_cache_local_open(&store, "cache", 1, NULL, &err) == 0);
    blob_hash = vl_hash_bytes(content, sizeof content - 1);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        CHECK(pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i) == 0);
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    CHECK(failures == 0);
    vl_cache_local_close(&store);
    remove_test_dir(root);
    TEST_DONE();
}
