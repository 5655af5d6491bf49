/* test_hostile_npy.c - .npy headers found by the fuzzer: each is refused with
 * a clear error, never read past its end (the sanitizer build checks that). */
#include <unistd.h>

#include "test.h"
#include "util/fs.h"
#include "video/npy.h"

int main(void)
{
    const char *base = getenv("VL_TEST_TMP");
    char dir[4096], path[4200], seed[4200];
    snprintf(dir, sizeof dir, "%s/hostile_npy.%d", base ? base : "/tmp", (int)getpid());
    struct vl_error err;
    CHECK(vl_mkdir_p(dir, &err) == 0);
    /* a NUL where the dtype should start: the error message once read past
     * the header while quoting the dtype */
    const char *src = getenv("VL_SOURCE_DIR");
    snprintf(seed, sizeof seed, "%s/tests/fuzz/npy/crash-nul-in-descr", src ? src : ".");
    char *data;
    size_t n;
    if (vl_read_file(seed, &data, &n, &err) < 0) TEST_SKIP("crash input not found");
    snprintf(path, sizeof path, "%s/nul.npy", dir);
    CHECK(vl_write_file_atomic(path, data, n, &err) == 0);
    free(data);
    struct vl_npy_array arr;
    CHECK(vl_npy_map(path, &arr, &err) < 0);
    CHECK_CONTAINS(err.msg, "unsupported .npy dtype");
    CHECK_CONTAINS(err.msg, "nul.npy");
    unlink(path);
    rmdir(dir);
    TEST_DONE();
}
