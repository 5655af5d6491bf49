/* strbuf.h - a growable, always NUL-terminated byte buffer.
 *
 * `buf` is never NULL once initialised (it points to a static empty string
 * until the first growth), so a strbuf can always be printed.  Allocation
 * failure aborts: a build tool that cannot allocate a few bytes has nothing
 * better to do. */
#ifndef VL_STRBUF_H
#define VL_STRBUF_H

#include <stddef.h>

struct vl_strbuf {
    char *buf;
    size_t len;
    size_t cap;
};

#define VL_STRBUF_INIT {vl_strbuf_empty, 0, 0}
extern char vl_strbuf_empty[];

/* Makes room for at least `extra` more bytes (plus the terminator). */
void vl_strbuf_grow(struct vl_strbuf *sb, size_t extra);
/* Appends n bytes. */
void vl_strbuf_add(struct vl_strbuf *sb, const void *data, size_t n);
/* Appends a NUL-terminated string. */
void vl_strbuf_adds(struct vl_strbuf *sb, const char *s);
/* Appends one byte. */
void vl_strbuf_addch(struct vl_strbuf *sb, char c);
/* Appends printf-style formatted text. */
void vl_strbuf_addf(struct vl_strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends s quoted for /bin/sh when it holds anything but safe characters. */
void vl_strbuf_add_shell_quoted(struct vl_strbuf *sb, const char *s);
/* Appends s as a JSON string literal, quotes included. */
void vl_strbuf_add_json_string(struct vl_strbuf *sb, const char *s);
/* Empties the buffer, keeping its memory. */
void vl_strbuf_reset(struct vl_strbuf *sb);
/* Frees the memory and re-initialises the buffer. */
void vl_strbuf_release(struct vl_strbuf *sb);
/* Hands the string to the caller (who frees it) and re-initialises sb. */
char *vl_strbuf_detach(struct vl_strbuf *sb, size_t *len);

#endif
