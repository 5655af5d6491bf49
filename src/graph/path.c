/* path.c - lexical normalisation of rules paths (see path.h). */
#include "graph/path.h"

#include <string.h>

/* Appends the components of s to out (an absolute path, at least "/"),
 * resolving "." and ".." lexically. */
static void add_components(struct vl_strbuf *out, const char *s)
{
    while (*s) {
        while (*s == '/') s++;
        size_t n = strcspn(s, "/");
        if (n == 0) break;
        if (n == 1 && s[0] == '.') {
            /* nothing */
        } else if (n == 2 && s[0] == '.' && s[1] == '.') {
            while (out->len > 1 && out->buf[out->len - 1] != '/') out->len--;
            if (out->len > 1) out->len--; /* the '/' before the dropped component */
            out->buf[out->len] = '\0';
        } else {
            if (out->buf[out->len - 1] != '/') vl_strbuf_addch(out, '/');
            vl_strbuf_add(out, s, n);
        }
        s += n;
    }
}

enum vl_path_place vl_path_normalise(const char *path, const char *root, struct vl_strbuf *out)
{
    vl_strbuf_reset(out);
    vl_strbuf_addch(out, '/');
    if (path[0] != '/') add_components(out, root);
    add_components(out, path);
    size_t root_len = strlen(root);
    while (root_len > 1 && root[root_len - 1] == '/') root_len--;
    if (root_len == 1) root_len = 0; /* the project is "/": everything is below it */
    if ((out->len == root_len && !strncmp(out->buf, root, root_len)) ||
        (root_len == 0 && out->len == 1)) {
        vl_strbuf_reset(out);
        vl_strbuf_addch(out, '.');
        return VL_PATH_ROOT;
    }
    if (!strncmp(out->buf, root, root_len) && out->buf[root_len] == '/') {
        size_t skip = root_len + 1;
        memmove(out->buf, out->buf + skip, out->len - skip + 1);
        out->len -= skip;
        return VL_PATH_INSIDE;
    }
    return VL_PATH_OUTSIDE;
}
