/* test_video_reader_table.c - the reader's conversion through an
 * operations table (opts.ops, what scale gives it on a GPU) and its NVDEC
 * request (opts.hw_decode), on a machine without a GPU:
 * - a table wrapping the CPU table's converter gives the bytes of the
 *   reader's own converter for stretched, cropped, letterboxed, turned,
 *   float and index-selected reads, every frame through the table's
 *   convert (and a sync after it);
 * - a table whose convert_takes refuses every picture leaves the frames to
 *   the CPU converter, the same bytes, counted in stats.cpu_converted;
 * - hw_decode without a usable CUDA device decodes on the CPU, the same
 *   bytes, and stats.hw_note says why. */
#include <string.h>

#include "test.h"
#include "test_video_fixtures.h"

static struct vl_ops table;
static int converts, syncs, takes_nothing;

static int counting_convert(struct vl_ops_ctx *ctx, struct vl_ops_convert *c,
                            const struct vl_picture *pic, const int crop[4], const int place[4],
                            struct vl_frame *dst, struct vl_error *err)
{
    converts++;
    return vl_ops_cpu()->convert(ctx, c, pic, crop, place, dst, err);
}

static int counting_sync(struct vl_ops_ctx *ctx, struct vl_error *err)
{
    syncs++;
    return vl_ops_cpu()->sync(ctx, err);
}

static int takes(struct vl_ops_ctx *ctx, enum vl_picture_format format, enum vl_mem mem)
{
    return !takes_nothing && vl_ops_cpu()->convert_takes(ctx, format, mem);
}

/* every chunk's frames of a read of path with opts, concatenated (*n bytes) */
static uint8_t *read_all(const char *path, const struct vl_reader_opts *opts, size_t *n,
                         struct vl_reader_stats *stats)
{
    struct vl_reader *r;
    struct vl_error err = {{0}};
    struct vl_chunk c;
    uint8_t *all = NULL;
    *n = 0;
    if (vl_reader_open(path, opts, &r, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        CHECK(0);
        return NULL;
    }
    int got;
    while ((got = vl_reader_next_chunk(r, &c, &err)) > 0) {
        size_t bytes = (size_t)got * c.frame_bytes;
        if (!(all = realloc(all, *n + bytes))) abort();
        memcpy(all + *n, c.data, bytes);
        *n += bytes;
    }
    if (got < 0) fprintf(stderr, "%s\n", err.msg);
    CHECK(got == 0);
    vl_reader_stats(r, stats);
    vl_reader_close(r);
    return all;
}

int main(void)
{
    const char *dir = fixture_dir("reader_table");
    char plain[1100], turned[1100];
    snprintf(plain, sizeof plain, "%s/plain.mp4", dir);
    snprintf(turned, sizeof turned, "%s/turned.mp4", dir);
    struct vl_error err = {{0}};
    struct vl_testgen_opts g = {.width = 96, .height = 64, .frames = 12, .bframes = 2,
                                .matrix = "bt709", .range = "tv", .bitexact = 1};
    CHECK(vl_testgen_write(plain, &g, &err) == 0);
    g.rotation = 90, g.width = 98, g.height = 54, g.sar_num = 4, g.sar_den = 3;
    CHECK(vl_testgen_write(turned, &g, &err) == 0);

    table = *vl_ops_cpu();
    table.name = "counting";
    table.convert = counting_convert;
    table.sync = counting_sync;
    table.convert_takes = takes;
    struct vl_ops_ctx *ctx;
    CHECK(table.ctx_new(&(struct vl_ops_ctx_opts){.device = -1}, &ctx, &err) == 0);

    static const int64_t picks[] = {0, 3, 4, 11};
    struct {
        const char *path;
        struct vl_reader_opts opts;
    } reads[] = {
        {plain, {.width = 48, .height = 32}},
        {plain, {.width = 40, .height = 40, .fit = VL_READER_CROP, .interp = VL_READER_AREA}},
        {plain, {.width = 40, .height = 40, .fit = VL_READER_LETTERBOX}},
        {plain, {.width = 30, .height = 20, .layout = VL_FRAMES_F32_PLANAR,
                 .interp = VL_READER_BILINEAR}},
        {plain, {.indices = picks, .n_indices = 4}},
        {turned, {.width = 32, .height = 48, .fit = VL_READER_LETTERBOX}},
        {turned, {0}},
    };
    for (size_t i = 0; i < sizeof reads / sizeof *reads; i++) {
        struct vl_reader_stats st;
        size_t n_want, n_got;
        uint8_t *want = read_all(reads[i].path, &reads[i].opts, &n_want, &st);
        long long frames = st.delivered;
        /* through the table */
        struct vl_reader_opts o = reads[i].opts;
        o.ops = &table, o.ops_ctx = ctx;
        converts = syncs = 0, takes_nothing = 0;
        uint8_t *got = read_all(reads[i].path, &o, &n_got, &st);
        CHECK(n_got == n_want && want && got && memcmp(want, got, n_want) == 0);
        CHECK(converts == frames && syncs == frames && st.cpu_converted == 0);
        free(got);
        /* a table that takes nothing: the CPU converts, and says so */
        converts = 0, takes_nothing = 1;
        got = read_all(reads[i].path, &o, &n_got, &st);
        CHECK(n_got == n_want && got && memcmp(want, got, n_want) == 0);
        CHECK(converts == 0 && st.cpu_converted == frames);
        free(got);
        /* NVDEC asked for where there is none: CPU decoding, the reason kept */
        o = reads[i].opts;
        o.hw_decode = 1, o.hw_device = 0;
        got = read_all(reads[i].path, &o, &n_got, &st);
        CHECK(n_got == n_want && got && memcmp(want, got, n_want) == 0);
        CHECK(st.hw_frames == 0 && st.hw_note[0] != '\0');
        if (i == 0) printf("without a GPU: %s\n", st.hw_note);
        free(got);
        free(want);
    }
    table.ctx_free(ctx);
    return vl_test_failures != 0;
}
