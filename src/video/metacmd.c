/* metacmd.c - `vlbuild meta [--json] FILE...`.
 *
 * Table columns: file, codec, display size, average fps, frames, duration in
 * seconds, rotation.  --json prints an array of the cached metadata objects
 * (probe.c describes their fields) with a leading "file" field added. */
#include "video/metacmd.h"

#include <stdio.h>
#include <string.h>

#include "util/fs.h"
#include "util/strbuf.h"
#include "video/metacache.h"
#include "video/probe.h"

static int meta_of(const char *path, const char *state_path, struct vl_strbuf *json,
                   struct vl_error *err)
{
    struct vl_hash h;
    int hit;
    if (vl_hash_file(path, &h, err) < 0) return -1;
    return vl_video_meta_lookup(state_path, path, &h, json, &hit, err);
}

int vl_meta_command(int argc, char **argv, const char *state_path)
{
    int as_json = 0, first = 1, status = 0, files = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) as_json = 1;
        else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "vlbuild meta: unknown option %s\nusage: vlbuild meta [--json] FILE...\n",
                    argv[i]);
            return 2;
        } else files++;
    }
    if (!files) {
        fprintf(stderr, "usage: vlbuild meta [--json] FILE...\n");
        return 2;
    }
    if (as_json) printf("[");
    else printf("%-32s %-10s %11s %8s %8s %10s %4s\n", "file", "codec", "size", "fps", "frames",
                "duration", "rot");
    struct vl_strbuf json = VL_STRBUF_INIT;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json") || (argv[i][0] == '-' && argv[i][1])) continue;
        struct vl_error err;
        struct vl_video_meta m;
        vl_strbuf_reset(&json);
        if (meta_of(argv[i], state_path, &json, &err) < 0 ||
            vl_meta_from_json(json.buf, &m, &err) < 0) {
            fprintf(stderr, "vlbuild meta: %s\n", err.msg);
            status = 1;
            continue;
        }
        if (as_json) {
            struct vl_strbuf name = VL_STRBUF_INIT;
            vl_strbuf_add_json_string(&name, argv[i]);
            while (json.len && (json.buf[json.len - 1] == '\n')) json.buf[--json.len] = '\0';
            printf("%s\n{\"file\": %s, %s", first ? "" : ",", name.buf, json.buf + 1);
            vl_strbuf_release(&name);
        } else {
            char size[32];
            snprintf(size, sizeof size, "%dx%d", m.width, m.height);
            printf("%-32s %-10s %11s %8.3f %8lld %10.3f %4d\n", argv[i], m.codec, size, m.fps,
                   (long long)m.frames, m.duration, m.rotation);
        }
        first = 0;
    }
    if (as_json) printf("%s]\n", first ? "" : "\n");
    vl_strbuf_release(&json);
    fflush(stdout);
    return status;
}
