/* test_util_fs.c - the file helpers refuse what is not a regular file and
 * stop hashing when asked: a FIFO never blocks, a set cancel flag ends a
 * long hash, and the fingerprint of a file is the same either way. */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "util/fs.h"

static char dir[512];

static void path_of(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

static void test_a_fifo_is_refused_without_blocking(void)
{
    char fifo[600];
    path_of(fifo, sizeof fifo, "fifo");
    CHECK(mkfifo(fifo, 0600) == 0);
    struct vl_error err;
    struct vl_stat st;
    struct vl_hash h;
    alarm(10); /* a blocking open would hang here: SIGALRM fails the test */
    CHECK(vl_stat_path(fifo, &st, &err) == -1);
    CHECK_CONTAINS(err.msg, "is a FIFO, not a regular file");
    CHECK(vl_hash_file(fifo, &h, &err) == -1);
    CHECK_CONTAINS(err.msg, "is a FIFO, not a regular file");
    alarm(0);
}

static void test_a_device_is_refused(void)
{
    struct vl_error err;
    struct vl_stat st;
    struct vl_hash h;
    CHECK(vl_stat_path("/dev/zero", &st, &err) == -1);
    CHECK_CONTAINS(err.msg, "is a device, not a regular file");
    CHECK(vl_hash_file("/dev/zero", &h, &err) == -1);
    CHECK_CONTAINS(err.msg, "/dev/zero");
}

static void test_cancel_stops_a_hash_and_an_unset_flag_changes_nothing(void)
{
    char big[600];
    path_of(big, sizeof big, "big");
    FILE *f = fopen(big, "wb");
    CHECK(f != NULL);
    static char block[1 << 20];
    for (int i = 0; i < 40; i++) block[i] = (char)i, fwrite(block, 1, sizeof block, f);
    fclose(f);
    struct vl_error err;
    struct vl_hash plain, until;
    atomic_int cancel = 0;
    CHECK(vl_hash_file(big, &plain, &err) == 0);
    CHECK(vl_hash_file_until(big, &cancel, &until, &err) == 0);
    CHECK(vl_hash_equal(&plain, &until));
    atomic_store(&cancel, 1);
    CHECK(vl_hash_file_until(big, &cancel, &until, &err) == -1);
    CHECK_CONTAINS(err.msg, "hashing cancelled");
    unlink(big);
}

int main(void)
{
    const char *tmp = getenv("VL_TEST_TMP");
    snprintf(dir, sizeof dir, "%s/test_util_fs.%d", tmp ? tmp : "/tmp", (int)getpid());
    struct vl_error err;
    CHECK(vl_mkdir_p(dir, &err) == 0);
    test_a_fifo_is_refused_without_blocking();
    test_a_device_is_refused();
    test_cancel_stops_a_hash_and_an_unset_flag_changes_nothing();
    char fifo[600];
    path_of(fifo, sizeof fifo, "fifo");
    unlink(fifo);
    rmdir(dir);
    TEST_DONE();
}
