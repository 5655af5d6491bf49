/* fuzz_npy.c - libFuzzer target: the strict .npy reader (vl_npy_map) on a
 * file of arbitrary bytes.  An accepted array must lie inside the mapping:
 * every element is read.  The file is removed after each input (the replay
 * test runs in ctest, which must leave nothing in /tmp). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "video/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    if (!path[0]) snprintf(path, sizeof path, "/tmp/vl-fuzz-npy.%ld.npy", (long)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
    struct vl_npy_array arr;
    struct vl_error err = {{0}};
    if (vl_npy_map(path, &arr, &err) == 0) {
        size_t elem = arr.dtype == VL_NPY_U8 ? 1 : 4;
        uint64_t n = 1;
        for (int i = 0; i < arr.ndim; i++) n *= arr.shape[i];
        if (n != arr.count) abort();
        const uint8_t *p = arr.data, *base = arr.map;
        if (arr.count && (p < base || (size_t)(p - base) + arr.count * elem > arr.map_size)) abort();
        volatile uint8_t sum = 0;
        for (uint64_t i = 0; i < arr.count * elem; i++) sum += p[i];
        (void)sum;
        vl_npy_unmap(&arr);
    } else if (!err.msg[0]) {
        abort();
    }
    unlink(path);
    return 0;
}
