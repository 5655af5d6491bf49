/* test_writers_full_disk.c - every writer on a disk that fills up: the .npy
 * writer (whose last bytes fail only at fclose), the clip writer and
 * vl_write_file_atomic (safetensors, reports, traces) each fail once, with
 * a message naming the file and the errno, close their file once (a second
 * fclose is a double free) and leave no temporary.  RLIMIT_FSIZE stands in
 * for the full disk: a write past it fails with EFBIG, needing no root. */
#include "test.h"
#include "test_video_fixtures.h"
#include "util/fs.h"
#include "video/clipwriter.h"
#include "video/npy.h"

#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

static struct rlimit saved;

/* Files larger than bytes cannot be written until disk_roomy(). */
static void disk_full_at(rlim_t bytes)
{
    struct rlimit r = saved;
    r.rlim_cur = bytes;
    CHECK(setrlimit(RLIMIT_FSIZE, &r) == 0);
}

static void disk_roomy(void)
{
    CHECK(setrlimit(RLIMIT_FSIZE, &saved) == 0);
}

/* How many entries of dir hold ".vltmp." (the writers' temporaries). */
static int temporaries_in(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, ".vltmp.")) n++;
    if (d) closedir(d);
    return n;
}

int main(void)
{
    signal(SIGXFSZ, SIG_IGN); /* the write fails with EFBIG instead of killing us */
    CHECK(getrlimit(RLIMIT_FSIZE, &saved) == 0);
    const char *dir = fixture_dir("writers_full_disk");
    char path[1200];
    struct vl_error err;

    /* .npy: 45 bytes of data sit in stdio's buffer until fclose fails */
    snprintf(path, sizeof path, "%s/small.npy", dir);
    uint64_t shape[4] = {1, 3, 5, 3};
    uint8_t frame[45] = {0};
    struct vl_npy_writer *w;
    disk_full_at(64);
    CHECK(vl_npy_open(path, VL_NPY_U8, shape, 4, &w, &err) == 0);
    CHECK(vl_npy_append(w, frame, sizeof frame, &err) == 0);
    CHECK(vl_npy_close(w, &err) < 0);
    disk_roomy();
    CHECK_CONTAINS(err.msg, path);
    CHECK_CONTAINS(err.msg, "File too large");
    CHECK(access(path, F_OK) != 0);
    CHECK(temporaries_in(dir) == 0);

    /* .npy, the whole-array call, failing in fwrite itself */
    snprintf(path, sizeof path, "%s/big.npy", dir);
    uint64_t big_shape[1] = {1 << 20};
    uint8_t *big = calloc(1, 1 << 20);
    disk_full_at(4096);
    CHECK(vl_npy_write(path, VL_NPY_U8, big_shape, 1, big, &err) < 0);
    disk_roomy();
    free(big);
    CHECK_CONTAINS(err.msg, path);
    CHECK_CONTAINS(err.msg, "File too large");
    CHECK(access(path, F_OK) != 0);
    CHECK(temporaries_in(dir) == 0);

    /* a clip: FFV1 frames of noise fill the disk in the muxer */
    snprintf(path, sizeof path, "%s/clip.mkv", dir);
    struct vl_clipwriter_opts o = {.codec = VL_CLIP_FFV1, .width = 64, .height = 48, .crf = -1};
    struct vl_clipwriter *cw;
    disk_full_at(8192);
    int rc = vl_clipwriter_open(path, &o, &cw, &err);
    if (rc == 0) {
        uint8_t rgb[64 * 48 * 3];
        unsigned seed = 1;
        for (int i = 0; i < 30 && rc == 0; i++) {
            for (size_t k = 0; k < sizeof rgb; k++) rgb[k] = (uint8_t)(rand_r(&seed) >> 7);
            rc = vl_clipwriter_write(cw, rgb, &err);
        }
        if (rc == 0) rc = vl_clipwriter_close(cw, &err);
        else vl_clipwriter_abort(cw);
    }
    disk_roomy();
    CHECK(rc < 0);
    CHECK_CONTAINS(err.msg, path);
    CHECK_CONTAINS(err.msg, "File too large");
    CHECK(access(path, F_OK) != 0);
    CHECK(temporaries_in(dir) == 0);

    /* vl_write_file_atomic: the write fails; the old file stays whole */
    snprintf(path, sizeof path, "%s/report.html", dir);
    CHECK(vl_write_file_atomic(path, "old\n", 4, &err) == 0);
    char text[8192];
    memset(text, 'x', sizeof text);
    disk_full_at(1024);
    CHECK(vl_write_file_atomic(path, text, sizeof text, &err) < 0);
    disk_roomy();
    CHECK_CONTAINS(err.msg, path);
    CHECK_CONTAINS(err.msg, "File too large");
    char *back = NULL;
    size_t n = 0;
    CHECK(vl_read_file(path, &back, &n, &err) == 0);
    CHECK(n == 4 && back && !memcmp(back, "old\n", 4));
    free(back);
    CHECK(temporaries_in(dir) == 0);
    TEST_DONE();
}
