/* fuzz_safetensors.c - libFuzzer target: the strict safetensors reader
 * (vl_st_parse) on arbitrary bytes.  An accepted file's tensors must lie
 * inside the buffer and match their shapes: every byte is read. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "train/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    struct vl_st_file f;
    memset(&f, 0, sizeof f);
    struct vl_error err = {{0}};
    if (vl_st_parse("fuzz.safetensors", buf, size, &f, &err) == 0) {
        for (size_t i = 0; i < f.n_tensors; i++) {
            const struct vl_st_tensor *t = &f.tensors[i];
            uint64_t n = vl_st_dtype_size(t->dtype);
            for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
            if (n != t->nbytes) abort();
            const uint8_t *p = t->data;
            volatile uint8_t sum = 0;
            for (size_t k = 0; k < t->nbytes; k++) sum += p[k];
            (void)sum;
            if (vl_st_find(&f, t->name) == NULL) abort();
        }
        for (size_t i = 0; i < f.n_meta; i++)
            if (!vl_st_get_meta(&f, f.meta[i].key)) abort();
    } else if (!err.msg[0]) {
        abort();
    }
    vl_st_free(&f);
    return 0;
}
