/* test_augment_corpus.c - every file of the shared corpus of real videos
 * ($VL_CORPUS, or ../shared/corpus/video beside the source tree) through
 * `augment` with every transform on: each either gives a clip with the
 * expected frame count (every 10th frame, resized to 96x64) or fails with an error that names the file and leaves
 * no output.  Skips visibly when the corpus is absent. */
#include <sys/stat.h>
#include <unistd.h>

#include "actions/action.h"
#include "test.h"
#include "test_video_fixtures.h"

#define STRIDE 10

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int augment(const char *input, const char *output, struct vl_error *err)
{
    static const char *const words[] = {
        "hflip=0.5", "crop=0.5:1",     "rotate=5",  "brightness=0.2", "contrast=0.2",
        "saturation=0.2", "hue=0.05", "noise=2",   "blur=1",         "stride=10",
        "size=96x64", "seed=1",
    };
    const struct vl_action_def *def = vl_action_find("augment");
    struct vl_params p;
    int bad;
    if (vl_params_parse(def, words, sizeof words / sizeof words[0], &p, &bad, err) < 0) return -2;
    struct vl_hash hash = {{0}};
    if (vl_hash_file(input, &hash, err) < 0) return vl_params_release(&p), -1;
    struct vl_action_job job = {.def = def, .params = &p, .inputs = &input, .input_hashes = &hash,
                                .n_inputs = 1, .outputs = &output, .n_outputs = 1,
                                .memory_budget = 32u << 20, .device = -1};
    int rc = def->run(&job, err);
    vl_params_release(&p);
    return rc;
}

int main(void)
{
    char dir[1024], truth[1100], path[1400], out[1400], line[1024];
    const char *env = getenv("VL_CORPUS"), *src = getenv("VL_SOURCE_DIR");
    if (env && is_dir(env)) snprintf(dir, sizeof dir, "%s", env);
    else if (src) snprintf(dir, sizeof dir, "%s/../shared/corpus/video", src);
    else snprintf(dir, sizeof dir, "../shared/corpus/video");
    if (!is_dir(dir)) TEST_SKIP("corpus not found");
    snprintf(truth, sizeof truth, "%s/truth.tsv", dir);
    FILE *f = fopen(truth, "r");
    if (!f) {
        snprintf(truth, sizeof truth, "%s/../truth.tsv", dir);
        f = fopen(truth, "r");
    }
    if (!f) TEST_SKIP("corpus has no truth.tsv");
    const char *tmp = fixture_dir("augment_corpus");
    int files = 0;
    while (fgets(line, sizeof line, f)) {
        char name[256], bytes[64], spec[256], codec[64], frames[32];
        int w, h;
        if (sscanf(line, "%255s %63s %255s", name, bytes, spec) != 3) continue;
        snprintf(path, sizeof path, "%s/%s", dir, name);
        snprintf(out, sizeof out, "%s/%s.mkv", tmp, name);
        files++;
        struct vl_error err = {{0}};
        int rc = augment(path, out, &err);
        long long got = rc == 0 ? decode_count(out, NULL) : -1;
        printf("%-22s %s\n", name, rc == 0 ? "ok" : err.msg);
        if (rc < 0) {
            CHECK(rc == -1);
            CHECK_CONTAINS(err.msg, name);
            CHECK(access(out, F_OK) != 0);
        }
        if (!strcmp(spec, "none")) {
            CHECK(rc < 0);
            continue;
        }
        if (sscanf(spec, "%63[^,],%d,%d,%31s", codec, &w, &h, frames) != 4 ||
            !strcmp(frames, "N/A"))
            continue; /* only: no crash, no hang */
        long long want = (atoll(frames) + STRIDE - 1) / STRIDE;
        CHECK(rc == 0);
        /* a damaged unit may cost the one frame it held */
        if (rc == 0 && got != want && got != want - 1) {
            printf("  %lld frames, expected %lld\n", got, want);
            CHECK(0);
        }
    }
    fclose(f);
    CHECK(files > 0);
    TEST_DONE();
}
