/* test_engine_action_detail.c - what explain says changed between two
 * recorded details (exec/action_detail.h): long lists are cut, a long
 * command is shown around its first difference, reorders and damaged
 * entries are told apart from nothing changed. */
#include <stdio.h>
#include <string.h>

#include "exec/action_detail.h"
#include "state/state.h"
#include "test.h"

/* The diff of two details, each given as "tag:text" words. */
static const char *diff_of(const char *const *before, const char *const *now, size_t *named)
{
    static struct vl_strbuf out = VL_STRBUF_INIT;
    struct vl_strbuf b = VL_STRBUF_INIT, a = VL_STRBUF_INIT;
    for (; *before; before++) vl_state_detail_add(&b, (*before)[0], *before + 2);
    for (; *now; now++) vl_state_detail_add(&a, (*now)[0], *now + 2);
    vl_strbuf_reset(&out);
    *named = vl_action_detail_diff(b.buf, b.len, a.buf, a.len, &out);
    vl_strbuf_release(&b);
    vl_strbuf_release(&a);
    return out.buf ? out.buf : "";
}

int main(void)
{
    size_t n;
    /* the same detail: nothing to name */
    const char *same[] = {"a:stamp version 1", "k:0", "p:label=x", "o:build/s", "i:d/a", NULL};
    CHECK_STR(diff_of(same, same, &n), "");
    CHECK(n == 0);

    /* several parameters at once, one new and one gone */
    const char *p0[] = {"a:scale version 2", "p:size=8x8", "p:frames=2", "p:mode=crop", NULL};
    const char *p1[] = {"a:scale version 2", "p:size=16x16", "p:frames=2", "p:seed=3", NULL};
    CHECK_STR(diff_of(p0, p1, &n), "parameter size changed from 8x8 to 16x16; parameter seed is "
                                   "new (3); parameter mode is gone (was crop)");
    CHECK(n == 3);

    /* a version: the action's name and version, not its parameters */
    const char *v0[] = {"a:probe version 2", "p:x=1", NULL};
    const char *v1[] = {"a:probe version 3", "p:x=2", NULL};
    CHECK_STR(diff_of(v0, v1, &n), "its action changed from probe version 2 to probe version 3");

    /* many inputs added: the first three, and a count */
    const char *i0[] = {"c:cat $in > $out", "o:all", "i:d/0", NULL};
    const char *i1[] = {"c:cat $in > $out", "o:all", "i:d/0", "i:d/1", "i:d/2", "i:d/3",
                        "i:d/4", "i:d/5", NULL};
    CHECK_STR(diff_of(i0, i1, &n), "input d/1 added; input d/2 added; input d/3 added; and 2 more "
                                   "inputs added");
    /* the same inputs in another order */
    const char *r0[] = {"c:x", "o:all", "i:d/0", "i:d/1", NULL};
    const char *r1[] = {"c:x", "o:all", "i:d/1", "i:d/0", NULL};
    CHECK_STR(diff_of(r0, r1, &n), "its inputs are in another order");

    /* a long command: around the first difference, with ellipses */
    char long0[300], long1[300];
    snprintf(long0, sizeof long0, "c:%0100d tail one %0100d", 0, 0);
    snprintf(long1, sizeof long1, "c:%0100d tail two %0100d", 0, 0);
    const char *c0[] = {long0, NULL}, *c1[] = {long1, NULL};
    const char *text = diff_of(c0, c1, &n);
    /* 20 bytes before the first difference, 60 in all */
    CHECK_STR(text, "its command changed from '...00000000000000 tail one "
                    "000000000000000000000000000000000000...' to '...00000000000000 tail two "
                    "000000000000000000000000000000000000...'");

    /* a damaged record (no final NUL) reads as far as it is whole */
    struct vl_strbuf out = VL_STRBUF_INIT;
    const char damaged[] = {'p', 'a', '=', '1', '\0', 'p', 'b', '=', '2'};
    struct vl_strbuf now = VL_STRBUF_INIT;
    vl_state_detail_add(&now, 'p', "a=1");
    n = vl_action_detail_diff(damaged, sizeof damaged, now.buf, now.len, &out);
    CHECK(n == 0);
    vl_strbuf_release(&out);
    vl_strbuf_release(&now);
    TEST_DONE();
}
