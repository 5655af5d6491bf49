/* test_train_linear.c - logreg and svm through the `train` action: accuracy
 * on a separable set, determinism, resume after an interruption, the
 * checkpoint's contents and the parameter checks. */
#include <stdarg.h>

#include "test.h"
#include "test_train_util.h"
#include "train/safetensors.h"
#include "util/json.h"

static double last_val_accuracy(const char *log_path, int *lines)
{
    char *text;
    size_t n;
    struct vl_error err;
    *lines = 0;
    if (vl_read_file(log_path, &text, &n, &err) < 0) return -1;
    double acc = -1;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        struct vl_arena arena = {0};
        struct vl_json *v;
        if (vl_json_parse(&arena, log_path, line, strlen(line), &v, &err) == 0) {
            acc = vl_json_number(v, "val_accuracy", -1);
            CHECK(vl_json_number(v, "epoch", 0) == *lines + 1);
            CHECK(!vl_json_get(v, "seconds") && vl_json_get(v, "confusion"));
            (*lines)++;
        }
        vl_arena_release(&arena);
    }
    free(text);
    return acc;
}

static void test_accuracy(const struct tt_set *s, const char *model)
{
    struct vl_error err = {{0}};
    struct vl_strbuf log = VL_STRBUF_INIT;
    char *out = tt_path("%s.safetensors", model), *mlog = tt_path("%s.jsonl", model);
    char words[256];
    snprintf(words, sizeof words, "model=%s epochs=15 C=100 seed=3", model);
    int rc = tt_train(words, s, out, mlog, NULL, &log, &err);
    CHECK(rc == 0);
    if (rc < 0) fprintf(stderr, "%s\n", err.msg);
    int lines;
    double acc = last_val_accuracy(mlog, &lines);
    printf("%s: val accuracy %.4f\n%s", model, acc, log.buf);
    CHECK(lines == 15);
    CHECK(acc >= 0.99);
    CHECK_CONTAINS(log.buf, "class class0: train");

    /* the checkpoint: documented tensors, shapes and metadata */
    struct vl_st_file f;
    CHECK(vl_st_read(out, &f, &err) == 0);
    const struct vl_st_tensor *w = vl_st_find(&f, "linear.weight");
    CHECK(w && w->ndim == 2 && w->shape[0] == 4 && w->shape[1] == 6);
    CHECK(vl_st_find(&f, "linear.bias") && vl_st_find(&f, "scaler.mean") &&
          vl_st_find(&f, "scaler.scale"));
    CHECK(!vl_st_find(&f, "optimizer.m.linear.weight"));
    CHECK_STR(vl_st_get_meta(&f, "model"), model);
    CHECK_STR(vl_st_get_meta(&f, "epoch"), "15");
    CHECK_STR(vl_st_get_meta(&f, "format_version"), "1");
    CHECK_STR(vl_st_get_meta(&f, "classes"), "[\"class0\",\"class1\",\"class2\",\"class3\"]");
    CHECK_STR(vl_st_get_meta(&f, "input"), "{\"kind\":\"features\",\"shape\":[6]}");
    CHECK_CONTAINS(vl_st_get_meta(&f, "config"), "\"C\":\"100\"");
    CHECK_CONTAINS(vl_st_get_meta(&f, "metrics"), "\"val_accuracy\":");
    CHECK(vl_st_get_meta(&f, "data_fingerprint") &&
          strlen(vl_st_get_meta(&f, "data_fingerprint")) == 32);
    vl_st_free(&f);
    char *partial = tt_path("%s.partial.safetensors", model);
    CHECK(access(partial, F_OK) != 0);
    free(partial);
    free(out);
    free(mlog);
    vl_strbuf_release(&log);
}

