/* entry.h - the action entry: what an action key maps to (see entry.c). */
#ifndef VL_CACHE_ENTRY_H
#define VL_CACHE_ENTRY_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "util/fs.h"
#include "util/strbuf.h"

/* The most bytes an entry may have; a longer one is refused as damaged. */
#define VL_CACHE_ENTRY_MAX (1u << 20)

struct vl_cache_output {
    struct vl_hash hash; /* XXH3-128 of the content: the blob's name */
    uint64_t size;
    unsigned mode; /* 0755 or 0644 when stored; a restore uses only its executable bits */
    char *path;    /* as the caller gave it, relative to the project */
};

struct vl_cache_entry {
    struct vl_cache_output *outputs; /* owned */
    size_t n;
};

/* Appends the text form of e to sb.  Fails when a path cannot be recorded
 * (empty, or holding a newline). */
int vl_cache_entry_format(const struct vl_cache_entry *e, struct vl_strbuf *sb,
                          struct vl_error *err);
/* Parses n bytes into *e (which the caller frees with vl_cache_entry_free);
 * fails with a message on any deviation from the format, another version
 * included, leaving *e empty. */
int vl_cache_entry_parse(const char *data, size_t n, struct vl_cache_entry *e,
                         struct vl_error *err);
/* Frees what e owns and empties it. */
void vl_cache_entry_free(struct vl_cache_entry *e);

#endif
