/* error.c - formatting of the caller-owned error buffer. */
#include "util/error.h"

#include <stdio.h>
#include <string.h>

int vl_error_setv(struct vl_error *err, const char *fmt, va_list ap)
{
    if (err) vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    return -1;
}

int vl_error_set(struct vl_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vl_error_setv(err, fmt, ap);
    va_end(ap);
    return -1;
}

int vl_error_prefix(struct vl_error *err, const char *fmt, ...)
{
    if (!err) return -1;
    char prefix[VL_ERROR_MAX], old[VL_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%.1000s: %.1000s", prefix, old);
    return -1;
}
