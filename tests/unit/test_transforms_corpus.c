/* test_transforms_corpus.c - every file of the shared corpus of real videos
 * ($VL_CORPUS, or ../shared/corpus/video beside the source tree) through
 * `scale` (sampled, crop; variable aspect ratio; every frame, letterbox) and
 * `features` (per frame, of that every-frame clip): each run either succeeds with
 * an output of the expected shape, or fails with a message naming the file
 * and leaves no output.  Files whose truth.tsv line says "none" (no video
 * stream) must fail.  Skips visibly when the corpus is absent. */
#include "test.h"
#include "test_transforms_fixtures.h"
#include "test_video_fixtures.h"

#include <dirent.h>
#include <sys/stat.h>

#include "video/npy.h"

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* 1 when truth.tsv (in dir or its parent) marks name as having no video. */
static int has_no_video(const char *dir, const char *name)
{
    char path[1200], line[1024], n[256], bytes[64], spec[256];
    snprintf(path, sizeof path, "%s/truth.tsv", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(path, sizeof path, "%s/../truth.tsv", dir);
        f = fopen(path, "r");
    }
    int none = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "%255s %63s %255s", n, bytes, spec) == 3 && !strcmp(n, name))
            none = !strcmp(spec, "none");
    if (f) fclose(f);
    return none;
}

/* Runs one action on path; checks the success-or-clear-error contract and,
 * on success, the leading dimensions of the output.  Returns 1 on success. */
static int one(const char *label, const char *action, const char *const *words, size_t n,
               const char *path, const char *name, const char *const *out, int want_dims,
               const uint64_t *want_shape, int must_fail)
{
    struct vl_error err = {{0}};
    int rc = run_action(action, words, n, path, out, 2, 32u << 20, &err);
    printf("  %-22s %-18s %s\n", name, label, rc == 0 ? "ok" : err.msg);
    CHECK(rc != -2);
    if (rc < 0) {
        CHECK_CONTAINS(err.msg, name);
        CHECK(!file_exists(out[0]) && !file_exists(out[1]));
        return 0;
    }
    CHECK(!must_fail);
    struct vl_npy_array a;
    CHECK(vl_npy_map(out[0], &a, &err) == 0);
    int shape_ok = a.ndim == want_dims;
    for (int i = 0; i < want_dims && shape_ok; i++)
        shape_ok = !want_shape[i] || a.shape[i] == want_shape[i];
    CHECK(shape_ok);
    vl_npy_unmap(&a);
    CHECK(file_exists(out[1]));
    return 1;
}

int main(void)
{
    char dir[1024], path[1400];
    const char *env = getenv("VL_CORPUS"), *src = getenv("VL_SOURCE_DIR");
    if (env && is_dir(env)) snprintf(dir, sizeof dir, "%s", env);
    else if (src) snprintf(dir, sizeof dir, "%s/../shared/corpus/video", src);
    else snprintf(dir, sizeof dir, "../shared/corpus/video");
    if (!is_dir(dir)) TEST_SKIP("corpus not found");
    const char *tmp = fixture_dir("transforms_corpus");
    if (!tmp) return 1;
    char npy[1200], json[1200], clip[1200], clip_json[1200];
    snprintf(npy, sizeof npy, "%s/out.npy", tmp);
    snprintf(json, sizeof json, "%s/out.json", tmp);
    snprintf(clip, sizeof clip, "%s/clip.npy", tmp);
    snprintf(clip_json, sizeof clip_json, "%s/clip.json", tmp);
    const char *out[] = {npy, json};
    DIR *d = opendir(dir);
    struct dirent *e;
    int files = 0, ok = 0;
    while (d && (e = readdir(d))) {
        const char *name = e->d_name;
        if (name[0] == '.' || strstr(name, ".tsv") || strstr(name, ".md")) continue;
        snprintf(path, sizeof path, "%s/%s", dir, name);
        int none = has_no_video(dir, name);
        files++;
        const char *sampled[] = {"size=64x64", "mode=crop", "frames=8"};
        uint64_t s8[4] = {8, 64, 64, 3};
        ok += one("scale frames=8", "scale", sampled, 3, path, name, out, 4, s8, none);
        const char *var[] = {"fit=64", "frames=4"};
        uint64_t s_var[4] = {4, 0, 0, 3};
        ok += one("scale fit=64", "scale", var, 2, path, name, out, 4, s_var, none);
        /* one full decode a file: features read the every-frame clip */
        const char *every[] = {"size=48x32", "mode=letterbox", "interp=bilinear"};
        uint64_t s_all[4] = {0, 32, 48, 3};
        const char *clip_out[] = {clip, clip_json};
        if (!one("scale every frame", "scale", every, 3, path, name, clip_out, 4, s_all, none))
            continue;
        ok++;
        const char *feat[] = {"per=frame", "bins=4"};
        uint64_t s_feat[2] = {0, 12 + 4 + 3};
        ok += one("features of it", "features", feat, 2, clip, name, out, 2, s_feat, 0);
    }
    if (d) closedir(d);
    printf("%d files, %d of %d runs succeeded\n", files, ok, 4 * files);
    CHECK(files > 0 && ok > 0);
    TEST_DONE();
}
