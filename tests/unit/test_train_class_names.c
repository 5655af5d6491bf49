/* test_train_class_names.c - the class names a checkpoint stores: integer
 * labels by value (class id i is logit i), and a class index's order; a
 * model trained with either still finds the right class. */
#include "test.h"
#include "test_train_util.h"

#include "train/safetensors.h"

/* Rewrites set s's labels file (its last input) with names[k] for class<k>
 * under the given header. */
static void relabel(struct tt_set *s, const char *header, const char *const *names)
{
    char *text;
    size_t n;
    struct vl_error err;
    const char *csv = s->inputs[s->n - 1];
    if (vl_read_file(csv, &text, &n, &err) < 0) abort();
    struct vl_strbuf out = VL_STRBUF_INIT;
    vl_strbuf_adds(&out, header);
    char *save = NULL;
    strtok_r(text, "\n", &save); /* the old header */
    for (char *line = strtok_r(NULL, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *comma = strrchr(line, ',');
        *comma = '\0';
        int k = atoi(comma + 1 + strlen("class"));
        vl_strbuf_addf(&out, "%s,%s\n", line, names[k]);
    }
    if (vl_write_file_atomic(csv, out.buf, out.len, &err) < 0) abort();
    if (vl_hash_file(csv, &s->hashes[s->n - 1], &err) < 0) abort();
    vl_strbuf_release(&out);
    free(text);
}

/* Trains logreg on s; returns the checkpoint's classes (malloc'd) and its
 * validation accuracy in *acc. */
static char *train_classes(const struct tt_set *s, const char *name, double *acc)
{
    char *out = tt_path("%s.safetensors", name);
    struct vl_strbuf log = VL_STRBUF_INIT;
    struct vl_error err = {{0}};
    int rc = tt_train("model=logreg epochs=10 seed=2", s, out, NULL, NULL, &log, &err);
    CHECK(rc == 0);
    if (rc < 0) fprintf(stderr, "%s\n", err.msg);
    char *classes = NULL;
    struct vl_st_file f;
    *acc = 0;
    if (rc == 0 && vl_st_read(out, &f, &err) == 0) {
        classes = strdup(vl_st_get_meta(&f, "classes"));
        const char *m = vl_st_get_meta(&f, "metrics");
        const char *at = m ? strstr(m, "\"val_accuracy\":") : NULL;
        if (at) *acc = atof(at + strlen("\"val_accuracy\":"));
        vl_st_free(&f);
    }
    vl_strbuf_release(&log);
    free(out);
    return classes;
}

int main(void)
{
    tt_init("test_train_class_names");
    struct tt_set s;
    double acc;

    /* integer labels: sorted by value, "10" last; the model still learns them */
    tt_make_separable(&s, "int", 120, 5, 3, 0.5, 11);
    relabel(&s, "video,label\n", (const char *[]){"10", "2", "1"});
    char *classes = train_classes(&s, "int", &acc);
    CHECK_STR(classes, "[\"1\",\"2\",\"10\"]");
    CHECK(acc >= 0.95);
    free(classes);
    tt_set_free(&s);

    /* a class index orders the classes by id, whatever their names */
    tt_make_separable(&s, "ucf", 120, 5, 3, 0.5, 12);
    relabel(&s, "video,label\n", (const char *[]){"Zebra", "Apple", "Mango"});
    s.inputs = realloc(s.inputs, (s.n + 1) * sizeof *s.inputs);
    s.origins = realloc(s.origins, (s.n + 1) * sizeof *s.origins);
    s.hashes = realloc(s.hashes, (s.n + 1) * sizeof *s.hashes);
    s.inputs[s.n] = tt_path("classInd.txt");
    s.origins[s.n] = strdup(s.inputs[s.n]);
    struct vl_error err;
    const char *index = "1 Zebra\r\n2 Apple\r\n3 Mango\r\n";
    if (vl_write_file_atomic(s.inputs[s.n], index, strlen(index), &err) < 0) abort();
    if (vl_hash_file(s.inputs[s.n], &s.hashes[s.n], &err) < 0) abort();
    s.n++;
    classes = train_classes(&s, "ucf", &acc);
    CHECK_STR(classes, "[\"Zebra\",\"Apple\",\"Mango\"]");
    CHECK(acc >= 0.95);
    free(classes);
    tt_set_free(&s);
    tt_cleanup();
    TEST_DONE();
}
