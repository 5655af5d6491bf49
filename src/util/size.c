/* size.c - parsing byte counts. */
#include "util/size.h"

#include <errno.h>
#include <stdlib.h>

int vl_parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    double mult = 1;
    switch (*end) {
    case 'K': case 'k': mult = 1024.0; break;
    case 'M': case 'm': mult = 1024.0 * 1024; break;
    case 'G': case 'g': mult = 1024.0 * 1024 * 1024; break;
    case 'T': case 't': mult = 1024.0 * 1024 * 1024 * 1024; break;
    }
    if (mult > 1) end++;
    if (mult > 1 && *end == 'i') end++;
    if (*end == 'B') end++;
    if (end == s || *end || errno || !(v >= 0) || v * mult > 1.8e19) return -1;
    *out = (uint64_t)(v * mult);
    return 0;
}
