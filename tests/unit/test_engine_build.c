/* test_engine_build.c - the planner and the scheduler together, in one
 * process: staleness, early cutoff, -k, pools and interrupts, with the fake
 * runner of engine_fixture.h (nothing is spawned).  One behaviour a test. */
#include "engine_fixture.h"

/* Three sources, each made into a step and then an after; one aggregate
 * reads every after. */
static const char chain_rules[] = "source src = src/*.txt\n"
                                  "rule step\n"
                                  "    each s in src\n"
                                  "    run  cat $in > $out\n"
                                  "    out  out/{s.stem}.step\n"
                                  "rule after\n"
                                  "    each t in step\n"
                                  "    run  cat $in > $out\n"
                                  "    out  out/{t.stem}.after\n"
                                  "rule all\n"
                                  "    in   after\n"
                                  "    run  cat $in > $out\n"
                                  "    out  out/all.txt\n";
#define CHAIN_ACTIONS 7

static struct fx *chain(const char *name)
{
    struct fx *fx = fx_open(name);
    fx_write("src/a.txt", "a");
    fx_write("src/b.txt", "b");
    fx_write("src/c.txt", "c");
    fx_rules(chain_rules);
    return fx;
}

/* 1 when every action of the last build's graph was decided up to date. */
static int all_up_to_date(struct fx *fx)
{
    int ok = 1;
    for (size_t i = 0; i < fx->graph.n_edges; i++) {
        const struct vl_edge *e = fx->graph.edges[i];
        if (e->state != VL_EDGE_CLEAN || e->reason != VL_REASON_UP_TO_DATE) {
            fprintf(stderr, "%s: state %d, reason %d\n", e->outputs[0]->path, e->state, e->reason);
            ok = 0;
        }
    }
    return ok;
}

static void test_fresh_build_runs_everything_in_dependency_order(void)
{
    struct fx *fx = chain("fresh");
    CHECK(fx_build(fx) == 0);
    CHECK(fx->summary.ran == CHAIN_ACTIONS && fx->summary.failed == 0);
    CHECK(fx->summary.not_run == 0 && fx->summary.up_to_date == 0 && !fx->summary.interrupted);
    CHECK(fx->n_calls == CHAIN_ACTIONS);
    /* every action was submitted once, after the actions that make its inputs */
    for (size_t i = 0; i < fx->graph.n_edges; i++) {
        const struct vl_edge *e = fx->graph.edges[i];
        int at = fx_call_index(fx, e->outputs[0]->path);
        CHECK(at >= 0);
        CHECK(e->reason == VL_REASON_NO_RECORD);
        for (size_t k = 0; k < e->n_inputs; k++)
            if (e->inputs[k]->producer)
                CHECK(fx_call_index(fx, e->inputs[k]->producer->outputs[0]->path) < at);
    }
    CHECK_STR(fx->calls[fx_call_index(fx, "out/b.step")].command, "cat src/b.txt > out/b.step");
    CHECK_STR(fx->calls[fx_call_index(fx, "out/b.step")].rule, "step");
    CHECK(fx_file_is("out/all.txt", "all(after(step(a)),after(step(b)),after(step(c)))"));
    fx_close(fx);
}

static void test_second_build_runs_nothing(void)
{
    struct fx *fx = chain("second");
    CHECK(fx_build(fx) == 0);
    CHECK(fx_build(fx) == 0);
    CHECK(fx->n_calls == 0);
    CHECK(fx->summary.ran == 0 && fx->summary.up_to_date == CHAIN_ACTIONS);
    CHECK(fx->plan.n_clean == CHAIN_ACTIONS && fx->plan.n_dirty == 0 && fx->plan.n_maybe == 0);
    CHECK(all_up_to_date(fx));
    fx_close(fx);
}

static void test_touched_source_with_same_content_runs_nothing(void)
{
    struct fx *fx = chain("touch");
    CHECK(fx_build(fx) == 0);
    const long long then = 1000000000; /* 2001: far from the mtime it had */
    fx_touch("src/b.txt", then);
    CHECK(fx_build(fx) == 0);
    CHECK(fx->n_calls == 0 && fx->summary.ran == 0);
    CHECK(all_up_to_date(fx));
    /* the touch was seen: the source was hashed again under its new stat */
    const struct vl_node *b = vl_graph_find(&fx->graph, "src/b.txt");
    CHECK(b && b->file_rec && b->file_rec->st.mtime_ns == then * 1000000000);
    fx_close(fx);
}

