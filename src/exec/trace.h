/* trace.h - a Chrome trace (chrome://tracing, Perfetto) of a build. */
#ifndef VL_TRACE_H
#define VL_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"
#include "util/strbuf.h"

struct vl_trace {
    struct vl_strbuf events; /* comma-separated JSON objects */
    size_t n_events;
    int64_t origin_ns;
};

/* Starts a trace whose timestamps count from origin_ns (monotonic). */
void vl_trace_init(struct vl_trace *t, int64_t origin_ns);
/* Adds one complete event: an action of category cat on worker slot tid. */
void vl_trace_add(struct vl_trace *t, const char *name, const char *cat, int64_t start_ns,
                  int64_t end_ns, int tid, const char *result);
/* Writes the trace as JSON to path (atomically). */
int vl_trace_write(struct vl_trace *t, const char *path, struct vl_error *err);
/* Frees the events. */
void vl_trace_release(struct vl_trace *t);

#endif
