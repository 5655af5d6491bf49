/* test_hostile_meta_json.c - the video metadata reader (vl_meta_from_json) on
 * hostile JSON, as the metadata cache in a damaged state.db could hold it.
 * Regressions of scripts/fuzz.sh's meta_json target (tests/fuzz/meta_json/);
 * docs/reliability.md. */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "test.h"
#include "video/probe.h"

/* what the fuzzer found: a number past INT_MAX converted to int (undefined
 * behaviour, caught by UBSan in src/video/probe.c's set_field) */
static const char fuzz_crash_bc0021[] =
    "{\"version\": 1, \"container\": \"avi\", \"codec\": \"mpeg4\", \"profile\": \"Simple P:ofile\", "
    "\"pix_fmt\": \"yuv420p\", \"bit_depth\":99999999999999999999999999999999999999 8, "
    "\"coded_width\": 80, \"coded_height\": 48, \"width\": 80, \"height\": 48, "
    "\"g_frame_rate\": \"09/1\", \"r_frame_rate\": \"10/1\", \"fps\": 10, \"\": \"10/1\", "
    "\"r_frame_rate\": \"10/1\", \"fps\": 10, \"has_b_frames\": false, \"audio_streams\": 0, "
    "\"video_streams\": 1, \"stream_index\": 0, \"frames_corrected\": false}";

/* Accepted metadata must hold values its fields can represent; the reader
 * may refuse instead (preferred: "not such an object"). */
static void expect_refused_or_sane(const char *json)
{
    struct vl_video_meta m;
    struct vl_error err = {{0}};
    if (vl_meta_from_json(json, &m, &err) < 0) {
        CHECK(err.msg[0] != '\0');
        return;
    }
    fprintf(stderr, "accepted: %s\n", json);
    CHECK(m.width >= 0 && m.height >= 0 && m.frames >= 0);
}

static void test_fuzz_crash_is_refused(void)
{
    struct vl_video_meta m;
    struct vl_error err = {{0}};
    /* the junk after the number is malformed JSON in any case */
    CHECK(vl_meta_from_json(fuzz_crash_bc0021, &m, &err) < 0);
}

static void test_numbers_out_of_range(void)
{
    static const char *const cases[] = {
        "{\"version\": 1, \"width\": 1e38, \"height\": 48, \"frames\": 12}",
        "{\"version\": 1, \"width\": -1e38, \"height\": 48, \"frames\": 12}",
        "{\"version\": 1, \"width\": 64, \"height\": 48, \"frames\": 1e300}",
        "{\"version\": 1, \"width\": 64, \"height\": 48, \"frames\": -1e300}",
        "{\"version\": 1, \"width\": 64, \"height\": 48, \"frames\": 12, \"keyframes\": 1e19}",
        "{\"version\": 4294967297, \"width\": 64, \"height\": 48, \"frames\": 12}",
        "{\"version\": 1, \"width\": 64, \"height\": 48, \"frames\": 12, \"rotation\": 1e10}",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) expect_refused_or_sane(cases[i]);
}

static void test_truncated_and_garbage(void)
{
    static const char *const cases[] = {
        "", "{", "{\"version\"", "{\"version\": ", "{\"version\": 1,", "[1]", "{\"version\": 1} trailing",
        "{\"a\": \"\\u0000\", \"version\": 1}", "{\"version\": 1, \"codec\": \"unterminated",
        "{\"version\": 1, \"frames\": nan}", "{\"version\": 1, \"frames\": inf}",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) expect_refused_or_sane(cases[i]);
}

int main(void)
{
    test_fuzz_crash_is_refused();
    test_numbers_out_of_range();
    test_truncated_and_garbage();
    TEST_DONE();
}
