/* test_train_dataset.c - the labels join, the split by source and the
 * errors of the training-set reader. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "test_files.h"
#include "train/dataset.h"
#include "train/labels.h"
#include "util/fs.h"
#include "video/npy.h"


/* what datasets borrow, freed at the end */
static void *kept[4096];
static size_t n_kept;

static void *keep(void *p)
{
    if (n_kept < sizeof kept / sizeof *kept) kept[n_kept++] = p;
    return p;
}

static void write_feat(const char *name, int d, float v)
{
    float x[64];
    for (int i = 0; i < d; i++) x[i] = v + (float)i;
    struct vl_error err;
    char *p = path_of(name);
    if (vl_npy_write(p, VL_NPY_F32, (uint64_t[]){(uint64_t)d}, 1, x, &err) < 0) abort();
    free(p);
}

/* Opens a dataset over the named inputs; origins[i] NULL means "the input itself". */
static int open_ds(const char **names, const char **origins, size_t n, double val,
                   struct vl_dataset *ds, struct vl_error *err, struct vl_strbuf *log)
{
    char **paths = keep(calloc(n, sizeof *paths));
    const char **orig = keep(calloc(n, sizeof *orig));
    struct vl_hash *hashes = calloc(n, sizeof *hashes);
    for (size_t i = 0; i < n; i++) {
        paths[i] = keep(path_of(names[i]));
        orig[i] = origins && origins[i] ? origins[i] : paths[i];
        if (vl_hash_file(paths[i], &hashes[i], err) < 0) abort();
    }
    struct vl_dataset_config cfg = {.kind = VL_DATA_FEATURES, .val = val, .seed = 1};
    int rc = vl_dataset_open((const char *const *)paths, hashes, orig, n, &cfg, ds, log, err);
    if (rc < 0) ds->n = 0;
    /* the dataset borrows paths and origins: keep them for the test's life */
    free(hashes);
    return rc;
}

