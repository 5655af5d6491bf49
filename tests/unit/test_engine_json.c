/* test_engine_json.c - the JSON reader: values, escapes, errors, depth. */
#include "test.h"
#include "util/json.h"

static int parse(struct vl_arena *a, const char *text, struct vl_json **v, struct vl_error *err)
{
    return vl_json_parse(a, "t.json", text, strlen(text), v, err);
}

int main(void)
{
    struct vl_arena a = {0};
    struct vl_json *v;
    struct vl_error err;
    CHECK(parse(&a, " {\"a\": 1.5, \"b\": [true, null, \"x\\u00e9\\n\"], \"c\": {\"d\": -2e3}} ",
                &v, &err) == 0);
    CHECK(vl_json_number(v, "a", 0) == 1.5);
    const struct vl_json *b = vl_json_get(v, "b");
    CHECK(b && b->type == VL_JSON_ARRAY && b->len == 3);
    CHECK(b->items[0]->type == VL_JSON_BOOL && b->items[0]->number == 1);
    CHECK(b->items[1]->type == VL_JSON_NULL);
    CHECK_STR(b->items[2]->string, "x\xc3\xa9\n");
    CHECK(vl_json_number(vl_json_get(v, "c"), "d", 0) == -2000);
    CHECK_STR(vl_json_string(v, "missing", "fallback"), "fallback");

    CHECK(parse(&a, "{\"a\": 1,\n \"b\" 2}", &v, &err) < 0);
    CHECK_CONTAINS(err.msg, "t.json:2:6: expected ':'");
    CHECK(parse(&a, "[1, 2", &v, &err) < 0);
    CHECK(parse(&a, "\"abc", &v, &err) < 0);
    CHECK_CONTAINS(err.msg, "unterminated string");
    CHECK(parse(&a, "1 2", &v, &err) < 0);
    CHECK(parse(&a, "nan", &v, &err) < 0);
    CHECK(parse(&a, "", &v, &err) < 0);
    char deep[400];
    memset(deep, '[', sizeof deep - 1);
    deep[sizeof deep - 1] = '\0';
    CHECK(parse(&a, deep, &v, &err) < 0);
    CHECK_CONTAINS(err.msg, "nested too deeply");
    vl_arena_release(&a);
    TEST_DONE();
}
