/* test_video_corpus.c - probes and decodes every file of the shared corpus
 * of real videos ($VL_CORPUS, or ../shared/corpus/video beside the source
 * tree) and compares with its truth.tsv: name, bytes, then
 * "codec,width,height,frames" (frames from a full decode; N/A: only check
 * nothing crashes) or "none" (no video stream: a clear error).  The probe
 * must agree with the decode for every file the decoder does not report as
 * damaged.  Skips visibly when the corpus is absent. */
#include "test.h"
#include "test_video_fixtures.h"
#include "video/probe.h"

#include <sys/stat.h>

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int main(void)
{
    char dir[1024], truth[1100], path[1400], line[1024];
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
    av_log_set_level(AV_LOG_QUIET);
    int files = 0;
    while (fgets(line, sizeof line, f)) {
        char name[256], bytes[64], spec[256];
        if (sscanf(line, "%255s %63s %255s", name, bytes, spec) != 3) continue;
        snprintf(path, sizeof path, "%s/%s", dir, name);
        files++;
        struct vl_video_meta m;
        struct vl_error err = {{0}};
        int rc = vl_probe_file(path, &m, &err);
        if (!strcmp(spec, "none")) {
            printf("%-22s no video: %s\n", name, rc < 0 ? err.msg : "probe succeeded?");
            CHECK(rc < 0);
            CHECK_CONTAINS(err.msg, name);
            continue;
        }
        char codec[64], frames[32];
        int w, h;
        if (sscanf(spec, "%63[^,],%d,%d,%31s", codec, &w, &h, frames) != 4) {
            fprintf(stderr, "truth.tsv: bad line: %s", line);
            CHECK(0);
            continue;
        }
        struct vl_reader_stats st = {0};
        long long decoded = decode_count(path, &st);
        printf("%-22s probe %s %lld, decoded %lld (lost %lld), truth %s\n", name,
               rc < 0 ? err.msg : "ok", rc < 0 ? -1LL : (long long)m.frames, decoded,
               (long long)st.lost, frames);
        if (!strcmp(frames, "N/A")) continue; /* only: no crash, no hang */
        long long want = atoll(frames);
        CHECK(rc == 0);
        CHECK(decoded == want);
        if (rc < 0) continue;
        CHECK_STR(m.codec, codec);
        CHECK(m.coded_width == w && m.coded_height == h);
        /* the probe counts packets; only a damaged unit may decode to less */
        CHECK(m.frames == want || (st.lost > 0 && m.frames == want + st.lost));
    }
    fclose(f);
    CHECK(files > 0);
    TEST_DONE();
}
