/* size.h - byte counts as people write them: "256M", "1.5GiB", "4096". */
#ifndef VL_SIZE_H
#define VL_SIZE_H

#include <stdint.h>

/* Parses a non-negative number with an optional K, M, G or T suffix (powers
 * of 1024; "Ki", "MiB" and a trailing "B" are accepted) into bytes; returns
 * 0, or -1 when s is not such a size or does not fit 64 bits. */
int vl_parse_size(const char *s, uint64_t *out);

#endif