static void test_changed_source_reruns_only_its_dependents(void)
{
    struct fx *fx = chain("change");
    CHECK(fx_build(fx) == 0);
    fx_write("src/b.txt", "B");
    CHECK(fx_build(fx) == 0);
    CHECK(fx->n_calls == 3);
    int step = fx_call_index(fx, "out/b.step"), after = fx_call_index(fx, "out/b.after");
    int all = fx_call_index(fx, "out/all.txt");
    CHECK(step == 0 && after == 1 && all == 2);
    CHECK(fx->summary.ran == 3 && fx->summary.up_to_date == CHAIN_ACTIONS - 3);
    CHECK(fx_edge(fx, "out/b.step")->reason == VL_REASON_KEY_CHANGED);
    CHECK(fx_edge(fx, "out/b.after")->reason == VL_REASON_KEY_CHANGED);
    CHECK(fx_edge(fx, "out/a.step")->reason == VL_REASON_UP_TO_DATE);
    CHECK(fx_edge(fx, "out/c.after")->reason == VL_REASON_UP_TO_DATE);
    CHECK(fx_file_is("out/all.txt", "all(after(step(a)),after(step(B)),after(step(c)))"));
    fx_close(fx);
}

static void test_identical_rebuilt_input_cuts_off_its_users(void)
{
    struct fx *fx = chain("cutoff");
    fx_behave(fx, "step", FAKE_CONSTANT); /* a step's output ignores its source */
    CHECK(fx_build(fx) == 0);
    CHECK(fx->summary.ran == CHAIN_ACTIONS);
    fx_write("src/b.txt", "B");
    CHECK(fx_build(fx) == 0);
    CHECK(fx->n_calls == 1 && fx_call_index(fx, "out/b.step") == 0);
    CHECK(fx_edge(fx, "out/b.step")->reason == VL_REASON_KEY_CHANGED);
    /* planned as waiting on a rebuilt input, then decided by content */
    CHECK(fx_edge(fx, "out/b.after")->reason == VL_REASON_CUTOFF);
    CHECK(fx_edge(fx, "out/b.after")->state == VL_EDGE_CLEAN);
    CHECK(fx_edge(fx, "out/all.txt")->reason == VL_REASON_CUTOFF);
    CHECK(fx->plan.n_maybe == 2);
    CHECK(fx->summary.ran == 1 && fx->summary.up_to_date == CHAIN_ACTIONS - 1);
    fx_close(fx);
}

static void test_missing_output_is_rebuilt(void)
{
    struct fx *fx = chain("missing");
    CHECK(fx_build(fx) == 0);
    CHECK(unlink("out/a.step") == 0);
    CHECK(fx_build(fx) == 0);
    CHECK(fx->n_calls == 1 && fx_call_index(fx, "out/a.step") == 0);
    const struct vl_edge *e = fx_edge(fx, "out/a.step");
    CHECK(e->reason == VL_REASON_OUTPUT_MISSING);
    CHECK(e->reason_node && !strcmp(e->reason_node->path, "out/a.step"));
    CHECK(fx_edge(fx, "out/a.after")->reason == VL_REASON_CUTOFF);
    CHECK(fx_file_is("out/a.step", "step(a)"));
    CHECK(fx->summary.ran == 1);
    fx_close(fx);
}

static void test_modified_output_is_rebuilt(void)
{
    struct fx *fx = chain("modified");
    CHECK(fx_build(fx) == 0);
    fx_write("out/c.after", "edited by hand");
    CHECK(fx_build(fx) == 0);
    CHECK(fx->n_calls == 1 && fx_call_index(fx, "out/c.after") == 0);
    CHECK(fx_edge(fx, "out/c.after")->reason == VL_REASON_OUTPUT_MODIFIED);
    CHECK(fx_edge(fx, "out/all.txt")->reason == VL_REASON_CUTOFF);
    CHECK(fx_file_is("out/c.after", "after(step(c))"));
    fx_close(fx);
}

