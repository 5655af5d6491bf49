/* vec.h - appending to a malloc'd array that tracks its length and capacity. */
#ifndef VL_VEC_H
#define VL_VEC_H

#include <stdlib.h>

/* Appends item to arr (of len items, room for cap), doubling the room when
 * full; aborts when out of memory. */
#define VL_PUSH(arr, len, cap, item)                                                               \
    do {                                                                                           \
        if ((len) == (cap)) {                                                                      \
            (cap) = (cap) ? (cap) * 2 : 16;                                                        \
            (arr) = realloc((arr), (cap) * sizeof *(arr));                                         \
            if (!(arr)) abort();                                                                   \
        }                                                                                          \
        (arr)[(len)++] = (item);                                                                   \
    } while (0)

#endif
