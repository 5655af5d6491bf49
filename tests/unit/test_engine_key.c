/* test_engine_key.c - action keys (exec/key.h): pinned vectors of the
 * encoding, and what a key does and does not depend on. */
#include "exec/key.h"
#include "engine_fixture.h"

struct keys {
    struct vl_hash definition, action;
};

/* The keys of the action that makes output, in the graph of the rules file
 * text, with its inputs fingerprinted from their files. */
static struct keys keys_of(struct fx *fx, const char *text, const char *output)
{
    struct keys k = {{{0}}, {{0}}};
    fx_rules(text);
    if (fx_load(fx) < 0) return k;
    struct vl_edge *e = fx_edge(fx, output);
    for (size_t i = 0; i < e->n_inputs; i++) {
        struct vl_error err;
        struct vl_node *in = e->inputs[i];
        if (vl_hash_file(in->path, &in->hash, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            exit(1);
        }
        in->hash_known = 1;
    }
    k.definition = vl_key_definition(e);
    k.action = vl_key_action(e, &k.definition);
    return k;
}

static const char *hex(struct vl_hash h)
{
    static char buf[4][33]; /* a few per CHECK */
    static int next;
    char *out = buf[next++ % 4];
    vl_hash_hex(&h, out);
    return out;
}

static int same(struct vl_hash a, struct vl_hash b)
{
    return vl_hash_equal(&a, &b);
}

static struct fx *project(const char *name)
{
    struct fx *fx = fx_open(name);
    fx_write("src/a.txt", "alpha\n");
    fx_write("src/b.txt", "beta\n");
    fx_write("src/same-as-a.txt", "alpha\n");
    return fx;
}

/* Every kind of action the rules make: a run rule with two inputs and two
 * outputs, an `each` run rule with an item template in its command, a
 * built-in with a parameter, and rules with copies (a built-in's key holds
 * its copy index; a run rule's has it in its command and outputs). */
static const char pinned_rules[] = "source src = src/a.txt src/b.txt\n"
                                   "rule pair\n"
                                   "    in   src/a.txt src/b.txt\n"
                                   "    run  paste $in > $out\n"
                                   "    out  out/pair.left out/pair.right\n"
                                   "rule upper\n"
                                   "    each s in src\n"
                                   "    run  echo {s.stem}: && tr a-z A-Z < $in > $out\n"
                                   "    out  out/{s.stem}.up\n"
                                   "rule stamped\n"
                                   "    in   src/a.txt src/b.txt\n"
                                   "    do   stamp label=pinned\n"
                                   "    out  out/stamp.txt\n"
                                   "rule copied\n"
                                   "    each s in src\n"
                                   "    copies 2\n"
                                   "    run  head -c {copy} $in > $out\n"
                                   "    out  out/{s.stem}.{copy}.copy\n"
                                   "rule stamps\n"
                                   "    in   src/b.txt\n"
                                   "    copies 2\n"
                                   "    do   stamp label=copy\n"
                                   "    out  out/stamp.{copy}.txt\n";

/* PINNED VALUES.  These are the keys that every user's state.db and artifact
 * cache hold.  A change to the key encoding (exec/key.c) that changes them
 * makes every action of every project run again and misses every cached
 * artifact.  If that is intended, bump KEY_FORMAT ("vlbuild-action-key-N")
 * in exec/key.c, say why under "Action keys and staleness" in docs/engine.md,
 * and only then paste the new values here.  A built-in's own `version`
 * (stamp's here) is part of its keys: bumping it changes stamp's vectors.
 * pair's vectors were also computed apart from key.c, with XXH3 over the
 * encoding written out by hand.  Counts are hashed as they lie in memory,
 * so these hold on little-endian machines. */
static const struct {
    const char *output, *definition, *action;
} pinned[] = {
    {"out/pair.left", "1ac673795d8f2d85ea890ee3b4382c54", "ecaca3d51c3a7a2fc161123587c92c7d"},
    {"out/a.up", "f22c47da297c84012ac6e421ea860720", "8cd85309541194a805b13220636d86e7"},
    {"out/b.up", "6872051e0d3c1d96d2ef06e67040b6dc", "94ed90944d3dc4abc028752961f63b37"},
    {"out/stamp.txt", "2761c2c3982e941dfa05c6c3813cf77c", "b005474a34c8ad41900c106c45c850ef"},
    {"out/a.0.copy", "954e3327669b496efd8e077df73781a4", "d98ef13367abcb99bc554d655e5b3fd3"},
    {"out/a.1.copy", "684eb46b66377ca24cadeb81b49fac8d", "99eab5b6a1533f5bb5e42d79c71f735d"},
    {"out/stamp.1.txt", "32f589b273cc22017826709fa2a006fd", "26f507a352fb37b24ec275f835adb680"},
};

static void test_pinned_key_vectors(void)
{
    struct fx *fx = project("key-pinned");
    for (size_t i = 0; i < sizeof pinned / sizeof pinned[0]; i++) {
        struct keys k = keys_of(fx, pinned_rules, pinned[i].output);
        CHECK_STR(hex(k.definition), pinned[i].definition);
        CHECK_STR(hex(k.action), pinned[i].action);
        if (strcmp(hex(k.definition), pinned[i].definition) ||
            strcmp(hex(k.action), pinned[i].action))
            fprintf(stderr, "    {\"%s\", \"%s\", \"%s\"},\n", pinned[i].output, hex(k.definition),
                    hex(k.action));
    }
    fx_close(fx);
}

static const char base_rules[] = "rule r\n"
                                 "    in   src/a.txt src/b.txt\n"
                                 "    run  cat $in > $out\n"
                                 "    out  out/r.txt\n";

/* Checks that text's action for output has different keys from base's:
 * both of them when definition is set, the action key only otherwise. */
#define CHECK_CHANGES(base, text, output, definition_too)                                          \
    do {                                                                                           \
        struct keys k_ = keys_of(fx, (text), (output));                                            \
        CHECK(!same(k_.action, (base).action));                                                    \
        CHECK(same(k_.definition, (base).definition) == !(definition_too));                        \
    } while (0)

static void test_keys_follow_what_the_action_is(void)
{
    struct fx *fx = project("key-changes");
    struct keys base = keys_of(fx, base_rules, "out/r.txt");
    CHECK_CHANGES(base,
                  "rule r\n    in src/a.txt src/b.txt\n    run cat $in >> $out\n"
                  "    out out/r.txt\n",
                  "out/r.txt", 1);
    /* an input path: same content under another name */
    CHECK_CHANGES(base,
                  "rule r\n    in src/same-as-a.txt src/b.txt\n    run cat $in > $out\n"
                  "    out out/r.txt\n",
                  "out/r.txt", 1);
    /* the inputs' order */
    CHECK_CHANGES(base,
                  "rule r\n    in src/b.txt src/a.txt\n    run cat $in > $out\n"
                  "    out out/r.txt\n",
                  "out/r.txt", 1);
    CHECK_CHANGES(base,
                  "rule r\n    in src/a.txt src/b.txt\n    run cat $in > $out\n"
                  "    out out/other.txt\n",
                  "out/other.txt", 1);
    CHECK_CHANGES(base,
                  "rule r\n    in src/a.txt src/b.txt\n    run cat $in > $out\n"
                  "    out out/r.txt out/extra.txt\n",
                  "out/r.txt", 1);
    /* an input's content: the same definition, another action */
    fx_write("src/b.txt", "beta, edited\n");
    CHECK_CHANGES(base, base_rules, "out/r.txt", 0);
    fx_close(fx);
}

static void test_keys_follow_a_builtins_parameters_and_version(void)
{
    struct fx *fx = project("key-builtin");
    static const char stamp_x[] = "rule s\n    in src/a.txt\n    do stamp label=x\n    out out/s\n";
    struct keys base = keys_of(fx, stamp_x, "out/s");
    CHECK_CHANGES(base, "rule s\n    in src/a.txt\n    do stamp label=y\n    out out/s\n", "out/s",
                  1);
    /* a parameter left at its default is the default written out */
    struct keys by_default =
        keys_of(fx, "rule s\n    in src/a.txt\n    do stamp\n    out out/s\n", "out/s");
    struct keys written = keys_of(fx,
                                  "rule s\n    in src/a.txt\n    do stamp label=stamp\n"
                                  "    out out/s\n",
                                  "out/s");
    CHECK(same(by_default.definition, written.definition));
    /* the implementation's version */
    keys_of(fx, stamp_x, "out/s");
    struct vl_edge *e = fx_edge(fx, "out/s");
    struct vl_action_def newer = *e->rule->def;
    newer.version++;
    struct vl_rule_decl *r = vl_rules_find_rule(&fx->rules, "s");
    const struct vl_action_def *current = r->def;
    CHECK(same(vl_key_definition(e), base.definition));
    r->def = &newer;
    CHECK(!same(vl_key_definition(e), base.definition));
    r->def = current;
    fx_close(fx);
}

static void test_keys_ignore_what_the_action_is_not(void)
{
    struct fx *fx = project("key-same");
    struct keys base = keys_of(fx, base_rules, "out/r.txt");
    struct keys again = keys_of(fx, base_rules, "out/r.txt");
    CHECK(same(again.definition, base.definition) && same(again.action, base.action));
    /* comments, spacing and other rules are not the action */
    struct keys around = keys_of(fx,
                                 "# a comment\n"
                                 "rule other\n    in src/a.txt\n    run true\n    out out/o\n"
                                 "rule r\n"
                                 "    in   src/a.txt   src/b.txt   # inputs\n"
                                 "    run  cat $in > $out\n"
                                 "    out  out/r.txt\n",
                                 "out/r.txt");
    CHECK(same(around.definition, base.definition) && same(around.action, base.action));
    /* nor is a file's time: only its content */
    fx_touch("src/a.txt", 1000000000);
    struct keys touched = keys_of(fx, base_rules, "out/r.txt");
    CHECK(same(touched.definition, base.definition) && same(touched.action, base.action));
    /* a variable is the text it expands to */
    struct keys via_var = keys_of(fx,
                                  "var tool = cat\nrule r\n    in src/a.txt src/b.txt\n"
                                  "    run $tool $in > $out\n    out out/r.txt\n",
                                  "out/r.txt");
    CHECK(same(via_var.definition, base.definition));
    fx_close(fx);
}

int main(void)
{
    test_pinned_key_vectors();
    test_keys_follow_what_the_action_is();
    test_keys_follow_a_builtins_parameters_and_version();
    test_keys_ignore_what_the_action_is_not();
    TEST_DONE();
}
