/* error.h - the caller-owned error buffer every fallible function fills.
 *
 * Functions return 0 on success or a negative value on failure; on failure
 * they describe what went wrong in a struct vl_error the caller passed in.
 * Messages are lowercase, without a full stop, and name the file, the rule or
 * the `path:line:col` they are about.  Only main() prints and exits. */
#ifndef VL_ERROR_H
#define VL_ERROR_H

#include <stdarg.h>

#define VL_ERROR_MAX 2048

struct vl_error {
    char msg[VL_ERROR_MAX];
};

/* Formats a message into err (if err is not NULL); always returns -1 so that
 * callers can write `return vl_error_set(err, ...)`. */
int vl_error_set(struct vl_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Like vl_error_set, with a va_list. */
int vl_error_setv(struct vl_error *err, const char *fmt, va_list ap);

/* Prefixes the current message with a formatted context, "context: message". */
int vl_error_prefix(struct vl_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