static void test_labels_csv(void)
{
    struct vl_labels l;
    struct vl_error err = {{0}};
    write_text("l1.csv", "\xef\xbb\xbfvideo,extra,label\r\n"
                         "data/raw/left/a.mp4,x,left\r\n"
                         "\r\n"
                         "\"b, quoted.mp4\",\"y \"\"z\"\"\",right\r\n"
                         "c,,up\r\n"
                         "./data/raw/left/a.mp4,x,left\r\n");
    char *p = path_of("l1.csv");
    CHECK(vl_labels_read(p, &l, &err) == 0);
    const struct vl_label_row *row = NULL;
    CHECK(vl_labels_find(&l, "data/raw/left/a.mp4", &row, &err) == 1 && !strcmp(row->label, "left"));
    CHECK(vl_labels_find(&l, "./data/raw/left/a.mp4", &row, &err) == 1 && row->line == 2);
    CHECK(vl_labels_find(&l, "elsewhere/b, quoted.mp4", &row, &err) == 1 &&
          !strcmp(row->label, "right") && row->line == 4);
    CHECK(vl_labels_find(&l, "data/raw/c.mkv", &row, &err) == 1 && !strcmp(row->label, "up"));
    CHECK(vl_labels_find(&l, "data/raw/d.mkv", &row, &err) == 0);
    CHECK(vl_labels_find(&l, "x/a.mp4", &row, &err) == 0); /* a path key is not a stem */
    CHECK(vl_labels_find(&l, "x/c.mp4", &row, &err) == 1 && !strcmp(row->label, "up"));
    vl_labels_free(&l);
    free(p);

    struct {
        const char *text, *msg;
    } bad[] = {
        {"name,label\na,b\n", "l2.csv:1: the header must name a label column"},
        {"file,label\na,left\nb\n", "l2.csv:3: expected 2 fields as in the header, got 1"},
        {"file,label\na,left\n,right\n", "l2.csv:3: empty file name"},
        {"file,label\na,left\nb,\n", "l2.csv:3: empty label for b"},
        {"file,label\na,left\n\nb,right\na,right\n", "l2.csv:5: a is labelled right here but left on line 2"},
        {"file,label\n\"a,left\n", "l2.csv:2: unterminated quoted field"},
        {"file,label\n", "no label rows"},
        {"", "empty labels file"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        write_text("l2.csv", bad[i].text);
        p = path_of("l2.csv");
        CHECK(vl_labels_read(p, &l, &err) < 0);
        CHECK_CONTAINS(err.msg, bad[i].msg);
        free(p);
    }

    /* two keys with one stem: a stem lookup is ambiguous, a path is not */
    write_text("l3.csv", "file,label\nx/a.mp4,left\na.mkv,right\na.avi,up\n");
    p = path_of("l3.csv");
    CHECK(vl_labels_read(p, &l, &err) == 0);
    CHECK(vl_labels_find(&l, "data/x/a.mp4", &row, &err) == 1 && !strcmp(row->label, "left"));
    CHECK(vl_labels_find(&l, "z/a.mov", &row, &err) < 0);
    CHECK_CONTAINS(err.msg, "several rows have the stem a");
    vl_labels_free(&l);
    free(p);
}

static void test_split_by_source(void)
{
    /* 20 sources in 2 classes, 3 augmented copies each */
    enum { SOURCES = 20, COPIES = 3, N = SOURCES * COPIES + 1 };
    const char *names[N], *origins[N];
    char csv[4096] = "file,label\n";
    for (int s = 0; s < SOURCES; s++) {
        char line[64];
        snprintf(line, sizeof line, "v%02d.mp4,%s\n", s, s % 2 ? "odd" : "even");
        strcat(csv, line);
        for (int c = 0; c < COPIES; c++) {
            char *name = keep(malloc(32)), *origin = keep(malloc(48));
            snprintf(name, 32, "v%02d.%d.npy", s, c);
            snprintf(origin, 48, "data/raw/v%02d.mp4", s);
            write_feat(name, 4, (float)s);
            names[s * COPIES + c] = name;
            origins[s * COPIES + c] = origin;
        }
    }
    write_text("labels.csv", csv);
    names[N - 1] = "labels.csv";
    origins[N - 1] = NULL;
    struct vl_dataset ds, ds2;
    struct vl_error err = {{0}};
    struct vl_strbuf log = VL_STRBUF_INIT;
    CHECK(open_ds(names, origins, N, 0.2, &ds, &err, &log) == 0);
    CHECK(ds.n == SOURCES * COPIES && ds.n_sources == SOURCES && ds.n_classes == 2);
    CHECK_STR(ds.classes[0], "even");
    CHECK(ds.dim == 4);
    /* round(0.2 * 10) = 2 sources of each class, 6 clips each */
    CHECK(vl_dataset_count(&ds, 1) == 2 * 2 * COPIES);
    for (size_t i = 0; i < ds.n; i++)
        for (size_t j = 0; j < ds.n; j++)
            if (ds.samples[i].source == ds.samples[j].source)
                CHECK(ds.samples[i].is_val == ds.samples[j].is_val);
    CHECK_CONTAINS(log.buf, "class even: train 24, validation 6");
    CHECK_CONTAINS(log.buf, "from 20 sources, 2 classes; train 48, validation 12");
    CHECK(ds.features[3 * ds.dim + 1] == 2.0f); /* v01 copy 0: 1 + 1 */

    /* the same inputs in another order give the same split by source */
    const char *rnames[N], *rorigins[N];
    for (int i = 0; i < N; i++) rnames[i] = names[N - 1 - i], rorigins[i] = origins[N - 1 - i];
    struct vl_strbuf log2 = VL_STRBUF_INIT;
    CHECK(open_ds(rnames, rorigins, N, 0.2, &ds2, &err, &log2) == 0);
    for (size_t i = 0; i < ds.n; i++)
        CHECK(ds.samples[i].is_val == ds2.samples[ds.n - 1 - i].is_val);
    /* ...but another fingerprint, since the order of inputs is the order of samples */
    CHECK(!vl_hash_equal(&ds.fingerprint, &ds2.fingerprint));
    vl_dataset_close(&ds2);
    struct vl_dataset ds3;
    CHECK(open_ds(names, origins, N, 0.2, &ds3, &err, &log2) == 0);
    CHECK(vl_hash_equal(&ds.fingerprint, &ds3.fingerprint));
    vl_dataset_close(&ds3);
    CHECK(open_ds(names, origins, N, 0.0, &ds3, &err, &log2) == 0);
    CHECK(vl_dataset_count(&ds3, 1) == 0);
    vl_dataset_close(&ds3);
    vl_dataset_close(&ds);
    vl_strbuf_release(&log);
    vl_strbuf_release(&log2);
}

/* Integer labels sort by value (class id i is logit i); any other label
 * makes the order by name again. */
static void test_class_order(void)
{
    const char *labels[] = {"10", "2", "-3", "0", "007", "1"};
    enum { K = 6 };
    const char *names[K + 1], *origins[K + 1];
    char csv[512] = "file,label\n";
    for (int i = 0; i < K; i++) {
        char *name = keep(malloc(32)), *origin = keep(malloc(48));
        snprintf(name, 32, "ord%d.npy", i);
        snprintf(origin, 48, "raw/ord%d.mp4", i);
        write_feat(name, 2, (float)i);
        names[i] = name;
        origins[i] = origin;
        char line[64];
        snprintf(line, sizeof line, "ord%d.mp4,%s\n", i, labels[i]);
        strcat(csv, line);
    }
    write_text("ord.csv", csv);
    names[K] = "ord.csv";
    origins[K] = NULL;
    struct vl_dataset ds;
    struct vl_error err = {{0}};
    struct vl_strbuf log = VL_STRBUF_INIT;
    CHECK(open_ds(names, origins, K + 1, 0, &ds, &err, &log) == 0);
    const char *want[] = {"-3", "0", "1", "2", "007", "10"};
    CHECK(ds.n_classes == K);
    for (int c = 0; c < K && c < ds.n_classes; c++) CHECK_STR(ds.classes[c], want[c]);
    CHECK(ds.samples[0].label == 5 && ds.samples[1].label == 3); /* "10", "2" */
    vl_dataset_close(&ds);

    /* one label that is not an integer: by name */
    strcat(csv, "ord6.mp4,x2\n");
    write_text("ord.csv", csv);
    write_feat("ord6.npy", 2, 6);
    const char *names2[K + 2], *origins2[K + 2];
    for (int i = 0; i < K; i++) names2[i] = names[i], origins2[i] = origins[i];
    names2[K] = "ord6.npy", origins2[K] = "raw/ord6.mp4";
    names2[K + 1] = "ord.csv", origins2[K + 1] = NULL;
    CHECK(open_ds(names2, origins2, K + 2, 0, &ds, &err, &log) == 0);
    const char *by_name[] = {"-3", "0", "007", "1", "10", "2", "x2"};
    for (int c = 0; c < 7 && c < ds.n_classes; c++) CHECK_STR(ds.classes[c], by_name[c]);
    vl_dataset_close(&ds);
    vl_strbuf_release(&log);
}

static void expect_error(const char **names, const char **origins, size_t n, const char *msg)
{
    struct vl_dataset ds;
    struct vl_error err = {{0}};
    struct vl_strbuf log = VL_STRBUF_INIT;
    CHECK(open_ds(names, origins, n, 0.2, &ds, &err, &log) < 0);
    CHECK_CONTAINS(err.msg, msg);
    vl_strbuf_release(&log);
}

static void test_errors(void)
{
    write_text("e.csv", "file,label\na.mp4,x\nb.mp4,y\n");
    write_feat("a.npy", 4, 0);
    write_feat("b.npy", 4, 1);
    write_feat("b5.npy", 5, 1);
    write_feat("c.npy", 4, 1);
    const char *o[] = {"raw/a.mp4", "raw/b.mp4", "raw/c.mp4", NULL};
    expect_error((const char *[]){"a.npy", "b.npy", "c.npy", "e.csv"}, o, 4,
                 "1 input(s) have no label in");
    expect_error((const char *[]){"a.npy", "b.npy", "c.npy", "e.csv"}, o, 4, "c.npy (from raw/c.mp4)");
    expect_error((const char *[]){"a.npy", "b5.npy", "e.csv"}, o, 3, "inconsistent shapes:");
    expect_error((const char *[]){"a.npy", "b.npy"}, o, 2, "no labels file among the inputs");
    /* several annotation files are one set: a video labelled twice must agree */
    write_text("e2.csv", "file,label\na.mp4,y\n");
    expect_error((const char *[]){"a.npy", "e.csv", "e2.csv"}, o, 3,
                 "e2.csv:2: a.mp4 is labelled y here but x on line 2 of ");
    expect_error((const char *[]){"a.npy", "e.csv"}, o, 2, "the inputs have one class (x)");

    /* a clip where features are expected */
    struct vl_error err;
    uint8_t px[2 * 2 * 2 * 3] = {0};
    char *p = path_of("clip.npy");
    CHECK(vl_npy_write(p, VL_NPY_U8, (uint64_t[]){2, 2, 2, 3}, 4, px, &err) == 0);
    free(p);
    expect_error((const char *[]){"a.npy", "clip.npy", "e.csv"}, o, 3,
                 "[2,2,2,3] uint8 is not a feature array");

    /* a hostile .npy: the header claims more data than the file holds */
    write_text("lie.npy", "\x93NUMPY\x01\x00\x76\x00{'descr': '<f4', 'fortran_order': False, "
                          "'shape': (1000000,), }                                                 "
                          "    \n");
    expect_error((const char *[]){"a.npy", "lie.npy", "e.csv"}, o, 3, "lie.npy");
    /* a non-finite feature */
    float nan_feat[4] = {0, 1, 0.0f / 0.0f, 2};
    p = path_of("nan.npy");
    CHECK(vl_npy_write(p, VL_NPY_F32, (uint64_t[]){4}, 1, nan_feat, &err) == 0);
    free(p);
    expect_error((const char *[]){"a.npy", "nan.npy", "e.csv"}, o, 3, "nan.npy: value 2 is not finite");
}

int main(void)
{
    test_dir_make("test_train_dataset");
    test_labels_csv();
    test_split_by_source();
    test_class_order();
    test_errors();
    for (size_t i = 0; i < n_kept; i++) free(kept[i]);
    test_dir_remove();
    TEST_DONE();
}
