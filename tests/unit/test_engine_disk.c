/* test_engine_disk.c - the planner and the scheduler over a disk with
 * faults (fault_disk.h): what a failing read, a full disk or a file changing
 * while it is hashed does to a build, in one process.  One behaviour a test. */
#include "engine_fixture.h"
#include "fault_disk.h"

static const char copy_rules[] = "rule a\n"
                                 "    run  cat $in > $out\n"
                                 "    in   src/a.txt\n"
                                 "    out  out/a.copy\n"
                                 "rule b\n"
                                 "    run  cat $in > $out\n"
                                 "    in   src/b.txt\n"
                                 "    out  out/b.copy\n";

static struct fx *two_copies(const char *name, struct fault_disk *disk)
{
    struct fx *fx = fx_open(name);
    fault_disk_init(disk);
    fx->disk = &disk->base;
    fx_write("src/a.txt", "a");
    fx_write("src/b.txt", "b");
    fx_rules(copy_rules);
    return fx;
}

static void test_an_unreadable_input_fails_planning_naming_it(void)
{
    struct fault_disk disk;
    struct fx *fx = two_copies("unreadable", &disk);
    disk.fail_hash = "src/b.txt";
    fx->plan_may_fail = 1;
    CHECK(fx_build(fx) == -1);
    CHECK_CONTAINS(fx->plan_error, "src/b.txt");
    CHECK_CONTAINS(fx->plan_error, strerror(EIO));
    CHECK(fx->n_calls == 0); /* nothing ran on a plan that could not be made */
    fx_close(fx);
}

static void test_a_full_disk_fails_only_the_action_that_needs_a_folder(void)
{
    struct fault_disk disk;
    struct fx *fx = two_copies("fulldisk", &disk);
    disk.fail_mkdir = "out/b.copy";
    fx->keep_going = 0;
    CHECK(fx_build(fx) == 0);
    CHECK(fx->summary.ran == 1 && fx->summary.failed == 1);
    CHECK(fx->n_calls == 1 && !strcmp(fx->calls[0].output, "out/a.copy"));
    CHECK(access("out/b.copy", F_OK) != 0);
    /* room again: only the failed action runs */
    disk.fail_mkdir = NULL;
    CHECK(fx_build(fx) == 0);
    CHECK(fx->summary.ran == 1 && fx->n_calls == 1 && !strcmp(fx->calls[0].output, "out/b.copy"));
    fx_close(fx);
}

static void test_a_file_that_changes_while_hashed_is_hashed_again(void)
{
    struct fault_disk disk;
    struct fx *fx = two_copies("racy", &disk);
    fx_touch("src/a.txt", 1000000000);
    fx_touch("src/b.txt", 1000000000);
    disk.grow_on_hash = "src/b.txt";
    CHECK(fx_build(fx) == 0);
    const struct vl_node *b = vl_graph_find(&fx->graph, "src/b.txt");
    CHECK(b && b->file_rec && b->file_rec->hashed_at_ns == 0); /* trusted for nothing */
    disk.grow_on_hash = NULL;
    atomic_store(&disk.hashes, 0);
    CHECK(fx_build(fx) == 0);
    CHECK(fx->summary.ran == 1 && !strcmp(fx->calls[0].output, "out/b.copy"));
    CHECK(atomic_load(&disk.hashes) >= 1);
    fx_close(fx);
}

static void test_a_no_op_hashes_nothing(void)
{
    struct fault_disk disk;
    struct fx *fx = two_copies("fastpath", &disk);
    fx_touch("src/a.txt", 1000000000);
    fx_touch("src/b.txt", 1000000000);
    CHECK(fx_build(fx) == 0);
    fx_touch("out/a.copy", 1000000000); /* outputs out of the racy window too */
    fx_touch("out/b.copy", 1000000000);
    CHECK(fx_build(fx) == 0); /* hashes the touched outputs once more */
    atomic_store(&disk.hashes, 0);
    CHECK(fx_build(fx) == 0);
    CHECK(fx->summary.ran == 0 && fx->n_calls == 0);
    CHECK(atomic_load(&disk.hashes) == 0);
    fx_close(fx);
}

int main(void)
{
    test_an_unreadable_input_fails_planning_naming_it();
    test_a_full_disk_fails_only_the_action_that_needs_a_folder();
    test_a_file_that_changes_while_hashed_is_hashed_again();
    test_a_no_op_hashes_nothing();
    TEST_DONE();
}
