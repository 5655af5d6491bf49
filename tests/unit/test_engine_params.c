/* test_engine_params.c - parameter validation and canonical forms. */
#include "actions/action.h"
#include "test.h"
#include "util/size.h"

static const struct vl_param_spec specs[] = {
    {"n", VL_PARAM_INT, "3", 1, 10, NULL, "a count"},
    {"p", VL_PARAM_FLOAT, "0.5", 0, 1, NULL, "a probability"},
    {"size", VL_PARAM_SIZE, "64x32", 1, 4096, NULL, "a size"},
    {"crop", VL_PARAM_RANGE, "0.8:1", 0.1, 1, NULL, "a range"},
    {"mode", VL_PARAM_ENUM, "crop", 0, 0, "stretch|crop|letterbox", "a mode"},
    {"set", VL_PARAM_LIST, "hist", 0, 0, "hist|motion|dct", "groups"},
    {"budget", VL_PARAM_BYTES, "256M", 1, 1e12, NULL, "bytes"},
    {"flag", VL_PARAM_BOOL, "no", 0, 0, NULL, "a flag"},
    {0},
};

static const struct vl_action_def def = {.name = "t", .version = 1, .params = specs};

static int try(const char *word, struct vl_params *out, struct vl_error *err)
{
    int bad;
    const char *words[] = {word};
    return vl_params_parse(&def, words, word ? 1 : 0, out, &bad, err);
}

int main(void)
{
    struct vl_params p;
    struct vl_error err;
    CHECK(try(NULL, &p, &err) == 0);
    struct vl_strbuf canon = VL_STRBUF_INIT;
    vl_params_canonical(&p, &canon);
    CHECK_STR(canon.buf, "n=3 p=0.5 size=64x32 crop=0.8:1 mode=crop set=hist budget=268435456 flag=false");
    CHECK(vl_params_get(&p, "size")->num == 64 && vl_params_get(&p, "size")->num2 == 32);
    vl_params_release(&p);
    vl_strbuf_release(&canon);

    /* equal values give equal canonical text, so equal action keys */
    CHECK(try("p=0.50", &p, &err) == 0);
    CHECK_STR(vl_params_get(&p, "p")->text, "0.5");
    vl_params_release(&p);

    CHECK(try("n=11", &p, &err) < 0);
    CHECK_CONTAINS(err.msg, "parameter n: value out of range (expected 1 to 10)");
    CHECK(try("n=2.5", &p, &err) < 0);
    CHECK_CONTAINS(err.msg, "expected an integer");
    CHECK(try("size=64", &p, &err) < 0);
    CHECK_CONTAINS(err.msg, "expected WIDTHxHEIGHT");
    CHECK(try("crop=0.9:0.2", &p, &err) < 0);
    CHECK_CONTAINS(err.msg, "low end");
    CHECK(try("mode=zoom", &p, &err) < 0);
    CHECK_CONTAINS(err.msg, "expected one of stretch|crop|letterbox, got 'zoom'");
    CHECK(try("set=hist,edges", &p, &err) < 0);
    CHECK_CONTAINS(err.msg, "'edges' is not one of hist|motion|dct");
    CHECK(try("budget=lots", &p, &err) < 0);
    CHECK(try("flag=maybe", &p, &err) < 0);
    CHECK(try("p=nan", &p, &err) < 0);
    CHECK(try("budget=1G", &p, &err) == 0);
    CHECK(vl_params_get(&p, "budget")->num == 1073741824.0);
    vl_params_release(&p);

    uint64_t bytes;
    CHECK(vl_parse_size("256M", &bytes) == 0 && bytes == 256ull << 20);
    CHECK(vl_parse_size("1.5GiB", &bytes) == 0 && bytes == 3ull << 29);
    CHECK(vl_parse_size("2T", &bytes) == 0 && bytes == 2ull << 40);
    CHECK(vl_parse_size("4096", &bytes) == 0 && bytes == 4096);
    CHECK(vl_parse_size("0", &bytes) == 0 && bytes == 0);
    CHECK(vl_parse_size("-1M", &bytes) < 0);
    CHECK(vl_parse_size("12Q", &bytes) < 0);
    CHECK(vl_parse_size("", &bytes) < 0);
    CHECK(vl_parse_size("1e30", &bytes) < 0);
    CHECK(vl_parse_size("nan", &bytes) < 0);
    TEST_DONE();
}
