/* test_video_badinput.c - bad files end with a clear message naming the
 * file, never a crash: zero bytes, random bytes named .mp4, truncated files,
 * an audio-only file, a missing file; decoding a damaged file keeps what it
 * can and reports the frames it lost. */
#include "test.h"
#include "test_video_fixtures.h"
#include "video/probe.h"

#include <unistd.h>

static void expect_probe_error(const char *path, const char *needle)
{
    struct vl_video_meta m;
    struct vl_error err = {{0}};
    int rc = vl_probe_file(path, &m, &err);
    printf("%s -> %s\n", path, rc < 0 ? err.msg : "ok");
    CHECK(rc < 0);
    CHECK_CONTAINS(err.msg, path);
    if (needle) CHECK_CONTAINS(err.msg, needle);
    struct vl_reader *r = NULL;
    struct vl_reader_opts ro = {0};
    CHECK(vl_reader_open(path, &ro, &r, &err) < 0);
    CHECK_CONTAINS(err.msg, path);
}

static void copy_prefix(const char *from, const char *to, long bytes)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    for (long i = 0; i < bytes; i++) {
        int c = fgetc(in);
        if (c == EOF) break;
        fputc(c, out);
    }
    fclose(in);
    fclose(out);
}

static long file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

int main(void)
{
    const char *dir0 = fixture_dir("video_badinput");
    char dir[1024], path[1200], good[1200];
    snprintf(dir, sizeof dir, "%s", dir0);
    struct vl_error err;

    snprintf(path, sizeof path, "%s/empty.mp4", dir);
    fclose(fopen(path, "wb"));
    expect_probe_error(path, "empty file");

    snprintf(path, sizeof path, "%s/random.mp4", dir);
    FILE *f = fopen(path, "wb");
    unsigned x = 12345;
    for (int i = 0; i < 100000; i++) fputc((x = x * 1103515245 + 12345) >> 16 & 0xff, f);
    fclose(f);
    expect_probe_error(path, NULL);

    snprintf(path, sizeof path, "%s/missing.mp4", dir);
    expect_probe_error(path, NULL);

    if (vl_testgen_have_encoder("aac") || vl_testgen_have_encoder("mp2")) {
        snprintf(path, sizeof path, "%s/audio_only.mp4", dir);
        struct vl_testgen_opts o = {.audio = 1};
        CHECK(vl_testgen_write(path, &o, &err) == 0);
        expect_probe_error(path, "no video stream (audio only");
    }

    /* mp4 with its index at the end, cut: no index at all */
    snprintf(good, sizeof good, "%s/good.mp4", dir);
    struct vl_testgen_opts o = {.codec = "mpeg4", .width = 64, .height = 48, .frames = 40};
    CHECK(vl_testgen_write(good, &o, &err) == 0);
    snprintf(path, sizeof path, "%s/truncated.mp4", dir);
    copy_prefix(good, path, file_size(good) / 2);
    expect_probe_error(path, NULL);

    /* Matroska cut in the middle: probing counts what is there, decoding
     * keeps every complete frame and neither crashes nor hangs */
    snprintf(good, sizeof good, "%s/good.mkv", dir);
    CHECK(vl_testgen_write(good, &o, &err) == 0);
    snprintf(path, sizeof path, "%s/truncated.mkv", dir);
    copy_prefix(good, path, file_size(good) / 2);
    struct vl_video_meta m;
    int rc = vl_probe_file(path, &m, &err);
    printf("%s -> %s (%lld frames)\n", path, rc < 0 ? err.msg : "ok", (long long)m.frames);
    if (rc == 0) CHECK(m.frames > 0 && m.frames < 40);
    struct vl_reader_stats st;
    long long n = decode_count(path, &st);
    printf("decoded %lld, lost %lld, errors %lld\n", n, (long long)st.lost,
           (long long)st.decode_errors);
    CHECK(n > 0 && n < 40);

    /* damage in the middle of an mpeg4 stream: the decoder drops or conceals */
    snprintf(path, sizeof path, "%s/damaged.mkv", dir);
    copy_prefix(good, path, file_size(good));
    f = fopen(path, "r+b");
    long size = file_size(path);
    for (long at = size / 3; at < size / 3 + 2000 && at < size; at += 7) {
        fseek(f, at, SEEK_SET);
        fputc(0xff, f);
    }
    fclose(f);
    n = decode_count(path, &st);
    printf("damaged: decoded %lld, lost %lld, errors %lld, packets %lld\n", n, (long long)st.lost,
           (long long)st.decode_errors, (long long)st.packets);
    CHECK(n >= 0 && n + st.lost == st.packets);
    TEST_DONE();
}
