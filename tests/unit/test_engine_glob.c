/* test_engine_glob.c - `**` globs, hidden files, sorting, brace alternatives,
 * the near misses a walk collects. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

/* The error vl_glob_check gives pattern, and the offset it names. */
static const char *check_error(const char *pattern, size_t *at)
{
    static struct vl_error err;
    *at = (size_t)-1;
    if (vl_glob_check(pattern, at, &err) == 0) return NULL;
    return err.msg;
}

static int wants_mp4(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && !strcasecmp(name + n - 4, ".mp4");
}

static void test_alternatives(void)
{
    touch("alt/a.mp4");
    touch("alt/b.MP4");
    touch("alt/c.mkv");
    touch("alt/d.txt");
    touch("alt/e.mp4.bak");
    touch("alt/.h.mp4");
    touch("alt/train/x.mp4");
    touch("alt/val/y.mp4");
    touch("alt/test/z.mp4");
    struct vl_glob_result r = {0};
    CHECK(count("alt/*.{mp4,MP4,mkv}", &r) == 3);
    CHECK_STR(r.paths[0], "alt/a.mp4");
    CHECK_STR(r.paths[1], "alt/b.MP4");
    CHECK_STR(r.paths[2], "alt/c.mkv");
    /* a file that two alternatives take is found once, before any sorting */
    struct vl_error err;
    vl_glob_release(&r);
    CHECK(vl_glob("alt/{a,*}.mp4", &r, &err) == 0);
    CHECK(r.len == 1);
    CHECK(count("alt/{*.mp4,a.*,?.mp4}", &r) == 1);
    /* braces anywhere in a segment, nested, an empty alternative */
    CHECK(count("alt/{a,b}.{mp4,MP4}", &r) == 2);
    CHECK(count("alt/{a.{mp4,mkv},c.{mp4,mkv}}", &r) == 2);
    CHECK(count("alt/e.mp4{,.bak}", &r) == 1);
    CHECK(count("alt/a.mp4{,.bak}", &r) == 1);
    CHECK(count("alt/{train,val}/*.mp4", &r) == 2);
    CHECK_STR(r.paths[0], "alt/train/x.mp4");
    CHECK(count("alt/**/*.{mp4,mkv}", &r) == 5);
    /* hidden files only for an alternative that starts with '.' */
    CHECK(count("alt/{*,x}.mp4", &r) == 1);
    CHECK(count("alt/{.h,a}.mp4", &r) == 2);
    /* escaped and bracketed braces are characters */
    touch("alt/{lit}.mp4");
    CHECK(count("alt/\\{lit\\}.mp4", &r) == 1);
    CHECK(count("alt/[{]lit[}].mp4", &r) == 1);
    /* the check that keeps outputs out of sources agrees with the walk */
    CHECK(vl_glob_match("alt/*.{mp4,MP4}", "alt/b.MP4"));
    CHECK(vl_glob_match("alt/{train,val}/*.mp4", "alt/val/new.mp4"));
    CHECK(!vl_glob_match("alt/{train,val}/*.mp4", "alt/test/new.mp4"));
    CHECK(vl_glob_match("alt/x{,.bak}", "alt/x.bak"));
    CHECK(vl_glob_match("alt/x{,.bak}", "alt/x"));
    CHECK(!vl_glob_match("alt/{*,x}.mp4", "alt/.h.mp4"));
    CHECK(vl_glob_match("**/*.{npy,json}", "build/a/b.json"));
    CHECK(!vl_glob_match("**/*.{npy,json}", "build/a/b.txt"));
    vl_glob_release(&r);
}

static void test_invalid_braces(void)
{
    size_t at;
    CHECK(check_error("a/*.{mp4,MP4}", &at) == NULL);
    CHECK(check_error("{a,{b,{c,d}}}/x{,y}", &at) == NULL);
    CHECK_CONTAINS(check_error("data/*.{mp4", &at), "'{' without '}'");
    CHECK(at == 7);
    CHECK_CONTAINS(check_error("data/*.mp4}", &at), "'}' without '{'");
    CHECK(at == 10);
    CHECK_CONTAINS(check_error("data/{mp4}", &at), "has no ','");
    CHECK(at == 5);
    CHECK_CONTAINS(check_error("data/{a/x,b}/y", &at), "'/' inside '{...}'");
    CHECK(at == 5);
    CHECK_CONTAINS(check_error("x/{a,{b,c}", &at), "'{' without '}'");
    CHECK(at == 2);
    CHECK_CONTAINS(check_error("{a,{a,{a,{a,{a,{a,{a,{a,{a,{a,{a,{a,{a,{a,{a,{a,{a,b}}}}}}}}}}}}}}}}}",
                               &at), "nested more than 16");
    CHECK_CONTAINS(check_error("d/{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}", &at),
                   "more than 1024 alternatives");
    CHECK(at == 2);
    /* vl_glob refuses what the check refuses, naming the pattern */
    struct vl_glob_result r = {0};
    struct vl_error err;
    CHECK(vl_glob("alt/*.{mp4", &r, &err) < 0);
    CHECK_CONTAINS(err.msg, "'alt/*.{mp4', byte 7: '{' without '}'");
    vl_glob_release(&r);
}

static void test_near_misses(void)
{
    touch("near/a.mp4");
    touch("near/B.MP4");
    touch("near/c.txt");
    touch("near/.d.mp4");
    touch("near/sub/e.MP4");
    touch("near/sub/f.mp4");
    struct vl_glob_result r = {0};
    struct vl_error err;
    r.wanted = wants_mp4;
    CHECK(vl_glob("near/*.mp4", &r, &err) == 0);
    CHECK(r.len == 1);
    /* the folder whose files the pattern matched, not its sub-folder, and
     * neither a hidden file nor one that wanted() does not ask for */
    CHECK(r.n_others == 1);
    if (r.n_others == 1) CHECK_STR(r.others[0], "near/B.MP4");
    vl_glob_release(&r);
    r.wanted = wants_mp4;
    CHECK(vl_glob("near/**/*.mp4", &r, &err) == 0);
    CHECK(r.n_others == 2);
    vl_glob_release(&r);
    /* a literal last segment reads no folder, and finds no near miss */
    r.wanted = wants_mp4;
    CHECK(vl_glob("near/a.mp4", &r, &err) == 0);
    CHECK(r.len == 1 && r.n_others == 0);
    vl_glob_release(&r);
    r.wanted = wants_mp4;
    CHECK(vl_glob("near/*.{mp4,MP4}", &r, &err) == 0);
    CHECK(r.len == 2 && r.n_others == 0);
    vl_glob_release(&r);
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
    test_alternatives();
    test_invalid_braces();
    test_near_misses();
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    TEST_DONE();
}
