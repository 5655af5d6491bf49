/* fuzz_cache_entry.c - libFuzzer target: the cache's action entry parser
 * (vl_cache_entry_parse).  An accepted entry formats back to the same bytes
 * (the format has one spelling) or at least parses again to the same entry. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cache/entry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vl_cache_entry e = {0}, again = {0};
    struct vl_error err = {{0}};
    if (vl_cache_entry_parse((const char *)data, size, &e, &err) == 0) {
        struct vl_strbuf sb = VL_STRBUF_INIT;
        if (vl_cache_entry_format(&e, &sb, &err) < 0) abort();
        if (vl_cache_entry_parse(sb.buf, sb.len, &again, &err) < 0) abort();
        if (again.n != e.n) abort();
        for (size_t i = 0; i < e.n; i++)
            if (memcmp(&again.outputs[i].hash, &e.outputs[i].hash, sizeof e.outputs[i].hash) ||
                again.outputs[i].size != e.outputs[i].size ||
                again.outputs[i].mode != e.outputs[i].mode ||
                strcmp(again.outputs[i].path, e.outputs[i].path))
                abort();
        vl_cache_entry_free(&again);
        vl_strbuf_release(&sb);
    } else if (!err.msg[0]) {
        abort();
    } else if (e.n || e.outputs) {
        abort(); /* a failed parse leaves the entry empty */
    }
    vl_cache_entry_free(&e);
    return 0;
}
