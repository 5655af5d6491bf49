/* json.h - a small JSON reader (RFC 8259) into a tree, for the files vlbuild
 * reads back: metadata, metrics logs, traces, sidecars.  Values live in an
 * arena owned by the caller. */
#ifndef VL_JSON_H
#define VL_JSON_H

#include <stddef.h>

#include "util/arena.h"
#include "util/error.h"

enum vl_json_type { VL_JSON_NULL, VL_JSON_BOOL, VL_JSON_NUMBER, VL_JSON_STRING, VL_JSON_ARRAY,
                    VL_JSON_OBJECT };

struct vl_json {
    enum vl_json_type type;
    double number;         /* NUMBER, BOOL (0 or 1) */
    const char *string;    /* STRING (UTF-8, NUL-terminated) */
    struct vl_json **items; /* ARRAY elements, OBJECT values */
    const char **keys;      /* OBJECT keys */
    size_t len;
};

/* Parses n bytes of text into *out (allocated in arena).  Errors give the
 * line and column ("name:3:14: expected ',' or '}'"); nesting is limited to
 * 64 levels so hostile input cannot exhaust the stack. */
int vl_json_parse(struct vl_arena *arena, const char *name, const char *text, size_t n,
                  struct vl_json **out, struct vl_error *err);
/* Returns the member key of an object, or NULL (also when v is not an object). */
const struct vl_json *vl_json_get(const struct vl_json *v, const char *key);
/* Returns member key as a number, or fallback when absent or not a number. */
double vl_json_number(const struct vl_json *v, const char *key, double fallback);
/* Returns member key as a string, or fallback when absent or not a string. */
const char *vl_json_string(const struct vl_json *v, const char *key, const char *fallback);

#endif