static void test_keep_going_1_stops_after_the_first_failure(void)
{
    struct fx *fx = chain("k1");
    fx->jobs = 1;
    fx->keep_going = 1;
    fx_behave(fx, "out/a.step", FAKE_FAIL);
    CHECK(fx_build(fx) == 0);
    CHECK(fx->n_calls == 1 && fx_call_index(fx, "out/a.step") == 0);
    CHECK(fx->summary.failed == 1 && fx->summary.ran == 0);
    CHECK(fx->summary.not_run == CHAIN_ACTIONS - 1);
    CHECK(fx_edge(fx, "out/a.step")->failed);
    fx_close(fx);
}

static void test_keep_going_0_runs_every_independent_action(void)
{
    struct fx *fx = chain("k0");
    fx->jobs = 2;
    fx->keep_going = 0;
    fx_behave(fx, "out/a.step", FAKE_FAIL);
    CHECK(fx_build(fx) == 0);
    /* everything but what depends on the failure: a.after and all */
    CHECK(fx->n_calls == CHAIN_ACTIONS - 2);
    CHECK(fx_call_index(fx, "out/a.after") < 0 && fx_call_index(fx, "out/all.txt") < 0);
    CHECK(fx_call_index(fx, "out/c.after") >= 0);
    CHECK(fx->summary.failed == 1 && fx->summary.ran == CHAIN_ACTIONS - 3);
    CHECK(fx->summary.not_run == 2);
    fx_close(fx);
}

static void test_failed_action_loses_its_outputs_and_reruns(void)
{
    struct fx *fx = chain("failed");
    CHECK(fx_build(fx) == 0);
    fx_write("src/a.txt", "A");
    fx_behave(fx, "out/a.step", FAKE_FAIL);
    CHECK(fx_build(fx) == 0);
    CHECK(fx->summary.failed == 1);
    CHECK(fx->partial_outputs == 1); /* it wrote before it failed */
    CHECK(!fx_exists("out/a.step"));
    fx_behave(fx, "out/a.step", FAKE_CONCAT);
    CHECK(fx_build(fx) == 0);
    CHECK(fx_call_index(fx, "out/a.step") == 0);
    /* its record was dropped with its outputs */
    CHECK(fx_edge(fx, "out/a.step")->reason == VL_REASON_NO_RECORD);
    CHECK(fx->summary.failed == 0 && fx->summary.ran == 3);
    CHECK(fx_file_is("out/all.txt", "all(after(step(A)),after(step(b)),after(step(c)))"));
    fx_close(fx);
}

static void test_success_without_its_output_fails(void)
{
    struct fx *fx = chain("nooutput");
    fx->keep_going = 0;
    fx_behave(fx, "out/c.step", FAKE_NO_OUTPUT);
    CHECK(fx_build(fx) == 0);
    CHECK(fx->summary.failed == 1 && fx_edge(fx, "out/c.step")->failed);
    CHECK(fx->summary.ran == CHAIN_ACTIONS - 3 && fx->summary.not_run == 2);
    fx_close(fx);
}

static void test_pool_depth_and_jobs_bound_what_runs_at_once(void)
{
    struct fx *fx = fx_open("pools");
    const char *names[] = {"src/1.txt", "src/2.txt", "src/3.txt",
                           "src/4.txt", "src/5.txt", "src/6.txt"};
    for (size_t i = 0; i < 6; i++)
        fx_write(names[i], "x");
    fx_rules("pool one depth=1\n"
             "source src = src/*.txt\n"
             "rule serial\n"
             "    each s in src\n"
             "    run  cat $in > $out\n"
             "    out  out/{s.stem}.serial\n"
             "    pool one\n"
             "rule wide\n"
             "    each s in src\n"
             "    run  cat $in > $out\n"
             "    out  out/{s.stem}.wide\n");
    fx->jobs = 4;
    CHECK(fx_build(fx) == 0);
    CHECK(fx->summary.ran == 12 && fx->n_calls == 12);
    CHECK(fx_pool_max(fx, "one") == 1);
    CHECK(fx_pool_max(fx, "cpu") == 4);
    CHECK(fx->max_in_flight == 4); /* a user pool's actions take cpu slots too */
    fx_close(fx);
}