static void test_determinism_and_resume(const struct tt_set *s)
{
    struct vl_error err = {{0}};
    struct vl_strbuf log = VL_STRBUF_INIT;
    const char *words = "model=logreg epochs=6 batch=16 optimizer=sgd lr=0.05 seed=9";
    char *a = tt_path("a.safetensors"), *b = tt_path("b.safetensors"),
         *c = tt_path("c.safetensors"), *alog = tt_path("a.jsonl"), *clog = tt_path("c.jsonl");
    CHECK(tt_train(words, s, a, alog, NULL, &log, &err) == 0);
    CHECK(tt_train(words, s, b, NULL, NULL, &log, &err) == 0);
    CHECK(tt_same_file(a, b));

    /* interrupted when epoch 4 starts: the resume file holds epoch 3 */
    struct tt_run r = {.cancel_at_epoch = 4};
    vl_strbuf_reset(&log);
    CHECK(tt_train(words, s, c, clog, &r, &log, &err) < 0);
    CHECK_CONTAINS(err.msg, "interrupted during epoch 4");
    char *partial = tt_path("c.partial.safetensors");
    struct vl_st_file f;
    CHECK(vl_st_read(partial, &f, &err) == 0);
    CHECK_STR(vl_st_get_meta(&f, "epoch"), "3");
    CHECK(vl_st_find(&f, "optimizer.m.linear.weight") != NULL);
    vl_st_free(&f);

    /* the rerun resumes at epoch 4 and ends with the same bytes */
    struct tt_run r2 = {0};
    vl_strbuf_reset(&log);
    CHECK(tt_train(words, s, c, clog, &r2, &log, &err) == 0);
    CHECK_CONTAINS(log.buf, "after epoch 3 of 6");
    CHECK(r2.first_epoch == 4);
    CHECK(tt_same_file(a, c));
    CHECK(access(partial, F_OK) != 0);
    int la, lc;
    double acc_a = last_val_accuracy(alog, &la), acc_c = last_val_accuracy(clog, &lc);
    CHECK(la == 6 && lc == 6 && acc_a == acc_c);
    CHECK_CONTAINS(r2.last_progress, "epoch 6/6 batch");

    /* a resume file from other parameters is ignored, with a message */
    r = (struct tt_run){.cancel_at_epoch = 3};
    CHECK(tt_train(words, s, c, clog, &r, &log, &err) < 0);
    vl_strbuf_reset(&log);
    CHECK(tt_train("model=logreg epochs=6 batch=16 optimizer=sgd lr=0.05 seed=10", s, c, clog,
                   NULL, &log, &err) == 0);
    CHECK_CONTAINS(log.buf, "not resuming from");
    CHECK_CONTAINS(log.buf, "the parameters differ");

    /* a damaged resume file is ignored too */
    CHECK(vl_write_file_atomic(partial, "garbage", 7, &err) == 0);
    vl_strbuf_reset(&log);
    CHECK(tt_train(words, s, b, NULL, NULL, &log, &err) == 0);
    CHECK(tt_same_file(a, b));
    free(partial);
    free(a), free(b), free(c), free(alog), free(clog);
    vl_strbuf_release(&log);
}

/* A rule that names no schedule gets the model's: 10 epochs of batches of
 * 128 for the linear models. */
static void test_linear_defaults(const struct tt_set *s)
{
    struct vl_error err = {{0}};
    struct vl_strbuf log = VL_STRBUF_INIT;
    char *out = tt_path("d.safetensors");
    struct tt_run r = {0};
    CHECK(tt_train("model=svm seed=2", s, out, NULL, &r, &log, &err) == 0);
    CHECK_CONTAINS(r.last_progress, "epoch 10/10 batch 2/2 "); /* 160 training samples */
    free(out);
    vl_strbuf_release(&log);
}

static void test_params(const struct tt_set *s)
{
    struct vl_error err = {{0}};
    struct vl_strbuf log = VL_STRBUF_INIT;
    char *out = tt_path("p.safetensors");
    struct {
        const char *words, *msg;
    } bad[] = {
        {"model=logreg weight_decay=0.1", "regularised by C"},
        {"model=logreg hidden=3", "takes no hidden"},
        {"model=svm patch=4", "vit models only"},
        {"model=logreg epochs=3 warmup=3", "must be shorter than epochs"},
        {"model=logreg warmup=10", "must be shorter than epochs (10)"}, /* the model's default */
        {"model=mlp", "expected one of"},
        {"model=logreg val=0.95", "out of range"},
        {"epochs=3", "needs parameter model"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK(tt_train(bad[i].words, s, out, NULL, NULL, &log, &err) < 0);
        CHECK_CONTAINS(err.msg, bad[i].msg);
    }
    free(out);
    vl_strbuf_release(&log);
}

int main(void)
{
    tt_init("test_train_linear");
    struct tt_set s;
    tt_make_separable(&s, "f", 1000, 6, 4, 1.5, 42);
    test_accuracy(&s, "logreg");
    test_accuracy(&s, "svm");
    struct tt_set small;
    tt_make_separable(&small, "s", 200, 6, 4, 1.5, 7);
    test_determinism_and_resume(&small);
    test_params(&small);
    test_linear_defaults(&small);
    tt_set_free(&s);
    tt_set_free(&small);
    tt_cleanup();
    TEST_DONE();
}
