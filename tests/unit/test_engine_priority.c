/* test_engine_priority.c - the scheduler's order (exec/priority.h): action
 * estimates, critical-path ranks and the ready heap, on hand-made graphs. */
#include <stdint.h>
#include <stdlib.h>

#include "exec/priority.h"
#include "test.h"
#include "util/rng.h"

/* A file of size bytes (0: missing). */
static struct vl_node file(const char *path, uint64_t size)
{
    struct vl_node n = {.path = path, .stat_done = 1};
    n.st.size = size;
    n.st.exists = size > 0;
    return n;
}

static void test_estimate_prefers_the_last_run_and_else_counts_bytes(void)
{
    struct vl_node in = file("big.mp4", 1000000), *ins[] = {&in};
    struct vl_edge e = {.inputs = ins, .n_inputs = 1, .state = VL_EDGE_DIRTY};
    int64_t from_bytes = vl_priority_estimate(&e);
    struct vl_node small = file("small.mp4", 1000), *smalls[] = {&small};
    struct vl_edge f = {.inputs = smalls, .n_inputs = 1, .state = VL_EDGE_DIRTY};
    CHECK(from_bytes > vl_priority_estimate(&f));
    struct vl_action_record rec = {.start_ns = 5000000000, .end_ns = 5000000000 + 42};
    e.action_rec = &rec;
    CHECK(vl_priority_estimate(&e) == 42);
    rec.end_ns = rec.start_ns; /* a record without a duration is no history */
    CHECK(vl_priority_estimate(&e) == from_bytes);
}

/* Two chains: probe -> scale -> features of a large video, and of a small
 * one.  Every action of the large chain outranks every one of the small. */
static void test_rank_follows_the_longest_chain(void)
{
    struct vl_node big = file("big.mp4", 8000000), small = file("small.mp4", 10000);
    struct vl_node meta_b = file("b.json", 0), meta_s = file("s.json", 0);
    struct vl_node clip_b = file("b.npy", 0), clip_s = file("s.npy", 0);
    struct vl_node feat_b = file("bf.npy", 0), feat_s = file("sf.npy", 0);
    struct vl_edge e[6] = {0};
    struct vl_node *in[6][2] = {{&big}, {&small}, {&big, &meta_b}, {&small, &meta_s}, {&clip_b}, {&clip_s}};
    struct vl_node *out[6][1] = {{&meta_b}, {&meta_s}, {&clip_b}, {&clip_s}, {&feat_b}, {&feat_s}};
    size_t n_in[6] = {1, 1, 2, 2, 1, 1};
    struct vl_edge *order[6];
    for (int i = 0; i < 6; i++) {
        e[i] = (struct vl_edge){.inputs = in[i], .n_inputs = n_in[i], .outputs = out[i],
                                .n_outputs = 1, .state = VL_EDGE_DIRTY, .index = (size_t)i};
        order[i] = &e[i];
    }
    struct vl_edge *users_meta_b[] = {&e[2]}, *users_meta_s[] = {&e[3]};
    struct vl_edge *users_clip_b[] = {&e[4]}, *users_clip_s[] = {&e[5]};
    meta_b.consumers = users_meta_b, meta_b.n_consumers = 1;
    meta_s.consumers = users_meta_s, meta_s.n_consumers = 1;
    clip_b.consumers = users_clip_b, clip_b.n_consumers = 1;
    clip_s.consumers = users_clip_s, clip_s.n_consumers = 1;
    struct vl_plan plan = {.order = order, .len = 6};
    int64_t rank[6] = {0};
    vl_priority_rank(&plan, rank);
    CHECK(rank[0] == vl_priority_estimate(&e[0]) + rank[2]);
    CHECK(rank[2] == vl_priority_estimate(&e[2]) + rank[4]);
    CHECK(rank[4] == vl_priority_estimate(&e[4]));
    CHECK(rank[0] > rank[1] && rank[2] > rank[3] && rank[0] > rank[2]);
    /* an action that will not run adds nothing to its producers' ranks */
    e[4].state = VL_EDGE_CLEAN;
    int64_t again[6] = {0};
    vl_priority_rank(&plan, again);
    CHECK(again[2] == vl_priority_estimate(&e[2]));
    CHECK(again[4] == 0);
}

/* The heap gives the highest rank first and equal ranks by edge index,
 * whatever order they arrive in. */
static void test_ready_heap_orders_by_rank_then_index(void)
{
    enum { N = 500 };
    static struct vl_edge e[N];
    int64_t rank[N];
    struct vl_rng rng;
    vl_rng_seed(&rng, 3);
    struct vl_ready q = {.rank = rank};
    for (int i = 0; i < N; i++) {
        e[i].index = (size_t)i;
        rank[i] = (int64_t)(vl_rng_next(&rng) % 20); /* many ties */
    }
    for (int i = 0; i < N; i++) vl_ready_push(&q, &e[(i * 211) % N]); /* a shuffled order */
    int ok = 1;
    const struct vl_edge *prev = vl_ready_pop(&q);
    for (int i = 1; i < N; i++) {
        const struct vl_edge *next = vl_ready_pop(&q);
        if (!next) { ok = 0; break; }
        int64_t rp = rank[prev->index], rn = rank[next->index];
        ok &= rp > rn || (rp == rn && prev->index < next->index);
        prev = next;
    }
    CHECK(ok);
    CHECK(vl_ready_pop(&q) == NULL && q.len == 0);
    vl_ready_push(&q, &e[7]);
    CHECK(vl_ready_pop(&q) == &e[7]);
    vl_ready_release(&q);
}

int main(void)
{
    test_estimate_prefers_the_last_run_and_else_counts_bytes();
    test_rank_follows_the_longest_chain();
    test_ready_heap_orders_by_rank_then_index();
    TEST_DONE();
}
