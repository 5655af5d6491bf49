/* test_engine_glob.c - `**` globs, hidden files, sorting. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "graph/glob.h"
#include "test.h"
#include "util/fs.h"

static void touch(const char *path)
{
    struct vl_error err;
    CHECK(vl_write_file_atomic(path, "x", 1, &err) == 0);
}

static size_t count(const char *pattern, struct vl_glob_result *r)
{
    struct vl_error err;
    vl_glob_release(r);
    CHECK(vl_glob(pattern, r, &err) == 0);
    vl_glob_sort_unique(r);
    return r->len;
}

int main(void)
{
    const char *base = getenv("VL_TEST_TMP");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/glob.%d", base ? base : "/tmp", (int)getpid());
    struct vl_error err;
    CHECK(vl_mkdir_p(dir, &err) == 0);
    CHECK(chdir(dir) == 0);
    touch("data/a.mp4");
    touch("data/b.mkv");
    touch("data/x/y/c.mp4");
    touch("data/x/.hidden.mp4");
    touch("data/.git/d.mp4");
    struct vl_glob_result r = {0};
    CHECK(count("data/*.mp4", &r) == 1);
    CHECK(count("data/**/*.mp4", &r) == 2);
    CHECK_STR(r.paths[0], "data/a.mp4");
    CHECK_STR(r.paths[1], "data/x/y/c.mp4");
    CHECK(count("./data/**", &r) == 3);
    CHECK(count("data/x/.*.mp4", &r) == 1);
    CHECK(count("data/?.m[kp][v4]", &r) == 2);
    CHECK(count("data/b.mkv", &r) == 1);
    CHECK(count("nothing/**/*.mp4", &r) == 0);
    vl_glob_release(&r);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    TEST_DONE();
}
