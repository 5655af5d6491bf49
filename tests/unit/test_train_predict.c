/* test_train_predict.c - `predict` and `evaluate`: a trained logreg's
 * predictions against the same model computed by hand from the checkpoint's
 * tensors, clips of one video averaged, the refusals, and evaluate's metrics
 * on hand-made predictions whose answers are known. */
#include <stdarg.h>

#include "test.h"
#include "test_train_util.h"
#include "train/safetensors.h"
#include "util/json.h"

/* Runs built-in `name` with the words as parameters. */
static int run_action(const char *name, const char *words_text, const char *const *inputs,
                      const char *const *origins, size_t n, const char *const *outputs,
                      size_t n_out, struct vl_strbuf *log, struct vl_error *err)
{
    const struct vl_action_def *def = vl_action_find(name);
    char *copy = strdup(words_text), *save = NULL;
    const char *words[16];
    size_t nw = 0;
    for (char *w = strtok_r(copy, " ", &save); w && nw < 16; w = strtok_r(NULL, " ", &save))
        words[nw++] = w;
    struct vl_params params;
    int bad;
    int rc = vl_params_parse(def, words, nw, &params, &bad, err);
    if (rc == 0) {
        struct vl_hash *hashes = calloc(n + 1, sizeof *hashes);
        struct vl_action_job job = {
            .def = def,
            .params = &params,
            .inputs = inputs,
            .input_hashes = hashes,
            .input_origins = origins,
            .n_inputs = n,
            .outputs = outputs,
            .n_outputs = n_out,
            .memory_budget = 256u << 20,
            .device = -1,
            .log = log,
        };
        rc = def->run(&job, err);
        vl_params_release(&params);
        free(hashes);
    }
    free(copy);
    return rc;
}

static char *read_text(const char *path)
{
    char *text = NULL;
    size_t n;
    struct vl_error err;
    if (vl_read_file(path, &text, &n, &err) < 0) return NULL;
    return text;
}

/* Parses a JSON file into arena; NULL when it cannot. */
static struct vl_json *read_json(struct vl_arena *arena, const char *path)
{
    char *text = read_text(path);
    struct vl_json *v = NULL;
    struct vl_error err;
    if (text && vl_json_parse(arena, path, text, strlen(text), &v, &err) < 0) v = NULL;
    free(text);
    return v;
}

/* The logreg of the checkpoint computed by hand: softmax(((x - mean) / scale) W^T + b). */
static void by_hand(const struct vl_st_file *f, const float *x, int dim, int k, double *p)
{
    const struct vl_st_tensor *w = vl_st_find(f, "linear.weight"), *b = vl_st_find(f, "linear.bias");
    const struct vl_st_tensor *mu = vl_st_find(f, "scaler.mean"), *sd = vl_st_find(f, "scaler.scale");
    double z[16], top = -1e300, sum = 0;
    for (int c = 0; c < k; c++) {
        float bias;
        memcpy(&bias, (const char *)b->data + 4 * c, 4);
        z[c] = bias;
        for (int d = 0; d < dim; d++) {
            float wv, m, s;
            memcpy(&wv, (const char *)w->data + 4 * ((size_t)c * dim + d), 4);
            memcpy(&m, (const char *)mu->data + 4 * d, 4);
            memcpy(&s, (const char *)sd->data + 4 * d, 4);
            z[c] += wv * ((x[d] - m) / s);
        }
        if (z[c] > top) top = z[c];
    }
    for (int c = 0; c < k; c++) sum += p[c] = exp(z[c] - top);
    for (int c = 0; c < k; c++) p[c] /= sum;
}

static int argmax(const double *p, int k)
{
    int best = 0;
    for (int c = 1; c < k; c++)
        if (p[c] > p[best]) best = c;
    return best;
}

enum { N = 40, DIM = 5, K = 3 };

/* Trains on one set, predicts every point of another one by one, checks each
 * prediction against the hand computation, then evaluates them all. */
