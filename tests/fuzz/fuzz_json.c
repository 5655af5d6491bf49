/* fuzz_json.c - libFuzzer target: the JSON reader (vl_json_parse) on
 * arbitrary bytes, walking every value of what it accepts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"

static size_t walk(const struct vl_json *v, int depth)
{
    if (depth > 64) abort(); /* the reader promises at most 64 levels */
    size_t n = 1;
    switch (v->type) {
    case VL_JSON_STRING:
        n += strlen(v->string);
        break;
    case VL_JSON_OBJECT:
        for (size_t i = 0; i < v->len; i++) {
            n += strlen(v->keys[i]);
            if (vl_json_get(v, v->keys[i]) == NULL) abort();
        }
        /* fall through */
    case VL_JSON_ARRAY:
        for (size_t i = 0; i < v->len; i++) n += walk(v->items[i], depth + 1);
        break;
    default:
        break;
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vl_arena arena = {0};
    struct vl_json *root = NULL;
    struct vl_error err = {{0}};
    if (vl_json_parse(&arena, "fuzz.json", (const char *)data, size, &root, &err) == 0) {
        if (!root) abort();
        walk(root, 1);
    } else if (!err.msg[0]) {
        abort();
    }
    vl_arena_release(&arena);
    return 0;
}
