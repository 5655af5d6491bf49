/* test.h - the tiny assertion kit of the unit tests.  Each test file is one
 * process; a failed CHECK prints file:line and the expression and makes the
 * process exit non-zero at the end; TEST_SKIP exits 77 (ctest: skipped). */
#ifndef VL_TEST_H
#define VL_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int vl_test_failures;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            vl_test_failures++;                                                                    \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                                   \
            fprintf(stderr, "%s:%d: expected \"%s\", got \"%s\"\n", __FILE__, __LINE__,            \
                    b_ ? b_ : "(null)", a_ ? a_ : "(null)");                                       \
            vl_test_failures++;                                                                    \
        }                                                                                          \
    } while (0)

#define CHECK_CONTAINS(hay, needle)                                                                \
    do {                                                                                           \
        const char *h_ = (hay), *n_ = (needle);                                                    \
        if (!h_ || !strstr(h_, n_)) {                                                              \
            fprintf(stderr, "%s:%d: expected \"%s\" to contain \"%s\"\n", __FILE__, __LINE__,      \
                    h_ ? h_ : "(null)", n_);                                                       \
            vl_test_failures++;                                                                    \
        }                                                                                          \
    } while (0)

#define TEST_SKIP(why)                                                                             \
    do {                                                                                           \
        printf("SKIPPED: %s\n", why);                                                              \
        exit(77);                                                                                  \
    } while (0)

#define TEST_DONE()                                                                                \
    do {                                                                                           \
        if (vl_test_failures) fprintf(stderr, "%d check(s) failed\n", vl_test_failures);           \
        return vl_test_failures ? 1 : 0;                                                           \
    } while (0)

#endif
