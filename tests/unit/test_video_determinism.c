/* test_video_determinism.c - the reader gives the same bytes every run.
 *
 * Odd-size fixtures (36x42, 17x9, 33x31; H.264 and MPEG-4 yuv420p, an RGB
 * FFV1 stream that goes through the convert-whole path, a rotated clip) are
 * decoded several times with fresh readers, the heap dirtied with 0xAA and
 * 0x55 between runs, under two chunk budgets and in unscaled, scaled,
 * crop, letterbox and float layouts; every run must hash the same as the
 * first.  Uninitialised padding read by swscale would show here. */
#include <string.h>

#include <xxhash.h>

#include "test.h"
#include "test_video_fixtures.h"

#define RUNS 4

/* Allocates, fills and frees blocks of sizes around those the reader uses,
 * so that uninitialised memory it reads holds the byte b. */
static void dirty_heap(unsigned char b)
{
    static const size_t sizes[] = {64, 256, 1024, 4096, 5000, 9000, 20000, 65536, 300000};
    void *blocks[sizeof sizes / sizeof *sizes];
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        blocks[i] = malloc(sizes[i]);
        if (blocks[i]) memset(blocks[i], b, sizes[i]);
    }
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) free(blocks[i]);
}

/* Hash of every delivered frame's bytes and pts of path decoded with opts,
 * or 0 with a message on an error. */
static uint64_t decode_hash(const char *path, const struct vl_reader_opts *opts)
{
    struct vl_reader *r;
    struct vl_error err;
    struct vl_chunk c;
    if (vl_reader_open(path, opts, &r, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 0;
    }
    XXH3_state_t *st = XXH3_createState();
    XXH3_64bits_reset(st);
    int n;
    long long frames = 0;
    while ((n = vl_reader_next_chunk(r, &c, &err)) > 0) {
        XXH3_64bits_update(st, c.data, (size_t)n * c.frame_bytes);
        frames += n;
    }
    uint64_t h = XXH3_64bits_digest(st);
    XXH3_freeState(st);
    vl_reader_close(r);
    if (n < 0) fprintf(stderr, "%s\n", err.msg);
    return n < 0 || frames == 0 ? 0 : h;
}

struct fixture {
    const char *name;
    struct vl_testgen_opts opts;
};

int main(void)
{
    const char *dir = fixture_dir("video_determinism");
    const struct fixture fixtures[] = {
        {"h264_36x42.mp4", {.codec = "libx264", .width = 36, .height = 42, .frames = 5, .bars = 1}},
        {"mpeg4_17x9.mp4", {.codec = "mpeg4", .width = 17, .height = 9, .frames = 5}},
        {"mpeg4_33x31.avi", {.codec = "mpeg4", .width = 33, .height = 31, .frames = 5, .bars = 1}},
        {"rgb_33x31.mkv",
         {.codec = "ffv1", .pix_fmt = "bgr0", .width = 33, .height = 31, .frames = 4, .bars = 1}},
        {"rot90_17x9.mp4",
         {.codec = "mpeg4", .width = 17, .height = 9, .frames = 4, .rotation = 90, .bars = 1}},
    };
    const struct vl_reader_opts variants[] = {
        {.memory_budget = 1},
        {.memory_budget = 1 << 20},
        {.memory_budget = 1, .width = 13, .height = 11, .interp = VL_READER_AREA},
        {.memory_budget = 1 << 20, .width = 50, .height = 23, .interp = VL_READER_BILINEAR},
        {.memory_budget = 1, .width = 20, .height = 20, .fit = VL_READER_CROP},
        {.memory_budget = 1 << 20, .width = 31, .height = 17, .fit = VL_READER_LETTERBOX},
        {.memory_budget = 1, .layout = VL_FRAMES_F32_PLANAR, .width = 19, .height = 7},
        {.memory_budget = 1 << 20, .layout = VL_FRAMES_F32_PLANAR},
    };
    for (size_t i = 0; i < sizeof fixtures / sizeof *fixtures; i++) {
        if (!vl_testgen_have_encoder(fixtures[i].opts.codec)) continue;
        char path[1200];
        snprintf(path, sizeof path, "%s/%s", dir, fixtures[i].name);
        struct vl_error err;
        if (vl_testgen_write(path, &fixtures[i].opts, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            CHECK(0);
            continue;
        }
        for (size_t v = 0; v < sizeof variants / sizeof *variants; v++) {
            uint64_t first = 0;
            for (int run = 0; run < RUNS; run++) {
                dirty_heap(run & 1 ? 0xAA : 0x55);
                uint64_t h = decode_hash(path, &variants[v]);
                CHECK(h != 0);
                if (run == 0) first = h;
                if (h != first)
                    fprintf(stderr, "%s variant %zu: run %d differs from run 0\n",
                            fixtures[i].name, v, run);
                CHECK(h == first);
            }
        }
    }
    TEST_DONE();
}
