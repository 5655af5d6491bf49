/* test_synth.c - the `synth` action: clips with the asked frame count and
 * size in several containers, motion in the direction of the class, and the
 * same bytes for the same parameters. */
#include <math.h>
#include <unistd.h>

#include "actions/action.h"
#include "test.h"
#include "test_video_fixtures.h"
#include "video/probe.h"

static const char *dir;

/* Runs synth -> output with a space-separated parameter list; -2 when the
 * parameters are refused. */
static int synth(const char *output, const char *params, int copy, struct vl_error *err)
{
    char buf[512], *words[32];
    size_t n = 0;
    snprintf(buf, sizeof buf, "%s", params);
    for (char *w = strtok(buf, " "); w && n < 32; w = strtok(NULL, " ")) words[n++] = w;
    const struct vl_action_def *def = vl_action_find("synth");
    struct vl_params p;
    int bad;
    if (vl_params_parse(def, (const char *const *)words, n, &p, &bad, err) < 0) return -2;
    struct vl_action_job job = {.def = def, .params = &p, .outputs = &output, .n_outputs = 1,
                                .copy = copy, .device = -1};
    unlink(output);
    int rc = def->run(&job, err);
    vl_params_release(&p);
    return rc;
}

/* Centroid of the bright (shape) pixels of frame i of the chunked decode. */
static int centroids(const char *path, double first[2], double last[2], int *frames)
{
    struct vl_reader_opts o = {.memory_budget = 1 << 20};
    struct vl_reader *r;
    struct vl_error err;
    struct vl_chunk c;
    int n, seen = 0;
    if (vl_reader_open(path, &o, &r, &err) < 0) return -1;
    while ((n = vl_reader_next_chunk(r, &c, &err)) > 0)
        for (int i = 0; i < n; i++, seen++) {
            const uint8_t *f = c.data + (size_t)i * c.frame_bytes;
            double sx = 0, sy = 0, count = 0;
            for (int y = 0; y < c.height; y++)
                for (int x = 0; x < c.width; x++) {
                    const uint8_t *p = f + ((size_t)y * c.width + x) * 3;
                    if (p[0] + p[1] + p[2] > 3 * 125) sx += x, sy += y, count++;
                }
            double *dst = seen == 0 ? first : last;
            dst[0] = count ? sx / count : -1, dst[1] = count ? sy / count : -1;
        }
    vl_reader_close(r);
    *frames = seen;
    return n;
}

static void test_each_class_moves_its_way(void)
{
    static const char *const classes[] = {"left", "right", "up", "down"};
    for (int k = 0; k < 4; k++)
        for (int index = 0; index < 3; index++) {
            char out[512], params[256];
            snprintf(out, sizeof out, "%.400s/%s%d.mp4", dir, classes[k], index);
            snprintf(params, sizeof params, "class=%s index=%d size=96x64 frames=20 seed=9",
                     classes[k], index);
            struct vl_error err = {{0}};
            CHECK(synth(out, params, 0, &err) == 0);
            struct vl_video_meta m;
            CHECK(vl_probe_file(out, &m, &err) == 0);
            CHECK(m.frames == 20 && m.width == 96 && m.height == 64);
            double a[2], b[2];
            int frames = 0;
            CHECK(centroids(out, a, b, &frames) == 0 && frames == 20);
            double dx = b[0] - a[0], dy = b[1] - a[1];
            int ok = k == 0 ? dx < -5 && fabs(dx) > fabs(dy)
                   : k == 1 ? dx > 5 && fabs(dx) > fabs(dy)
                   : k == 2 ? dy < -5 && fabs(dy) > fabs(dx)
                            : dy > 5 && fabs(dy) > fabs(dx);
            if (!ok) printf("%s index %d: centroid moved by (%.1f, %.1f)\n", classes[k], index, dx, dy);
            CHECK(ok);
        }
}

static int same_file(const char *a, const char *b)
{
    char *x, *y;
    size_t nx, ny;
    struct vl_error err;
    if (vl_read_file(a, &x, &nx, &err) < 0) return 0;
    if (vl_read_file(b, &y, &ny, &err) < 0) return free(x), 0;
    int same = nx == ny && memcmp(x, y, nx) == 0;
    free(x);
    free(y);
    return same;
}

static void test_same_parameters_same_bytes(void)
{
    char a[512], b[512], c[512], d[512];
    snprintf(a, sizeof a, "%.400s/same_a.mkv", dir);
    snprintf(b, sizeof b, "%.400s/same_b.mkv", dir);
    snprintf(c, sizeof c, "%.400s/same_c.mkv", dir);
    snprintf(d, sizeof d, "%.400s/same_d.mkv", dir);
    struct vl_error err;
    CHECK(synth(a, "class=up index=4 frames=8 size=64x48", 0, &err) == 0);
    CHECK(synth(b, "class=up index=4 frames=8 size=64x48", 0, &err) == 0);
    CHECK(same_file(a, b));
    CHECK(synth(c, "class=up index=5 frames=8 size=64x48", 0, &err) == 0);
    CHECK(!same_file(a, c));
    CHECK(synth(d, "class=up index=4 frames=8 size=64x48", 1, &err) == 0);
    CHECK(!same_file(a, d));
}

static void test_containers_and_codecs(void)
{
    static const char *const cases[][2] = {
        {"c.avi", ""}, {"c.mkv", "codec=ffv1"}, {"c.mov", "codec=mpeg4"},
        {"c.webm", ""}, {"c.mkv", "codec=mjpeg"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (!strcmp(cases[i][0], "c.webm") && !vl_testgen_have_encoder("libvpx-vp9")) continue;
        char out[512], params[256];
        snprintf(out, sizeof out, "%.400s/%s", dir, cases[i][0]);
        snprintf(params, sizeof params, "class=right frames=6 size=48x32 %s", cases[i][1]);
        struct vl_error err = {{0}};
        int rc = synth(out, params, 0, &err);
        if (rc) printf("%s %s: %s\n", cases[i][0], cases[i][1], err.msg);
        CHECK(rc == 0);
        CHECK(decode_count(out, NULL) == 6);
    }
}

static void test_bad_parameters_and_paths(void)
{
    struct vl_error err = {{0}};
    char out[512];
    snprintf(out, sizeof out, "%.400s/bad.mp4", dir);
    CHECK(synth(out, "size=64x48", 0, &err) == -2);
    CHECK_CONTAINS(err.msg, "class");
    CHECK(synth(out, "class=sideways", 0, &err) == -2);
    CHECK(synth(out, "class=up size=63x48", 0, &err) == -2);
    CHECK_CONTAINS(err.msg, "even");
    snprintf(out, sizeof out, "%.400s/clip.unknownext", dir);
    CHECK(synth(out, "class=up frames=4 size=32x32", 0, &err) == -1);
    CHECK_CONTAINS(err.msg, "clip.unknownext");
    CHECK(access(out, F_OK) != 0);
}

int main(void)
{
    dir = fixture_dir("synth");
    test_each_class_moves_its_way();
    test_same_parameters_same_bytes();
    test_containers_and_codecs();
    test_bad_parameters_and_paths();
    TEST_DONE();
}
