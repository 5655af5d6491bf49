/* priority.c - critical-path ranks of the actions of a build and the
 * scheduler's ready heap (see priority.h). */
#include "exec/priority.h"

#include <stdlib.h>

/* An action that never ran: 100 ns a byte read (10 MB/s, the order of one
 * thread decoding and transforming compressed video), plus 1 ms. */
#define ESTIMATE_NS_PER_BYTE 100
#define ESTIMATE_FIXED_NS 1000000

int64_t vl_priority_estimate(const struct vl_edge *e)
{
    const struct vl_action_record *r = e->action_rec;
    if (r && r->start_ns > 0 && r->end_ns > r->start_ns) return r->end_ns - r->start_ns;
    int64_t bytes = 0;
    for (size_t i = 0; i < e->n_inputs; i++)
        if (e->inputs[i]->stat_done && e->inputs[i]->st.exists)
            bytes += (int64_t)e->inputs[i]->st.size;
    return ESTIMATE_FIXED_NS + bytes * ESTIMATE_NS_PER_BYTE;
}

/* The largest rank among the users of e's outputs that will or may run. */
static int64_t rank_after(const struct vl_edge *e, const int64_t *rank)
{
    int64_t after = 0;
    for (size_t i = 0; i < e->n_outputs; i++) {
        const struct vl_node *o = e->outputs[i];
        for (size_t c = 0; c < o->n_consumers; c++) {
            const struct vl_edge *user = o->consumers[c];
            if (vl_edge_will_run(user) && rank[user->index] > after) after = rank[user->index];
        }
    }
    return after;
}

void vl_priority_rank(const struct vl_plan *plan, int64_t *rank)
{
    /* plan->order has inputs before users: walk it backwards, so that every
     * reader of an action's outputs is ranked before the action itself */
    for (size_t k = plan->len; k-- > 0;) {
        const struct vl_edge *e = plan->order[k];
        if (vl_edge_will_run(e)) vl_priority_refresh(e, rank);
    }
}

void vl_priority_refresh(const struct vl_edge *e, int64_t *rank)
{
    rank[e->index] = vl_priority_estimate(e) + rank_after(e, rank);
}

/* 1 when a starts before b. */
static int before(const struct vl_ready *q, const struct vl_edge *a, const struct vl_edge *b)
{
    int64_t ra = q->rank[a->index], rb = q->rank[b->index];
    return ra != rb ? ra > rb : a->index < b->index;
}

void vl_ready_push(struct vl_ready *q, struct vl_edge *e)
{
    if (q->len == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 64;
        q->items = realloc(q->items, q->cap * sizeof *q->items);
        if (!q->items) abort();
    }
    size_t i = q->len++;
    while (i > 0 && before(q, e, q->items[(i - 1) / 2])) {
        q->items[i] = q->items[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    q->items[i] = e;
}

struct vl_edge *vl_ready_pop(struct vl_ready *q)
{
    if (!q->len) return NULL;
    struct vl_edge *first = q->items[0], *last = q->items[--q->len];
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= q->len) break;
        if (child + 1 < q->len && before(q, q->items[child + 1], q->items[child])) child++;
        if (!before(q, q->items[child], last)) break;
        q->items[i] = q->items[child];
        i = child;
    }
    if (q->len) q->items[i] = last;
    return first;
}

void vl_ready_release(struct vl_ready *q)
{
    free(q->items);
    q->items = NULL;
    q->len = q->cap = 0;
}
