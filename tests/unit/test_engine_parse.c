/* test_engine_parse.c - the rules parser: statements, expansion, locations. */
#include "parse/rules.h"
#include "test.h"

static int parse(struct vl_rules *r, const char *text, struct vl_error *err)
{
    memset(r, 0, sizeof *r);
    return vl_rules_parse_string(r, "t.rules", text, NULL, 0, err);
}

static void test_full_rule(void)
{
    struct vl_rules r;
    struct vl_error err;
    int rc = parse(&r,
                   "var size = 64x64   # trailing comment\n"
                   "var opts = label=\"two words\"\n"
                   "source raw = a/*.mp4 \\\n"
                   "    b/**/*.mkv\n"
                   "pool enc depth=3\n"
                   "rule meta\n"
                   "\teach v in raw\n"
                   "    do stamp $opts\n"
                   "    out build/{v.stem}.$size.json\n"
                   "    copies 1\n"
                   "    pool enc\n"
                   "rule sh\n"
                   "    run echo $in ${size} $HOME $$x a#b > $out\n"
                   "    in meta\n"
                   "    out o.txt\n"
                   "default sh meta\n",
                   &err);
    CHECK(rc == 0);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    CHECK(r.n_sources == 1 && r.sources[0]->patterns.len == 2);
    CHECK_STR(r.sources[0]->patterns.items[1].text, "b/**/*.mkv");
    CHECK(r.sources[0]->patterns.items[1].loc.line == 4);
    CHECK(r.n_rules == 2);
    struct vl_rule_decl *meta = vl_rules_find_rule(&r, "meta");
    CHECK(meta && meta->kind == VL_RULE_DO && meta->def);
    CHECK_STR(meta->each_var.text, "v");
    CHECK_STR(meta->outputs.items[0].text, "build/{v.stem}.64x64.json");
    CHECK_STR(vl_params_get(&meta->values, "label")->text, "two words");
    CHECK_STR(meta->pool.text, "enc");
    struct vl_rule_decl *sh = vl_rules_find_rule(&r, "sh");
    /* $in stays for the scheduler, ${size} expands, $HOME and $$ go to the shell */
    CHECK_STR(sh->command.text, "echo $in 64x64 $HOME $$x a#b > $out");
    CHECK(r.defaults.len == 2);
    CHECK(vl_rules_find_pool(&r, "enc")->depth == 3);
    vl_rules_release(&r);
}

static void test_override_wins(void)
{
    struct vl_rules r;
    struct vl_error err;
    memset(&r, 0, sizeof r);
    struct vl_var_override o = {"size", "8x8"};
    CHECK(vl_rules_parse_string(&r, "t.rules", "var size = 64x64\nsource s = $size\n", &o, 1,
                                &err) == 0);
    CHECK_STR(r.sources[0]->patterns.items[0].text, "8x8");
    vl_rules_release(&r);
}

/* `?=` sets a variable only when nothing set it before: the value set ahead
 * of an include of defaults is kept, a default alone applies, and a command
 * line override still wins over both. */
static void test_default_assignment(void)
{
    struct vl_rules r;
    struct vl_error err;
    CHECK(parse(&r, "var size = 8x8\nvar size ?= 64x64\nvar n ?= 2\nsource s = $size $n\n", &err) ==
          0);
    CHECK_STR(r.sources[0]->patterns.items[0].text, "8x8");
    CHECK_STR(r.sources[0]->patterns.items[1].text, "2");
    vl_rules_release(&r);
    memset(&r, 0, sizeof r);
    struct vl_var_override o = {"size", "4x4"};
    CHECK(vl_rules_parse_string(&r, "t.rules", "var size ?= 64x64\nsource s = $size\n", &o, 1,
                                &err) == 0);
    CHECK_STR(r.sources[0]->patterns.items[0].text, "4x4");
    vl_rules_release(&r);
    CHECK(parse(&r, "var size := 1\n", &err) < 0);
    CHECK(strstr(err.msg, "'=' or '?='") != NULL);
    vl_rules_release(&r);
}

static void test_error_location_inside_variable(void)
{
    struct vl_rules r;
    struct vl_error err;
    /* the bad parameter comes from a variable: the error points at the $ */
    CHECK(parse(&r, "var p = label=x bogus=1\nrule a\n    do stamp $p\n    out x\n", &err) < 0);
    CHECK_CONTAINS(err.msg, "t.rules:3:14: rule a: action stamp has no parameter 'bogus'");
    vl_rules_release(&r);
}

static void test_crlf_and_blank_lines(void)
{
    struct vl_rules r;
    struct vl_error err;
    CHECK(parse(&r, "\r\n# only a comment\r\nrule a\r\n    run true\r\n\r\n    out x\r\n", &err) == 0);
    CHECK(r.n_rules == 1 && r.rules[0]->outputs.len == 1);
    CHECK_STR(r.rules[0]->outputs.items[0].text, "x");
    vl_rules_release(&r);
}

int main(void)
{
    test_full_rule();
    test_override_wins();
    test_default_assignment();
    test_error_location_inside_variable();
    test_crlf_and_blank_lines();
    TEST_DONE();
}
