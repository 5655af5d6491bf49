/* test_video_npy.c - .npy round trips (uint8 and float32, streamed), the
 * 64-byte header alignment, and strict rejection of lying headers. */
#include "test.h"
#include "test_video_fixtures.h"
#include "video/npy.h"

#include <unistd.h>

static void write_raw(const char *path, const char *header, size_t data_bytes)
{
    FILE *f = fopen(path, "wb");
    size_t hlen = strlen(header);
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff),
                             (unsigned char)(hlen >> 8)};
    fwrite(pre, 1, 10, f);
    fwrite(header, 1, hlen, f);
    for (size_t i = 0; i < data_bytes; i++) fputc(0, f);
    fclose(f);
}

int main(void)
{
    const char *dir = fixture_dir("video_npy");
    char path[1200], bad[1200];
    struct vl_error err;
    struct vl_npy_array a;

    /* uint8 [2,3,5,3] streamed frame by frame */
    snprintf(path, sizeof path, "%s/clip.npy", dir);
    uint64_t shape[4] = {2, 3, 5, 3};
    struct vl_npy_writer *w;
    CHECK(vl_npy_open(path, VL_NPY_U8, shape, 4, &w, &err) == 0);
    uint8_t frame[45];
    for (int t = 0; t < 2; t++) {
        for (int i = 0; i < 45; i++) frame[i] = (uint8_t)(t * 45 + i);
        CHECK(vl_npy_append(w, frame, sizeof frame, &err) == 0);
    }
    CHECK(access(path, F_OK) != 0); /* nothing in place before close */
    CHECK(vl_npy_close(w, &err) == 0);
    CHECK(vl_npy_map(path, &a, &err) == 0);
    CHECK(a.dtype == VL_NPY_U8 && a.ndim == 4 && a.count == 90);
    CHECK(a.shape[0] == 2 && a.shape[3] == 3);
    CHECK(((const uint8_t *)a.data)[89] == 89);
    CHECK(((const uint8_t *)a.data - (const uint8_t *)a.map) % 64 == 0);
    vl_npy_unmap(&a);

    /* float32 [4] and a 1-d shape written (4,) */
    snprintf(path, sizeof path, "%s/feat.npy", dir);
    float v[4] = {0.5f, -1, 3.25f, 1e-3f};
    CHECK(vl_npy_write(path, VL_NPY_F32, (uint64_t[]){4}, 1, v, &err) == 0);
    char *text;
    size_t n;
    CHECK(vl_read_file(path, &text, &n, &err) == 0);
    CHECK_CONTAINS(text + 10, "'descr': '<f4', 'fortran_order': False, 'shape': (4,), }");
    CHECK(n > 16 && (n - 16) % 64 == 0);
    free(text);
    CHECK(vl_npy_map(path, &a, &err) == 0);
    CHECK(a.dtype == VL_NPY_F32 && a.ndim == 1 && ((const float *)a.data)[2] == 3.25f);
    vl_npy_unmap(&a);

    /* too little data: close fails and leaves nothing */
    snprintf(path, sizeof path, "%s/short.npy", dir);
    CHECK(vl_npy_open(path, VL_NPY_U8, (uint64_t[]){10}, 1, &w, &err) == 0);
    CHECK(vl_npy_append(w, frame, 4, &err) == 0);
    CHECK(vl_npy_append(w, frame, 40, &err) < 0);
    CHECK(vl_npy_close(w, &err) < 0);
    CHECK_CONTAINS(err.msg, "short.npy");
    CHECK(access(path, F_OK) != 0);

    /* lying headers */
    snprintf(bad, sizeof bad, "%s/lie.npy", dir);
    write_raw(bad, "{'descr': '<u1', 'fortran_order': False, 'shape': (100, 100), }         \n", 10);
    CHECK(vl_npy_map(bad, &a, &err) < 0);
    CHECK_CONTAINS(err.msg, "lie.npy");
    CHECK_CONTAINS(err.msg, "10000 data bytes");
    write_raw(bad, "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }\n", 8);
    CHECK(vl_npy_map(bad, &a, &err) < 0);
    CHECK_CONTAINS(err.msg, "dtype");
    write_raw(bad, "{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }\n", 4);
    CHECK(vl_npy_map(bad, &a, &err) < 0);
    write_raw(bad, "{'descr': '<u1', 'fortran_order': False, 'shape': (-1,), }\n", 4);
    CHECK(vl_npy_map(bad, &a, &err) < 0);
    write_raw(bad, "{'descr': '<u1', 'fortran_order': False, 'shape': (99999999999999999999, 9), }\n", 4);
    CHECK(vl_npy_map(bad, &a, &err) < 0);
    write_raw(bad, "{'descr': '<u1', 'fortran_order': False, 'shape': (4,), }", 4); /* no newline */
    CHECK(vl_npy_map(bad, &a, &err) < 0);
    FILE *f = fopen(bad, "wb");
    fputs("PK\3\4 definitely not numpy", f);
    fclose(f);
    CHECK(vl_npy_map(bad, &a, &err) < 0);
    CHECK_CONTAINS(err.msg, "bad magic");
    TEST_DONE();
}
