/* fuzz_meta_json.c - libFuzzer target: the video metadata reader
 * (vl_meta_from_json).  What it accepts must read back after
 * vl_meta_to_json, with the same numbers.  (Strings are not compared: the
 * reader keeps \u escapes as written, and libav's names never need them.) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/strbuf.h"
#include "video/probe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct vl_video_meta meta;
    memset(&meta, 0, sizeof meta);
    struct vl_error err = {{0}};
    if (vl_meta_from_json(text, &meta, &err) == 0) {
        struct vl_strbuf a = VL_STRBUF_INIT, b = VL_STRBUF_INIT;
        vl_meta_to_json(&meta, &a);
        struct vl_video_meta again;
        memset(&again, 0, sizeof again);
        if (vl_meta_from_json(a.buf, &again, &err) < 0) abort();
        again.container[0] = again.codec[0] = again.profile[0] = again.pix_fmt[0] = '\0';
        meta.container[0] = meta.codec[0] = meta.profile[0] = meta.pix_fmt[0] = '\0';
        vl_strbuf_reset(&a);
        vl_meta_to_json(&meta, &a);
        vl_meta_to_json(&again, &b);
        if (strcmp(a.buf, b.buf) != 0) abort();
        vl_strbuf_release(&a);
        vl_strbuf_release(&b);
    }
    free(text);
    return 0;
}
