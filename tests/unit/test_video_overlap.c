/* test_video_overlap.c - a read that decodes on a thread of its own
 * (vl_reader_opts.overlap) gives what the one-thread read gives.
 *
 * Every frame, byte for byte, with the same timestamps, indices, chunk
 * sizes and counters (packets, decoded, lost, decode errors, planar), on
 * generated fixtures: H.264 with B-frames and a non-zero start scaled with
 * area, a turned MJPEG to float planes, VFR MPEG-4 letterboxed, and a file
 * with damaged bytes; closing in the middle of a read, or before any,
 * stops the decoding thread (ctest's timeout catches a hang). */
#include <sys/stat.h>

#include "test.h"
#include "test_video_fixtures.h"

struct read_result {
    uint8_t *data;
    size_t bytes;
    double *pts;
    int64_t *index;
    int *chunk_sizes;
    int n_frames, n_chunks;
    struct vl_reader_stats stats;
    int rc;
};

static void read_all(const char *path, struct vl_reader_opts opts, struct read_result *res)
{
    memset(res, 0, sizeof *res);
    struct vl_reader *r;
    struct vl_error err;
    struct vl_chunk c;
    if ((res->rc = vl_reader_open(path, &opts, &r, &err)) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    int n;
    while ((n = vl_reader_next_chunk(r, &c, &err)) > 0) {
        size_t add = (size_t)n * c.frame_bytes;
        res->data = realloc(res->data, res->bytes + add);
        res->pts = realloc(res->pts, (res->n_frames + n) * sizeof *res->pts);
        res->index = realloc(res->index, (res->n_frames + n) * sizeof *res->index);
        res->chunk_sizes = realloc(res->chunk_sizes, (res->n_chunks + 1) * sizeof(int));
        if (!res->data || !res->pts || !res->index || !res->chunk_sizes) abort();
        memcpy(res->data + res->bytes, c.data, add);
        memcpy(res->pts + res->n_frames, c.pts, n * sizeof *c.pts);
        memcpy(res->index + res->n_frames, c.index, n * sizeof *c.index);
        res->chunk_sizes[res->n_chunks++] = n;
        res->bytes += add, res->n_frames += n;
    }
    if (n < 0) fprintf(stderr, "%s\n", err.msg);
    res->rc = n;
    vl_reader_stats(r, &res->stats);
    vl_reader_close(r);
}

static void release(struct read_result *res)
{
    free(res->data), free(res->pts), free(res->index), free(res->chunk_sizes);
}

/* Reads path both ways and checks that everything agrees. */
static void check_same(const char *name, const char *path, struct vl_reader_opts opts,
                       int expect_frames)
{
    struct read_result one, two;
    opts.overlap = 0;
    read_all(path, opts, &one);
    opts.overlap = 1;
    read_all(path, opts, &two);
    printf("%s: %d frames in %d chunks; threaded %d in %d; packets %lld/%lld decoded %lld/%lld "
           "lost %lld/%lld errors %lld/%lld planar %lld/%lld\n",
           name, one.n_frames, one.n_chunks, two.n_frames, two.n_chunks,
           (long long)one.stats.packets, (long long)two.stats.packets,
           (long long)one.stats.decoded, (long long)two.stats.decoded,
           (long long)one.stats.lost, (long long)two.stats.lost,
           (long long)one.stats.decode_errors, (long long)two.stats.decode_errors,
           (long long)one.stats.planar, (long long)two.stats.planar);
    CHECK(one.rc == 0 && two.rc == 0);
    if (expect_frames >= 0) CHECK(one.n_frames == expect_frames);
    CHECK(one.n_frames > 0);
    CHECK(one.n_frames == two.n_frames && one.n_chunks == two.n_chunks);
    CHECK(one.bytes == two.bytes && one.bytes > 0 && !memcmp(one.data, two.data, one.bytes));
    if (one.n_frames == two.n_frames && one.n_chunks == two.n_chunks) {
        CHECK(!memcmp(one.pts, two.pts, one.n_frames * sizeof *one.pts));
        CHECK(!memcmp(one.index, two.index, one.n_frames * sizeof *one.index));
        CHECK(!memcmp(one.chunk_sizes, two.chunk_sizes, one.n_chunks * sizeof(int)));
    }
    CHECK(one.stats.packets == two.stats.packets && one.stats.decoded == two.stats.decoded);
    CHECK(one.stats.lost == two.stats.lost && one.stats.delivered == two.stats.delivered);
    CHECK(one.stats.decode_errors == two.stats.decode_errors);
    CHECK(one.stats.planar == two.stats.planar);
    release(&one), release(&two);
}

/* Flips bytes in the middle third of path, past the headers. */
static void damage(const char *path)
{
    FILE *f = fopen(path, "r+b");
    CHECK(f != NULL);
    if (!f) return;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    for (long at = size / 3; at < 2 * size / 3; at += 7) {
        fseek(f, at, SEEK_SET);
        int c = fgetc(f);
        fseek(f, at, SEEK_SET);
        fputc(c ^ 0x5a, f);
    }
    fclose(f);
}

static void make(const char *path, const struct vl_testgen_opts *o)
{
    struct vl_error err;
    if (vl_testgen_write(path, o, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        CHECK(0);
    }
}

int main(void)
{
    const char *dir = fixture_dir("video_overlap");
    char path[1200];

    snprintf(path, sizeof path, "%s/bframes.mp4", dir);
    make(path, &(struct vl_testgen_opts){.codec = "libx264", .width = 160, .height = 90,
                                          .frames = 45, .bframes = 3, .gop = 20, .start = 1.5});
    check_same("h264 b-frames area 64x48", path,
               (struct vl_reader_opts){.width = 64, .height = 48, .interp = VL_READER_AREA,
                                       .memory_budget = 64 * 48 * 3 * 4},
               45);
    check_same("h264 b-frames crop 30x30 bicubic", path,
               (struct vl_reader_opts){.width = 30, .height = 30, .fit = VL_READER_CROP,
                                       .memory_budget = 1},
               45);

    snprintf(path, sizeof path, "%s/turned.mov", dir);
    make(path, &(struct vl_testgen_opts){.codec = "mjpeg", .width = 48, .height = 32,
                                          .frames = 12, .rotation = 90});
    check_same("mjpeg turned 90, float planes", path,
               (struct vl_reader_opts){.layout = VL_FRAMES_F32_PLANAR}, 12);

    snprintf(path, sizeof path, "%s/vfr.mkv", dir);
    make(path, &(struct vl_testgen_opts){.codec = "mpeg4", .width = 64, .height = 48,
                                          .frames = 30, .vfr = 1, .bframes = 2});
    check_same("mpeg4 vfr letterbox 40x40", path,
               (struct vl_reader_opts){.width = 40, .height = 40, .fit = VL_READER_LETTERBOX,
                                       .interp = VL_READER_BILINEAR},
               30);

    snprintf(path, sizeof path, "%s/damaged.mkv", dir);
    make(path, &(struct vl_testgen_opts){.codec = "mpeg4", .width = 128, .height = 96,
                                          .frames = 60, .gop = 10});
    damage(path);
    check_same("damaged mpeg4", path, (struct vl_reader_opts){.width = 32, .height = 32}, -1);
    snprintf(path, sizeof path, "%s/damaged.mp4", dir);
    make(path, &(struct vl_testgen_opts){.codec = "libx264", .width = 128, .height = 96,
                                          .frames = 60, .gop = 10, .bframes = 2});
    damage(path);
    check_same("damaged h264", path, (struct vl_reader_opts){.width = 32, .height = 32}, -1);

    /* closed in the middle of a read, and before any: the thread stops */
    snprintf(path, sizeof path, "%s/bframes.mp4", dir);
    struct vl_reader_opts o = {.overlap = 1, .memory_budget = 1, .width = 16, .height = 16};
    struct vl_reader *r;
    struct vl_error err;
    struct vl_chunk c;
    CHECK(vl_reader_open(path, &o, &r, &err) == 0);
    CHECK(vl_reader_next_chunk(r, &c, &err) == 1);
    struct vl_reader_stats st;
    vl_reader_stats(r, &st); /* while the thread decodes */
    CHECK(st.delivered == 1 && st.decoded >= 1);
    vl_reader_close(r);
    CHECK(vl_reader_open(path, &o, &r, &err) == 0);
    vl_reader_close(r);
    TEST_DONE();
}
