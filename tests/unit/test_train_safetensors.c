/* test_train_safetensors.c - safetensors round trip and hostile files. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "train/safetensors.h"
#include "util/fs.h"
#include "util/strbuf.h"

static char dir[4096];

static const char *tmp_path(const char *name)
{
    static char buf[4200];
    snprintf(buf, sizeof buf, "%s/%s", dir, name);
    return buf;
}

static void test_round_trip(void)
{
    struct vl_error err = {{0}};
    float w[6] = {1.5f, -2.0f, 3.25f, 0.0f, 1e-7f, -1e30f};
    int64_t idx[3] = {7, -1, 1LL << 40};
    uint8_t bytes[5] = {0, 1, 2, 254, 255};
    struct vl_st_file f = {0};
    CHECK(vl_st_add(&f, "linear.weight", VL_ST_F32, (uint64_t[]){2, 3}, 2, w, &err) == 0);
    CHECK(vl_st_add(&f, "steps", VL_ST_I64, (uint64_t[]){3}, 1, idx, &err) == 0);
    CHECK(vl_st_add(&f, "mask", VL_ST_U8, (uint64_t[]){5}, 1, bytes, &err) == 0);
    CHECK(vl_st_add(&f, "empty", VL_ST_F32, (uint64_t[]){0, 4}, 2, NULL, &err) == 0);
    CHECK(vl_st_add(&f, "mask", VL_ST_U8, (uint64_t[]){5}, 1, bytes, &err) < 0);
    vl_st_set_meta(&f, "model", "logreg");
    vl_st_set_meta(&f, "config", "{\"a\": \"b\\n\"}");
    vl_st_set_meta(&f, "model", "svm");
    const char *path = tmp_path("rt.safetensors");
    CHECK(vl_st_write(&f, path, &err) == 0);
    vl_st_free(&f);

    struct vl_st_file g;
    CHECK(vl_st_read(path, &g, &err) == 0);
    CHECK(g.n_tensors == 4);
    CHECK_STR(vl_st_get_meta(&g, "model"), "svm");
    CHECK_STR(vl_st_get_meta(&g, "config"), "{\"a\": \"b\\n\"}");
    CHECK(vl_st_get_meta(&g, "nothing") == NULL);
    float back[6];
    CHECK(vl_st_copy_f32(&g, path, "linear.weight", (uint64_t[]){2, 3}, 2, back, &err) == 0);
    CHECK(memcmp(back, w, sizeof w) == 0);
    CHECK(vl_st_copy_f32(&g, path, "linear.weight", (uint64_t[]){3, 2}, 2, back, &err) < 0);
    CHECK_CONTAINS(err.msg, "is F32 [2,3], expected F32 [3,2]");
    const struct vl_st_tensor *t = vl_st_find(&g, "steps");
    CHECK(t && t->dtype == VL_ST_I64 && t->nbytes == 24 && memcmp(t->data, idx, 24) == 0);
    t = vl_st_find(&g, "mask");
    CHECK(t && t->dtype == VL_ST_U8 && memcmp(t->data, bytes, 5) == 0);
    t = vl_st_find(&g, "empty");
    CHECK(t && t->ndim == 2 && t->shape[1] == 4 && t->nbytes == 0);
    vl_st_free(&g);

    /* the header is padded to 8 bytes, so the data start aligned */
    char *buf;
    size_t n;
    CHECK(vl_read_file(path, &buf, &n, &err) == 0);
    uint64_t hlen = 0;
    memcpy(&hlen, buf, 8);
    CHECK(hlen % 8 == 0);
    free(buf);
}

/* Writes 8-byte length + header (padded unless raw) + data of n bytes. */
static const char *write_raw(const char *header, uint64_t claimed_len, size_t data_n)
{
    struct vl_strbuf sb = VL_STRBUF_INIT;
    uint64_t len = claimed_len ? claimed_len : strlen(header);
    vl_strbuf_add(&sb, &len, 8);
    vl_strbuf_adds(&sb, header);
    for (size_t i = 0; i < data_n; i++) vl_strbuf_addch(&sb, (char)i);
    const char *path = tmp_path("bad.safetensors");
    struct vl_error err;
    if (vl_write_file_atomic(path, sb.buf, sb.len, &err) < 0) abort();
    vl_strbuf_release(&sb);
    return path;
}

static void expect_bad(const char *header, uint64_t claimed, size_t data_n, const char *msg)
{
    struct vl_error err = {{0}};
    struct vl_st_file f;
    const char *path = write_raw(header, claimed, data_n);
    int rc = vl_st_read(path, &f, &err);
    CHECK(rc < 0);
    if (rc == 0) {
        fprintf(stderr, "  accepted: %s\n", header);
        vl_st_free(&f);
        return;
    }
    CHECK_CONTAINS(err.msg, "bad.safetensors");
    CHECK_CONTAINS(err.msg, msg);
}

static void test_hostile(void)
{
    const char *ok = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    struct vl_error err;
    struct vl_st_file f;
    CHECK(vl_st_read(write_raw(ok, 0, 8), &f, &err) == 0);
    vl_st_free(&f);

    expect_bad(ok, 1000, 8, "header length 1000 runs past the end");
    expect_bad(ok, UINT64_MAX, 8, "runs past the end");
    expect_bad(ok, 0, 4, "run past the end of the data");
    expect_bad(ok, 0, 12, "4 bytes of data after the last tensor");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 0, 8,
               "need 12 bytes but data_offsets span 8");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1000000000000,1000000000000],"
               "\"data_offsets\":[0,8]}}",
               0, 8, "overflows");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
               0, 8, "overlaps the previous tensor");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 0, 8,
               "leaves a gap");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 0, 8,
               "end before they begin");
    expect_bad("{\"a\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[0,8]}}", 0, 8,
               "unsupported dtype BF16");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 0, 8,
               "non-integer size");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 0, 8, "expected exactly");
    expect_bad("{\"__metadata__\":{\"k\":3}}", 0, 0, "not a string");
    expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},}", 0, 8,
               "bad.safetensors header:1:");
    expect_bad("[1,2]", 0, 0, "not a JSON object");
    expect_bad("{\"__metadata__\":{},\"__metadata__\":{}}", 0, 0, "names __metadata__ twice");
    expect_bad("", 3, 0, "header length 3 runs past the end");
}

int main(void)
{
    const char *base = getenv("VL_TEST_TMP") ? getenv("VL_TEST_TMP") : "/tmp";
    snprintf(dir, sizeof dir, "%s/test_train_safetensors.%d", base, (int)getpid());
    struct vl_error err;
    if (vl_mkdir_p(dir, &err) < 0) abort();
    test_round_trip();
    test_hostile();
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    TEST_DONE();
}
