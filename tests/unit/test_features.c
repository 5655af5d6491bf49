/* test_features.c - the `features` action on tiny synthetic clips with
 * hand-computed values: exact histogram bins, zeros for a constant clip, a
 * step edge's edge density, a checkerboard's DCT ratio, the sign of a
 * moving square's motion; a lossless video gives the same numbers as the
 * same frames in a .npy; the sidecar names every column; bad input and
 * bad parameters give clear errors and leave no output. */
#include "test.h"
#include "test_transforms_fixtures.h"
#include "test_video_fixtures.h"

#include <math.h>

#include "video/clipwriter.h"
#include "video/npy.h"

#define T 6
#define W 32

static char dir_buf[1024];
static uint8_t clip[T][W][W][3];

/* dir/name, the same buffer for the same name for the whole test */
static const char *path_in(const char *name)
{
    static char names[32][64], paths[32][1200];
    static int used;
    int i = 0;
    while (i < used && strcmp(names[i], name)) i++;
    if (i == used) {
        if (used == 32) abort();
        snprintf(names[used], sizeof names[used], "%s", name);
        snprintf(paths[used++], sizeof paths[0], "%s/%s", dir_buf, name);
    }
    return paths[i];
}

/* Writes the first t frames of clip, each w x w, as a .npy. */
static const char *write_clip(const char *name, int t, int w)
{
    static uint8_t packed[T * W * W * 3];
    for (int f = 0; f < t; f++)
        for (int y = 0; y < w; y++) memcpy(packed + ((size_t)(f * w + y) * w) * 3, clip[f][y], (size_t)w * 3);
    uint64_t shape[4] = {(uint64_t)t, (uint64_t)w, (uint64_t)w, 3};
    struct vl_error err;
    const char *path = path_in(name);
    if (vl_npy_write(path, VL_NPY_U8, shape, 4, packed, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    return path;
}

static void fill(int t, int w, uint8_t r, uint8_t g, uint8_t b)
{
    for (int f = 0; f < t; f++)
        for (int y = 0; y < w; y++)
            for (int x = 0; x < w; x++) clip[f][y][x][0] = r, clip[f][y][x][1] = g, clip[f][y][x][2] = b;
}

/* Runs features with words on input; maps the result into *a. */
static int featurize(const char *input, const char *const *words, size_t n, struct vl_npy_array *a)
{
    const char *out[] = {path_in("f.npy"), path_in("f.json")};
    struct vl_error err;
    if (run_action("features", words, n, input, out, 2, 0, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    if (vl_npy_map(out[0], a, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    return 0;
}

static void test_histogram_exact(void)
{
    for (int f = 0; f < 3; f++)
        for (int y = 0; y < 8; y++)
            for (int x = 0; x < 8; x++) {
                uint8_t *p = clip[f][y][x];
                int q = (y >= 4) * 2 + (x >= 4);
                p[0] = q == 0 || q == 3 ? 255 : 0;
                p[1] = q == 1 || q == 3 ? 255 : 0;
                p[2] = q == 2 || q == 3 ? 255 : 0;
            }
    const char *in = write_clip("quadrants.npy", 3, 8);
    const char *words[] = {"set=hist", "bins=8"};
    struct vl_npy_array a;
    CHECK(featurize(in, words, 2, &a) == 0);
    /* red, green, blue, white: hue bins 0, 2, 5 and 0 (grey); saturation 1
     * (bin 7) or 0; value 255 (bin 7) */
    float want[24] = {0.5f, 0, 0.25f, 0, 0, 0.25f, 0, 0, 0.25f, 0, 0, 0, 0, 0, 0, 0.75f,
                      0,    0, 0,     0, 0, 0,     0, 1};
    CHECK(a.ndim == 1 && a.shape[0] == 24);
    CHECK(a.count == 24 && !memcmp(a.data, want, sizeof want));
    vl_npy_unmap(&a);
}

static void test_constant_clip_is_zero(void)
{
    fill(4, 16, 90, 140, 200);
    const char *in = write_clip("flat.npy", 4, 16);
    const char *words[] = {"set=motion,sharpness,edges,dct"};
    struct vl_npy_array a;
    CHECK(featurize(in, words, 1, &a) == 0);
    const float *v = a.data;
    CHECK(a.shape[0] == 7);
    for (int i = 0; i < 7 && a.count == 7; i++) CHECK(v[i] == 0);
    vl_npy_unmap(&a);
}

static void test_edges_and_dct(void)
{
    fill(2, 8, 0, 0, 0);
    for (int f = 0; f < 2; f++)
        for (int y = 0; y < 8; y++)
            for (int x = 4; x < 8; x++) memset(clip[f][y][x], 255, 3);
    const char *step = write_clip("step.npy", 2, 8);
    const char *words[] = {"set=edges", "edge_threshold=100"};
    struct vl_npy_array a;
    CHECK(featurize(step, words, 2, &a) == 0);
    /* columns 3 and 4 of the 6x6 interior: 12 of 36 pixels */
    CHECK(a.count == 1 && fabsf(((const float *)a.data)[0] - 1.0f / 3) < 1e-7f);
    vl_npy_unmap(&a);

    fill(1, 8, 0, 0, 0);
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 8; x++)
            if ((x + y) & 1) memset(clip[0][y][x], 255, 3);
    const char *board = write_clip("board.npy", 1, 8);
    const char *dct[] = {"set=dct,sharpness"};
    CHECK(featurize(board, dct, 1, &a) == 0);
    const float *v = a.data;
    /* 0.987386 (numpy, orthonormal DCT-II); Laplacian +-1020 everywhere */
    CHECK(a.count == 2 && fabsf(v[0] - 0.987386f) < 1e-5f && v[1] == 1020.0f * 1020.0f);
    vl_npy_unmap(&a);
}

/* A bright 8x8 square moving right 2 px a frame over a dark ground with a
 * faint texture, T frames of 32x32. */
static void moving_square(void)
{
    for (int f = 0; f < T; f++)
        for (int y = 0; y < W; y++)
            for (int x = 0; x < W; x++) {
                int in = x >= 6 + 2 * f && x < 14 + 2 * f && y >= 12 && y < 20;
                uint8_t v = in ? 220 : (uint8_t)(20 + ((x * 7 + y * 3) & 7));
                clip[f][y][x][0] = v, clip[f][y][x][1] = v, clip[f][y][x][2] = (uint8_t)(v / 2);
            }
}

static void test_motion_sign_and_video_parity(void)
{
    moving_square();
    const char *in = write_clip("square.npy", T, W);
    const char *words[] = {"set=motion", "per=frame"};
    struct vl_npy_array a;
    CHECK(featurize(in, words, 2, &a) == 0);
    CHECK(a.ndim == 2 && a.shape[0] == T && a.shape[1] == 4);
    const float *m = a.data;
    CHECK(m[0] == 0 && m[1] == 0 && m[2] == 0 && m[3] == 0); /* no frame before the first */
    int right = 1;
    for (int t = 1; t < T; t++) right &= m[4 * t + 2] > 0.5f && fabsf(m[4 * t + 3]) < 0.1f;
    printf("  square moving right 2 px/frame: horizontal %.3f, vertical %.3f\n", m[6], m[7]);
    CHECK(right);
    vl_npy_unmap(&a);
    CHECK_CONTAINS(slurp(path_in("f.json")), "\"shape\":[6,4],\"per\":\"frame\"");

    /* the same frames as a lossless video: the very same numbers */
    const char *video = path_in("square.mkv");
    struct vl_clipwriter_opts o = {.codec = VL_CLIP_FFV1, .width = W, .height = W};
    struct vl_clipwriter *cw;
    struct vl_error err;
    CHECK(vl_clipwriter_open(video, &o, &cw, &err) == 0);
    for (int t = 0; t < T; t++) CHECK(vl_clipwriter_write(cw, &clip[t][0][0][0], &err) == 0);
    CHECK(vl_clipwriter_close(cw, &err) == 0);
    const char *all[] = {"bins=4"};
    struct vl_npy_array from_npy, from_video;
    CHECK(featurize(in, all, 1, &from_npy) == 0);
    CHECK(featurize(video, all, 1, &from_video) == 0);
    CHECK(from_npy.count == 3 * 4 + 4 + 3 && from_video.count == from_npy.count);
    CHECK(!memcmp(from_npy.data, from_video.data, from_npy.count * sizeof(float)));
    CHECK(((const float *)from_video.data)[12 + 2] > 0.5f); /* clip mean of the horizontal */
    vl_npy_unmap(&from_npy);
    vl_npy_unmap(&from_video);
    const char *json = slurp(path_in("f.json"));
    CHECK_CONTAINS(json, "\"input\":\"video\"");
    CHECK_CONTAINS(json, "\"frames\":6");
    /* per frame from a video: T from the metadata */
    CHECK(featurize(video, words, 2, &a) == 0);
    CHECK(a.shape[0] == T && a.shape[1] == 4);
    vl_npy_unmap(&a);
    /* size= computes at another resolution */
    const char *small[] = {"set=hist,edges", "size=16x16"};
    CHECK(featurize(in, small, 2, &a) == 0);
    CHECK(a.count == 25);
    vl_npy_unmap(&a);
    CHECK_CONTAINS(slurp(path_in("f.json")), "\"width\":16,\"height\":16");
}

/* Counts the names in the sidecar's "columns" array. */
static int count_columns(const char *json)
{
    const char *p = strstr(json, "\"columns\":[");
    if (!p) return -1;
    int n = 0;
    for (p += 11; *p && *p != ']'; p++) n += *p == '"';
    return n / 2;
}

static void test_sidecar_names_columns(void)
{
    moving_square();
    const char *in = write_clip("square.npy", T, W);
    const char *words[] = {"set=dct,hist,motion", "bins=2"};
    struct vl_npy_array a;
    CHECK(featurize(in, words, 2, &a) == 0);
    const char *json = slurp(path_in("f.json"));
    CHECK(count_columns(json) == (int)a.count && a.count == 1 + 6 + 4);
    CHECK_CONTAINS(json, "\"columns\":[\"dct_high_ratio\",\"hist_h_0\",\"hist_h_1\",\"hist_s_0\","
                         "\"hist_s_1\",\"hist_v_0\",\"hist_v_1\",\"motion_mean\",\"motion_spread\","
                         "\"motion_horizontal\",\"motion_vertical\"]");
    vl_npy_unmap(&a);
    const char *every[] = {"bins=16"};
    CHECK(featurize(in, every, 1, &a) == 0);
    CHECK(count_columns(slurp(path_in("f.json"))) == 48 + 4 + 3 && a.count == 55);
    vl_npy_unmap(&a);
}

static void test_bad_input_and_params(void)
{
    struct vl_error err;
    const char *out[] = {path_in("bad_out.npy"), path_in("bad_out.json")};
    float values[4] = {1, 2, 3, 4};
    uint64_t shape[4] = {1, 1, 4, 1};
    const char *floats = path_in("floats.npy");
    CHECK(vl_npy_write(floats, VL_NPY_F32, shape, 4, values, &err) == 0);
    const char *none[] = {"per=clip"};
    CHECK(run_action("features", none, 1, floats, out, 2, 0, &err) < 0);
    printf("  float clip: %s\n", err.msg);
    CHECK_CONTAINS(err.msg, "floats.npy");
    CHECK(!file_exists(out[0]) && !file_exists(out[1]));
    CHECK(run_action("features", none, 1, path_in("missing.mp4"), out, 2, 0, &err) < 0);
    CHECK_CONTAINS(err.msg, "missing.mp4");
    const char *junk = path_in("junk.mp4");
    FILE *f = fopen(junk, "w");
    fputs("not a video", f);
    fclose(f);
    const char *per_frame[] = {"per=frame"};
    CHECK(run_action("features", per_frame, 1, junk, out, 2, 0, &err) < 0);
    CHECK_CONTAINS(err.msg, "junk.mp4");
    CHECK(!file_exists(out[0]) && !file_exists(out[1]));

    struct {
        const char *word, *message;
    } cases[] = {
        {"set=hist,hist", "listed twice"}, {"set=colour", "is not one of"},
        {"bins=0", "out of range"},        {"bins=257", "out of range"},
        {"per=video", "expected one of"},  {"size=0x16", "both sides"},
        {"edge_threshold=-1", "out of range"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *w[] = {cases[i].word};
        CHECK(run_action("features", w, 1, floats, out, 1, 0, &err) == -2);
        CHECK_CONTAINS(err.msg, cases[i].message);
    }
}

int main(void)
{
    const char *dir = fixture_dir("features");
    if (!dir) return 1;
    snprintf(dir_buf, sizeof dir_buf, "%s", dir);
    test_histogram_exact();
    test_constant_clip_is_zero();
    test_edges_and_dct();
    test_motion_sign_and_video_parity();
    test_sidecar_names_columns();
    test_bad_input_and_params();
    TEST_DONE();
}
