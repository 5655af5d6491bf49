/* trace.c - Chrome trace events.
 *
 * Format: {"traceEvents": [...], "displayTimeUnit": "ms"}, each event
 * {"name", "cat" (the rule), "ph": "X", "ts" and "dur" in microseconds from
 * the start of the build, "pid": 1, "tid" (the worker slot),
 * "args": {"result": "ran"|"failed"|"interrupted"}}. */
#include "exec/trace.h"

#include "util/fs.h"

void vl_trace_init(struct vl_trace *t, int64_t origin_ns)
{
    t->events = (struct vl_strbuf)VL_STRBUF_INIT;
    t->n_events = 0;
    t->origin_ns = origin_ns;
}

void vl_trace_add(struct vl_trace *t, const char *name, const char *cat, int64_t start_ns,
                  int64_t end_ns, int tid, const char *result)
{
    if (t->n_events++) vl_strbuf_adds(&t->events, ",\n");
    vl_strbuf_adds(&t->events, "{\"name\":");
    vl_strbuf_add_json_string(&t->events, name);
    vl_strbuf_adds(&t->events, ",\"cat\":");
    vl_strbuf_add_json_string(&t->events, cat);
    vl_strbuf_addf(&t->events,
                   ",\"ph\":\"X\",\"ts\":%.3f,\"dur\":%.3f,\"pid\":1,\"tid\":%d,"
                   "\"args\":{\"result\":\"%s\"}}",
                   (double)(start_ns - t->origin_ns) / 1e3, (double)(end_ns - start_ns) / 1e3,
                   tid, result);
}

int vl_trace_write(struct vl_trace *t, const char *path, struct vl_error *err)
{
    struct vl_strbuf out = VL_STRBUF_INIT;
    vl_strbuf_adds(&out, "{\"traceEvents\":[\n");
    vl_strbuf_add(&out, t->events.buf, t->events.len);
    vl_strbuf_adds(&out, "\n],\"displayTimeUnit\":\"ms\"}\n");
    int rc = vl_write_file_atomic(path, out.buf, out.len, err);
    vl_strbuf_release(&out);
    return rc;
}

void vl_trace_release(struct vl_trace *t)
{
    vl_strbuf_release(&t->events);
}
