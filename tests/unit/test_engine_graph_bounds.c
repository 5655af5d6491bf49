/* test_engine_graph_bounds.c - the graph's bounds (graph/graph.h): rules
 * that would make more actions, or more input links, than the graph may
 * hold are an error naming the rule's line, checked before the memory is
 * asked for.  The bounds are set low here; vlbuild's are millions. */
#include "engine_fixture.h"

static void sources(int n)
{
    char path[64];
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "src/%03d.txt", i);
        fx_write(path, "x");
    }
}

static void test_too_many_input_links_name_the_rule_line(void)
{
    struct fx *fx = fx_open("links");
    sources(50);
    /* each of 50 actions reads all 50 sources: 2,500 links and more */
    fx_rules("source src = src/*.txt\n"
             "rule square\n"
             "    each s in src\n"
             "    run  cat $in > $out\n"
             "    in   src\n"
             "    out  out/{s.stem}.all\n");
    fx->max_links = 1000;
    fx->load_may_fail = 1;
    CHECK(fx_load(fx) == -1);
    CHECK_CONTAINS(fx->load_error, "vlbuild.rules:5:");
    CHECK_CONTAINS(fx->load_error, "rule square: the graph would hold more than 1000 input links");
    fx->max_links = 5000; /* room: the same rules build */
    fx->load_may_fail = 0;
    CHECK(fx_load(fx) == 0);
    CHECK(fx->graph.n_links == 50 * 51);
    fx_close(fx);
}

static void test_too_many_actions_name_the_rule_line(void)
{
    struct fx *fx = fx_open("actions");
    sources(50);
    fx_rules("source src = src/*.txt\n"
             "rule many\n"
             "    each s in src\n"
             "    copies 10\n"
             "    run  cat $in > $out\n"
             "    out  out/{s.stem}.{copy}\n");
    fx->max_actions = 100;
    fx->load_may_fail = 1;
    CHECK(fx_load(fx) == -1);
    CHECK_CONTAINS(fx->load_error, "vlbuild.rules:2:");
    CHECK_CONTAINS(fx->load_error, "more than 100 actions");
    fx_close(fx);
}

int main(void)
{
    test_too_many_input_links_name_the_rule_line();
    test_too_many_actions_name_the_rule_line();
    TEST_DONE();
}