static void test_interrupt_stops_the_build_and_removes_what_ran(void)
{
    struct fx *fx = fx_open("interrupt");
    fx_write("src/a.txt", "a");
    fx_rules("rule first\n"
             "    in   src/a.txt\n"
             "    run  cat $in > $out\n"
             "    out  out/first.txt\n"
             "rule slow\n"
             "    in   out/first.txt\n"
             "    run  cat $in > $out\n"
             "    out  out/slow.txt\n"
             "rule last\n"
             "    in   out/slow.txt\n"
             "    run  cat $in > $out\n"
             "    out  out/last.txt\n");
    fx_behave(fx, "slow", FAKE_INTERRUPT);
    CHECK(fx_build(fx) == 0);
    CHECK(fx->interrupts_raised == 1 && fx->summary.interrupted);
    CHECK(fx->cancels >= 1 && fx->first_cancel_signal == SIGTERM);
    CHECK(fx->n_calls == 2 && fx_call_index(fx, "out/last.txt") < 0);
    CHECK(fx->summary.ran == 1 && fx->summary.failed == 0 && fx->summary.not_run == 2);
    CHECK(fx->partial_outputs == 1 && !fx_exists("out/slow.txt"));
    CHECK(fx_file_is("out/first.txt", "first(a)"));
    /* what finished was recorded; what was interrupted was not */
    fx_behave(fx, "slow", FAKE_CONCAT);
    CHECK(fx_build(fx) == 0);
    CHECK(fx->n_calls == 2 && fx_call_index(fx, "out/slow.txt") == 0);
    CHECK(fx_edge(fx, "out/first.txt")->reason == VL_REASON_UP_TO_DATE);
    CHECK(fx_edge(fx, "out/slow.txt")->reason == VL_REASON_NO_RECORD);
    CHECK(fx_file_is("out/last.txt", "last(slow(first(a)))"));
    fx_close(fx);
}

/* Many sources are fingerprinted on the thread pool before the walk
 * (exec/prehash.h): each gets the fingerprint of its own content. */
static void test_many_sources_are_fingerprinted_each_by_its_content(void)
{
    struct fx *fx = fx_open("prehash");
    char path[64], text[64];
    for (int i = 0; i < 100; i++) {
        snprintf(path, sizeof path, "src/%03d.txt", i);
        snprintf(text, sizeof text, "content of source %d", i);
        fx_write(path, text);
    }
    fx_rules("source src = src/*.txt\n"
             "rule copy\n"
             "    each s in src\n"
             "    run  cat $in > $out\n"
             "    out  out/{s.stem}.copy\n");
    CHECK(fx_build(fx) == 0);
    CHECK(fx->summary.ran == 100);
    CHECK(fx->plan.n_hashed == 100);
    int right = 0;
    for (int i = 0; i < 100; i++) {
        snprintf(path, sizeof path, "src/%03d.txt", i);
        const struct vl_node *n = vl_graph_find(&fx->graph, path);
        struct vl_hash h;
        struct vl_error err;
        right += n && n->hash_known && vl_hash_file(path, &h, &err) == 0 &&
                 vl_hash_equal(&h, &n->hash) && n->file_rec && vl_hash_equal(&h, &n->file_rec->hash);
    }
    CHECK(right == 100);
    fx_close(fx);
}

int main(void)
{
    test_fresh_build_runs_everything_in_dependency_order();
    test_second_build_runs_nothing();
    test_touched_source_with_same_content_runs_nothing();
    test_changed_source_reruns_only_its_dependents();
    test_identical_rebuilt_input_cuts_off_its_users();
    test_missing_output_is_rebuilt();
    test_modified_output_is_rebuilt();
    test_keep_going_1_stops_after_the_first_failure();
    test_keep_going_0_runs_every_independent_action();
    test_failed_action_loses_its_outputs_and_reruns();
    test_success_without_its_output_fails();
    test_pool_depth_and_jobs_bound_what_runs_at_once();
    test_interrupt_stops_the_build_and_removes_what_ran();
    test_many_sources_are_fingerprinted_each_by_its_content();
    TEST_DONE();
}