static void test_predict_matches_model(void)
{
    struct tt_set train, held;
    tt_make_separable(&train, "tr", 60, DIM, K, 1.0, 11);
    tt_make_separable(&held, "ho", N, DIM, K, 2.5, 12);
    struct vl_error err = {{0}};
    struct vl_strbuf log = VL_STRBUF_INIT;
    char *ckpt = tt_path("m.safetensors");
    CHECK(tt_train("model=logreg epochs=10 C=1 val=0", &train, ckpt, NULL, NULL, &log, &err) == 0);
    struct vl_st_file f;
    CHECK(vl_st_read(ckpt, &f, &err) == 0);

    /* labels of the held-out points (the set's CSV is its last input), three of them changed */
    char *labels_csv = read_text(held.inputs[held.n - 1]);
    CHECK(labels_csv != NULL);
    char *pred_paths[N + 1];
    size_t agree = 0, hand_correct = 0;
    int truth[N];
    for (int i = 0; i < N; i++) {
        char key[64];
        snprintf(key, sizeof key, "ho%04d.mp4,class", i);
        const char *at = strstr(labels_csv, key);
        truth[i] = at ? at[strlen(key)] - '0' : -1;
        pred_paths[i] = tt_path("pred%04d.json", i);
        const char *inputs[2] = {ckpt, held.inputs[i]};
        const char *origins[2] = {ckpt, held.origins[i]};
        const char *outputs[2] = {pred_paths[i], NULL};
        char *csv_out = tt_path("pred%04d.csv", i);
        outputs[1] = csv_out;
        CHECK(run_action("predict", "top=2", inputs, origins, 2, outputs, 2, &log, &err) == 0);
        float x[DIM];
        struct vl_npy_array a;
        CHECK(vl_npy_map(held.inputs[i], &a, &err) == 0);
        memcpy(x, a.data, sizeof x);
        vl_npy_unmap(&a);
        double p[K];
        by_hand(&f, x, DIM, K, p);
        struct vl_arena arena = {0};
        struct vl_json *v = read_json(&arena, pred_paths[i]);
        CHECK(v != NULL);
        const struct vl_json *probs = vl_json_get(v, "probabilities"), *top = vl_json_get(v, "top");
        CHECK(probs && probs->len == K && top && top->len == 2);
        CHECK_STR(vl_json_string(v, "format", ""), "vlbuild.prediction");
        CHECK(vl_json_number(v, "version", 0) == 1 && vl_json_number(v, "clips", 0) == 1);
        CHECK_STR(vl_json_string(v, "video", ""), held.origins[i]);
        int best = argmax(p, K);
        if (probs && probs->len == K && top && top->len == 2) {
            for (int c = 0; c < K; c++) CHECK(fabs(probs->items[c]->number - p[c]) < 1e-4);
            agree += vl_json_number(top->items[0], "index", -1) == best;
            char want[16];
            snprintf(want, sizeof want, "class%d", best);
            CHECK_STR(vl_json_string(top->items[0], "class", ""), want);
            CHECK(vl_json_number(top->items[0], "probability", 0) >=
                  vl_json_number(top->items[1], "probability", 1));
        }
        hand_correct += best == truth[i];
        char *csv = read_text(csv_out);
        CHECK_CONTAINS(csv, "video,rank,class,probability\n");
        CHECK_CONTAINS(csv, held.origins[i]);
        free(csv);
        free(csv_out);
        vl_arena_release(&arena);
    }
    CHECK(agree == N);
    printf("held-out accuracy by hand: %zu/%d\n", hand_correct, N);

    /* evaluate: the labels file with the first three labels moved to the next class */
    struct vl_strbuf moved = VL_STRBUF_INIT;
    vl_strbuf_adds(&moved, "video,label\n");
    size_t want_correct = 0;
    for (int i = 0; i < N; i++) {
        int label = i < 3 ? (truth[i] + 1) % K : truth[i];
        double p[K];
        float x[DIM];
        struct vl_npy_array a;
        CHECK(vl_npy_map(held.inputs[i], &a, &err) == 0);
        memcpy(x, a.data, sizeof x);
        vl_npy_unmap(&a);
        by_hand(&f, x, DIM, K, p);
        want_correct += argmax(p, K) == label;
        vl_strbuf_addf(&moved, "ho%04d.mp4,class%d\n", i, label);
    }
    char *moved_path = tt_path("moved.csv");
    CHECK(vl_write_file_atomic(moved_path, moved.buf, moved.len, &err) == 0);
    pred_paths[N] = moved_path;
    char *metrics = tt_path("metrics.json"), *all = tt_path("all.csv");
    const char *outputs[2] = {metrics, all};
    CHECK(run_action("evaluate", "top=5", (const char *const *)pred_paths,
                     (const char *const *)pred_paths, N + 1, outputs, 2, &log, &err) == 0);
    struct vl_arena arena = {0};
    struct vl_json *m = read_json(&arena, metrics);
    CHECK(m != NULL);
    CHECK_STR(vl_json_string(m, "format", ""), "vlbuild.metrics");
    CHECK(vl_json_number(m, "videos", 0) == N);
    CHECK(fabs(vl_json_number(m, "accuracy", -1) - (double)want_correct / N) < 1e-9);
    CHECK(vl_json_number(m, "top_k", 0) == K); /* top=5 of 3 classes */
    CHECK(vl_json_number(m, "top_k_accuracy", 0) == 1);
    char *rows = read_text(all);
    CHECK_CONTAINS(rows, "video,label,predicted,probability,correct\ndata/raw/ho0000.mp4,");
    free(rows);
    vl_arena_release(&arena);

    /* clips of one video averaged: two arrays of one source give the mean */
    {
        const char *inputs[3] = {ckpt, held.inputs[0], held.inputs[1]};
        const char *origins[3] = {ckpt, "data/raw/both.mp4", "data/raw/both.mp4"};
        char *both = tt_path("both.json");
        const char *out1[1] = {both};
        CHECK(run_action("predict", "top=1", inputs, origins, 3, out1, 1, &log, &err) == 0);
        struct vl_json *v = read_json(&arena, both), *p0 = read_json(&arena, pred_paths[0]),
                       *p1 = read_json(&arena, pred_paths[1]);
        CHECK(v && p0 && p1 && vl_json_number(v, "clips", 0) == 2);
        const struct vl_json *pb = v ? vl_json_get(v, "probabilities") : NULL;
        for (int c = 0; pb && c < K; c++)
            CHECK(fabs(pb->items[c]->number -
                       (vl_json_get(p0, "probabilities")->items[c]->number +
                        vl_json_get(p1, "probabilities")->items[c]->number) / 2) < 1e-6);
        vl_arena_release(&arena);
        /* ...and arrays of two videos are refused */
        origins[2] = held.origins[1];
        CHECK(run_action("predict", "", inputs, origins, 3, out1, 1, &log, &err) < 0);
        CHECK_CONTAINS(err.msg, "predict takes the arrays of one video");
        /* an array of another size than the model's */
        float x7[7] = {0};
        char *odd = tt_path("odd.npy");
        CHECK(vl_npy_write(odd, VL_NPY_F32, (uint64_t[]){7}, 1, x7, &err) == 0);
        const char *bad[2] = {ckpt, odd};
        CHECK(run_action("predict", "", bad, bad, 2, out1, 1, &log, &err) < 0);
        CHECK_CONTAINS(err.msg, "has 7 values, but");
        free(odd);
        free(both);
    }
    vl_st_free(&f);
    for (int i = 0; i <= N; i++) free(pred_paths[i]);
    free(metrics);
    free(all);
    free(labels_csv);
    free(ckpt);
    vl_strbuf_release(&moved);
    vl_strbuf_release(&log);
    tt_set_free(&train);
    tt_set_free(&held);
}

