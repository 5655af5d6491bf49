/* strbuf.c - growable byte buffers. */
#include "util/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char vl_strbuf_empty[1];

void vl_strbuf_grow(struct vl_strbuf *sb, size_t extra)
{
    if (sb->len + extra + 1 <= sb->cap) return;
    size_t cap = sb->cap ? sb->cap : 64;
    while (cap < sb->len + extra + 1) cap *= 2;
    char *p = realloc(sb->cap ? sb->buf : NULL, cap);
    if (!p) abort();
    if (!sb->cap) p[0] = '\0';
    sb->buf = p;
    sb->cap = cap;
}

void vl_strbuf_add(struct vl_strbuf *sb, const void *data, size_t n)
{
    vl_strbuf_grow(sb, n);
    memcpy(sb->buf + sb->len, data, n);
    sb->len += n;
    sb->buf[sb->len] = '\0';
}

void vl_strbuf_adds(struct vl_strbuf *sb, const char *s)
{
    vl_strbuf_add(sb, s, strlen(s));
}

void vl_strbuf_addch(struct vl_strbuf *sb, char c)
{
    vl_strbuf_add(sb, &c, 1);
}

void vl_strbuf_addf(struct vl_strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof small) {
        vl_strbuf_add(sb, small, (size_t)n);
        return;
    }
    vl_strbuf_grow(sb, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
}

void vl_strbuf_add_shell_quoted(struct vl_strbuf *sb, const char *s)
{
    if (*s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789_-./+,:=@%") == strlen(s)) {
        vl_strbuf_adds(sb, s);
        return;
    }
    vl_strbuf_addch(sb, '\'');
    for (; *s; s++) {
        if (*s == '\'')
            vl_strbuf_adds(sb, "'\\''");
        else
            vl_strbuf_addch(sb, *s);
    }
    vl_strbuf_addch(sb, '\'');
}

void vl_strbuf_add_json_string(struct vl_strbuf *sb, const char *s)
{
    vl_strbuf_addch(sb, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '"': vl_strbuf_adds(sb, "\\\""); break;
        case '\\': vl_strbuf_adds(sb, "\\\\"); break;
        case '\n': vl_strbuf_adds(sb, "\\n"); break;
        case '\r': vl_strbuf_adds(sb, "\\r"); break;
        case '\t': vl_strbuf_adds(sb, "\\t"); break;
        default:
            if (c < 0x20)
                vl_strbuf_addf(sb, "\\u%04x", c);
            else
                vl_strbuf_addch(sb, (char)c);
        }
    }
    vl_strbuf_addch(sb, '"');
}

void vl_strbuf_reset(struct vl_strbuf *sb)
{
    sb->len = 0;
    if (sb->cap) sb->buf[0] = '\0';
}

void vl_strbuf_release(struct vl_strbuf *sb)
{
    if (sb->cap) free(sb->buf);
    sb->buf = vl_strbuf_empty;
    sb->len = sb->cap = 0;
}

char *vl_strbuf_detach(struct vl_strbuf *sb, size_t *len)
{
    char *s = sb->cap ? sb->buf : calloc(1, 1);
    if (!s) abort();
    if (len) *len = sb->len;
    sb->buf = vl_strbuf_empty;
    sb->len = sb->cap = 0;
    return s;
}