static void write_prediction(const char *name, const char *video, int clips, const char *probs)
{
    struct vl_strbuf sb = VL_STRBUF_INIT;
    vl_strbuf_addf(&sb,
                   "{\"format\":\"vlbuild.prediction\",\"version\":1,\"video\":\"%s\","
                   "\"clips\":%d,\"classes\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\"],"
                   "\"probabilities\":[%s],\"top\":[]}",
                   video, clips, probs);
    char *p = tt_path("%s", name);
    struct vl_error err;
    if (vl_write_file_atomic(p, sb.buf, sb.len, &err) < 0) abort();
    free(p);
    vl_strbuf_release(&sb);
}

/* Hand-made predictions of six classes with known metrics. */
static void test_evaluate_known(void)
{
    /* v1 a -> a; v2 a -> b (a is 6th: outside the top 5); v3 b -> b; v4 c -> b (c 2nd);
     * v5 c -> c from two files, one per clip, averaged (alone the second says a) */
    write_prediction("k1.json", "raw/v1.mp4", 1, "0.5,0.1,0.1,0.1,0.1,0.1");
    write_prediction("k2.json", "raw/v2.mp4", 1, "0.01,0.5,0.2,0.1,0.1,0.09");
    write_prediction("k3.json", "raw/v3.mp4", 1, "0.1,0.5,0.1,0.1,0.1,0.1");
    write_prediction("k4.json", "raw/v4.mp4", 1, "0.1,0.4,0.3,0.1,0.05,0.05");
    write_prediction("k5a.json", "raw/v5.mp4", 3, "0.1,0.1,0.6,0.1,0.05,0.05");
    write_prediction("k5b.json", "raw/v5.mp4", 1, "0.5,0.1,0.2,0.1,0.05,0.05");
    char *labels = tt_path("k.csv");
    const char *csv = "file,label\nv1.mp4,a\nv2.mp4,a\nv3.mp4,b\nv4.mp4,c\nv5.mp4,c\nv6.mp4,d\n";
    struct vl_error err = {{0}};
    CHECK(vl_write_file_atomic(labels, csv, strlen(csv), &err) == 0);
    const char *names[] = {"k1.json", "k2.json", "k3.json", "k4.json", "k5a.json", "k5b.json"};
    const char *inputs[7];
    for (int i = 0; i < 6; i++) inputs[i] = tt_path("%s", names[i]);
    inputs[6] = labels;
    char *out = tt_path("k-metrics.json"), *rows = tt_path("k-rows.csv");
    const char *outputs[2] = {out, rows};
    struct vl_strbuf log = VL_STRBUF_INIT;
    CHECK(run_action("evaluate", "", inputs, inputs, 7, outputs, 2, &log, &err) == 0);
    char *text = read_text(out);
    /* 3 of 5 right; top 5: all but v2 */
    CHECK_CONTAINS(text, "\"videos\":5,");
    CHECK_CONTAINS(text, "\"accuracy\":0.6,\"top_k\":5,\"top_k_accuracy\":0.8,");
    /* a: predicted once (v1), right; support 2 -> precision 1, recall 0.5.
     * b: predicted 3 times (v2, v3, v4), right once; support 1.
     * c: predicted once (v5), right; support 2.  d: no video, nothing predicted. */
    CHECK_CONTAINS(text, "{\"class\":\"a\",\"support\":2,\"predicted\":1,\"precision\":1,\"recall\":0.5}");
    CHECK_CONTAINS(text, "{\"class\":\"b\",\"support\":1,\"predicted\":3,\"precision\":0.3333333333333333,\"recall\":1}");
    CHECK_CONTAINS(text, "{\"class\":\"c\",\"support\":2,\"predicted\":1,\"precision\":1,\"recall\":0.5}");
    CHECK_CONTAINS(text, "{\"class\":\"d\",\"support\":0,\"predicted\":0,\"precision\":null,\"recall\":null}");
    CHECK_CONTAINS(text, "\"confusion\":[[1,1,0,0,0,0],[0,1,0,0,0,0],[0,1,1,0,0,0],[0,0,0,0,0,0],"
                         "[0,0,0,0,0,0],[0,0,0,0,0,0]]");
    free(text);
    text = read_text(rows);
    /* v5: c at (3 x 0.6 + 0.2) / 4, clips weighted (unweighted it would be 0.4) */
    CHECK_CONTAINS(text, "raw/v4.mp4,c,b,0.4,0\nraw/v5.mp4,c,c,0.49999999999999994,1\n");
    free(text);
    CHECK_CONTAINS(log.buf, "evaluated 5 videos: accuracy 60.00%");

    /* top=2: v4 counts (c is second), v2 does not */
    CHECK(run_action("evaluate", "top=2", inputs, inputs, 7, outputs, 1, &log, &err) == 0);
    text = read_text(out);
    CHECK_CONTAINS(text, "\"top_k\":2,\"top_k_accuracy\":0.8,");
    free(text);

    /* refusals: a video with no label, a label the model does not know, other classes */
    const char *nolabel = "file,label\nv1.mp4,a\n";
    CHECK(vl_write_file_atomic(labels, nolabel, strlen(nolabel), &err) == 0);
    CHECK(run_action("evaluate", "", inputs, inputs, 7, outputs, 1, &log, &err) < 0);
    CHECK_CONTAINS(err.msg, "4 video(s) have no label in");
    const char *unknown = "file,label\nv1.mp4,a\nv2.mp4,zz\nv3.mp4,b\nv4.mp4,c\nv5.mp4,c\n";
    CHECK(vl_write_file_atomic(labels, unknown, strlen(unknown), &err) == 0);
    CHECK(run_action("evaluate", "", inputs, inputs, 7, outputs, 1, &log, &err) < 0);
    CHECK_CONTAINS(err.msg, ":3: raw/v2.mp4 is labelled zz, which is not one of the model's 6 classes");
    char *other = tt_path("other.json");
    const char *o = "{\"format\":\"vlbuild.prediction\",\"version\":1,\"video\":\"raw/v9.mp4\","
                    "\"clips\":1,\"classes\":[\"a\",\"x\"],\"probabilities\":[0.5,0.5]}";
    CHECK(vl_write_file_atomic(other, o, strlen(o), &err) == 0);
    const char *mixed[3] = {inputs[0], other, labels};
    CHECK(run_action("evaluate", "", mixed, mixed, 3, outputs, 1, &log, &err) < 0);
    CHECK_CONTAINS(err.msg, "name different classes");
    const char *v2 = "{\"format\":\"vlbuild.prediction\",\"version\":2}";
    CHECK(vl_write_file_atomic(other, v2, strlen(v2), &err) == 0);
    CHECK(run_action("evaluate", "", mixed, mixed, 3, outputs, 1, &log, &err) < 0);
    CHECK_CONTAINS(err.msg, "prediction version 2 is not 1");
    free(other);
    for (int i = 0; i < 7; i++) free((char *)inputs[i]);
    free(out);
    free(rows);
    vl_strbuf_release(&log);
}

int main(void)
{
    tt_init("test_train_predict");
    test_predict_matches_model();
    test_evaluate_known();
    tt_cleanup();
    TEST_DONE();
}
