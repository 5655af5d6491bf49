/* test_train_labels_formats.c - every annotation format of labels.h, each
 * written here in its published shape, read and joined by provenance; the
 * splits they give, and a test split that the training set never reads. */
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


/* Reads the named files as one set in fmt; returns vl_labels_read_set's rc. */
static int read_set(const char *const *names, size_t n, enum vl_labels_format fmt,
                    struct vl_labels *l, struct vl_error *err)
{
    char *paths[8];
    for (size_t i = 0; i < n; i++) paths[i] = path_of(names[i]);
    int rc = vl_labels_read_set((const char *const *)paths, n, fmt, l, err);
    for (size_t i = 0; i < n; i++) free(paths[i]);
    return rc;
}

/* The label and split of the video at origin, or NULL. */
static const struct vl_label_row *row_of(const struct vl_labels *l, const char *origin)
{
    const struct vl_label_row *row = NULL;
    struct vl_error err;
    return vl_labels_find(l, origin, &row, &err) == 1 ? row : NULL;
}

static void test_csv_aliases_and_tsv(void)
{
    struct vl_labels l;
    struct vl_error err = {{0}};
    /* a TSV with capitalised aliases and a split column */
    write_text("a.tsv", "Video_ID\tCategory\tSubset\n"
                        "clip1\tjump\ttraining\n"
                        "clip2\trun\tvalidation\n"
                        "clip3\trun\ttesting\n"
                        "clip4\tjump\t\n");
    CHECK(read_set((const char *[]){"a.tsv"}, 1, VL_LABELS_AUTO, &l, &err) == 0);
    const struct vl_label_row *r = row_of(&l, "data/clip1.mp4");
    CHECK(r && !strcmp(r->label, "jump") && r->split == VL_SPLIT_TRAIN);
    CHECK((r = row_of(&l, "data/clip2.mp4")) && r->split == VL_SPLIT_VAL);
    CHECK((r = row_of(&l, "data/clip3.mp4")) && r->split == VL_SPLIT_TEST);
    CHECK((r = row_of(&l, "data/clip4.mp4")) && r->split == VL_SPLIT_NONE);
    vl_labels_free(&l);

    write_text("b.csv", "Filename,Class\nx/a.mp4,cat\n");
    CHECK(read_set((const char *[]){"b.csv"}, 1, VL_LABELS_AUTO, &l, &err) == 0);
    CHECK(row_of(&l, "data/x/a.mp4") && !strcmp(row_of(&l, "data/x/a.mp4")->label, "cat"));
    vl_labels_free(&l);

    /* no header: the error shows the line read and what is accepted */
    write_text("c.csv", "a.mp4,left\nb.mp4,right\n");
    CHECK(read_set((const char *[]){"c.csv"}, 1, VL_LABELS_AUTO, &l, &err) < 0);
    CHECK_CONTAINS(err.msg, "c.csv:1: the header must name a label column and a file, video or "
                            "path column: read 'a.mp4,left'; no key column; a label column is "
                            "one of: label, class");
    CHECK_CONTAINS(err.msg, "youtube_id");
    write_text("d.csv", "file,label,split\na.mp4,left,holdout\n");
    CHECK(read_set((const char *[]){"d.csv"}, 1, VL_LABELS_AUTO, &l, &err) < 0);
    CHECK_CONTAINS(err.msg, "d.csv:2: split 'holdout' is not train, val or test");
}

static void test_kinetics(void)
{
    struct vl_labels l;
    struct vl_error err = {{0}};
    write_text("kinetics400_val.csv", "label,youtube_id,time_start,time_end,split\n"
                                      "abseiling,-3B32lodo2M,59,69,val\n"
                                      "\"air drumming\",--nQbRBEz2s,104,114,val\n"
                                      "abseiling,0347ZoDXyP0,0,10,train\n");
    CHECK(read_set((const char *[]){"kinetics400_val.csv"}, 1, VL_LABELS_AUTO, &l, &err) == 0);
    const struct vl_label_row *r = row_of(&l, "k400/val/abseiling/-3B32lodo2M_000059_000069.mp4");
    CHECK(r && !strcmp(r->label, "abseiling") && r->split == VL_SPLIT_VAL);
    r = row_of(&l, "k400/--nQbRBEz2s_000104_000114.mp4");
    CHECK(r && !strcmp(r->label, "air drumming"));
    CHECK((r = row_of(&l, "0347ZoDXyP0_000000_000010.mp4")) && r->split == VL_SPLIT_TRAIN);
    CHECK(row_of(&l, "-3B32lodo2M.mp4") == NULL);
    vl_labels_free(&l);
    write_text("k.csv", "label,youtube_id,time_start,time_end,split\nabseiling,x,1.5,11,train\n");
    CHECK(read_set((const char *[]){"k.csv"}, 1, VL_LABELS_KINETICS, &l, &err) < 0);
    CHECK_CONTAINS(err.msg, "k.csv:2: time_start '1.5' and time_end '11' must be whole seconds");
    write_text("k.csv", "label,video\nabseiling,x\n");
    CHECK(read_set((const char *[]){"k.csv"}, 1, VL_LABELS_KINETICS, &l, &err) < 0);
    CHECK_CONTAINS(err.msg, "Kinetics names label, youtube_id, time_start and time_end");
}

static void test_list(void)
{
    struct vl_labels l;
    struct vl_error err = {{0}};
    /* mmaction2: `path label`, space or tab; rawframes lists `path frames label` */
    write_text("ucf101_train_split_1_videos.txt", "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 0\n"
                                                  "Archery/v_Archery_g01_c01.avi\t2\n"
                                                  "\n"
                                                  "rawframes/v_Bowling_g01_c01 120 10\n");
    CHECK(read_set((const char *[]){"ucf101_train_split_1_videos.txt"}, 1, VL_LABELS_AUTO, &l,
                   &err) == 0);
    const struct vl_label_row *r = row_of(&l, "data/ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi");
    CHECK(r && !strcmp(r->label, "0") && r->split == VL_SPLIT_TRAIN && r->line == 1);
    CHECK((r = row_of(&l, "data/Archery/v_Archery_g01_c01.avi")) && !strcmp(r->label, "2"));
    CHECK((r = row_of(&l, "x/rawframes/v_Bowling_g01_c01")) && !strcmp(r->label, "10") &&
          r->line == 4);
    CHECK(l.n_classes == 0); /* no index: integer labels stay labels */
    vl_labels_free(&l);
    write_text("l.txt", "a.mp4 1 2 3\n");
    CHECK(read_set((const char *[]){"l.txt"}, 1, VL_LABELS_LIST, &l, &err) < 0);
    CHECK_CONTAINS(err.msg, "l.txt:1: a list line is `path label`");
    write_text("l.txt", "a.mp4\n");
    CHECK(read_set((const char *[]){"l.txt"}, 1, VL_LABELS_AUTO, &l, &err) < 0);
    CHECK_CONTAINS(err.msg, "l.txt:1: a.mp4 has no label, and no class folder");
}

static void test_ucf101(void)
{
    struct vl_labels l;
    struct vl_error err = {{0}};
    write_text("classInd.txt", "1 ApplyEyeMakeup\r\n2 ApplyLipstick\r\n3 Archery\r\n");
    write_text("trainlist01.txt", "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1\r\n"
                                  "Archery/v_Archery_g08_c01.avi 3\r\n");
    write_text("testlist01.txt", "ApplyLipstick/v_ApplyLipstick_g01_c01.avi\r\n"
                                 "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi\r\n");
    const char *set[] = {"trainlist01.txt", "testlist01.txt", "classInd.txt"};
    CHECK(read_set(set, 3, VL_LABELS_AUTO, &l, &err) == 0);
    CHECK(l.n_classes == 3 && !strcmp(l.classes[0], "ApplyEyeMakeup") &&
          !strcmp(l.classes[2], "Archery"));
    const struct vl_label_row *r = row_of(&l, "UCF-101/Archery/v_Archery_g08_c01.avi");
    CHECK(r && !strcmp(r->label, "Archery") && r->split == VL_SPLIT_TRAIN);
    r = row_of(&l, "UCF-101/ApplyLipstick/v_ApplyLipstick_g01_c01.avi");
    CHECK(r && !strcmp(r->label, "ApplyLipstick") && r->split == VL_SPLIT_TEST);
    vl_labels_free(&l);
    CHECK(read_set(set, 3, VL_LABELS_UCF101, &l, &err) == 0);
    vl_labels_free(&l);
    /* an id the index lacks, a folder that is no class */
    write_text("trainlist02.txt", "Archery/v_Archery_g08_c01.avi 7\r\n");
    CHECK(read_set((const char *[]){"trainlist02.txt", "classInd.txt"}, 2, VL_LABELS_AUTO, &l,
                   &err) < 0);
    CHECK_CONTAINS(err.msg, "trainlist02.txt:1: class id 7 of Archery/v_Archery_g08_c01.avi is not "
                            "in the class index (ids 1 to 3 in ");
    write_text("testlist02.txt", "Bowling/v_Bowling_g01_c01.avi\r\n");
    CHECK(read_set((const char *[]){"testlist02.txt", "classInd.txt"}, 2, VL_LABELS_AUTO, &l,
                   &err) < 0);
    CHECK_CONTAINS(err.msg, "testlist02.txt:1: Bowling/v_Bowling_g01_c01.avi is labelled Bowling, "
                            "which is not a class of the index");
    /* one file alone, as the rules' check reads it: ids are not resolved */
    char *p = path_of("trainlist02.txt");
    CHECK(vl_labels_check_file(p, VL_LABELS_AUTO, &err) == 0);
    free(p);
}

static void test_hmdb51(void)
{
    struct vl_labels l;
    struct vl_error err = {{0}};
    /* the published files end each line with a space */
    write_text("brush_hair_test_split1.txt", "April_09_brush_hair_u_nm_np1_ba_goo_0.avi 1 \n"
                                             "April_09_brush_hair_u_nm_np1_ba_goo_1.avi 2 \n"
                                             "April_09_brush_hair_u_nm_np1_ba_goo_2.avi 0 \n");
    write_text("cartwheel_test_split1.txt", "Bodenturnen_2004_cartwheel_f_cm_np1_le_med_0.avi 1 \n");
    const char *set[] = {"brush_hair_test_split1.txt", "cartwheel_test_split1.txt"};
    CHECK(read_set(set, 2, VL_LABELS_AUTO, &l, &err) == 0);
    const struct vl_label_row *r = row_of(&l, "hmdb/brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0.avi");
    CHECK(r && !strcmp(r->label, "brush_hair") && r->split == VL_SPLIT_TRAIN);
    CHECK((r = row_of(&l, "April_09_brush_hair_u_nm_np1_ba_goo_1.avi")) && r->split == VL_SPLIT_TEST);
    CHECK((r = row_of(&l, "April_09_brush_hair_u_nm_np1_ba_goo_2.avi")) && r->split == VL_SPLIT_UNUSED);
    CHECK((r = row_of(&l, "x/Bodenturnen_2004_cartwheel_f_cm_np1_le_med_0.avi")) &&
          !strcmp(r->label, "cartwheel"));
    vl_labels_free(&l);
    write_text("brush_hair_test_split2.txt", "a.avi 3\n");
    CHECK(read_set((const char *[]){"brush_hair_test_split2.txt"}, 1, VL_LABELS_HMDB51, &l, &err) < 0);
    CHECK_CONTAINS(err.msg, "brush_hair_test_split2.txt:1: an HMDB51 split line is `name.avi D`");
    write_text("splits.txt", "a.avi 1\n");
    CHECK(read_set((const char *[]){"splits.txt"}, 1, VL_LABELS_HMDB51, &l, &err) < 0);
    CHECK_CONTAINS(err.msg, "named <class>_test_split<N>.txt");
}

static void test_sthsth(void)
{
    struct vl_labels l;
    struct vl_error err = {{0}};
    write_text("labels.json", "{\n \"Approaching something with your camera\": \"0\",\n"
                              " \"Holding something next to something\": \"1\",\n"
                              " \"Moving something up\": \"2\"\n}\n");
    write_text("something-something-v2-train.json",
               "[\n{\"id\":\"78687\",\"label\":\"holding potato next to vicks vaporub bottle\","
               "\"template\":\"Holding [something] next to [something]\","
               "\"placeholders\":[\"potato\",\"vicks vaporub bottle\"]},\n"
               "{\"id\":\"42326\",\"label\":\"moving a cup up\",\"template\":\"Moving "
               "[something] up\",\"placeholders\":[\"a cup\"]}\n]\n");
    write_text("something-something-v2-validation.json",
               "[{\"id\":\"74225\",\"label\":\"approaching a tree with your camera\","
               "\"template\":\"Approaching [something] with your camera\","
               "\"placeholders\":[\"a tree\"]}]");
    const char *set[] = {"labels.json", "something-something-v2-train.json",
                         "something-something-v2-validation.json"};
    CHECK(read_set(set, 3, VL_LABELS_AUTO, &l, &err) == 0);
    CHECK(l.n_classes == 3 && !strcmp(l.classes[1], "Holding something next to something"));
    const struct vl_label_row *r = row_of(&l, "20bn/78687.webm");
    CHECK(r && !strcmp(r->label, "Holding something next to something") &&
          r->split == VL_SPLIT_TRAIN);
    CHECK((r = row_of(&l, "20bn/74225.webm")) && r->split == VL_SPLIT_VAL &&
          !strcmp(r->label, "Approaching something with your camera"));
    vl_labels_free(&l);
    write_text("bad.json", "[{\"id\":\"1\"}]");
    CHECK(read_set((const char *[]){"bad.json"}, 1, VL_LABELS_AUTO, &l, &err) < 0);
    CHECK_CONTAINS(err.msg, "bad.json: item 1 needs an \"id\" and a \"template\" or \"label\"");
    write_text("bad.json", "[{\"id\":\"1\",\"template\":\"Pushing [something]\"}]");
    CHECK(read_set((const char *[]){"bad.json", "labels.json"}, 2, VL_LABELS_STHSTH, &l, &err) < 0);
    CHECK_CONTAINS(err.msg, "1 is labelled Pushing something, which is not a class of the index");
    CHECK(read_set((const char *[]){"classInd.txt"}, 1, VL_LABELS_STHSTH, &l, &err) < 0);
    CHECK_CONTAINS(err.msg, "labels_format=sthsth reads JSON");
}

static void write_feat(const char *name, float v)
{
    float x[4] = {v, v + 1, v * 2, 1};
    struct vl_error err;
    char *p = path_of(name);
    if (vl_npy_write(p, VL_NPY_F32, (uint64_t[]){4}, 1, x, &err) < 0) abort();
    free(p);
}

/* Test videos whose arrays are not even arrays: training never reads them. */
static void test_test_split_never_read(void)
{
    write_text("split.csv", "file,label,split\n"
                            "v0.mp4,a,train\nv1.mp4,b,train\nv2.mp4,a,train\nv3.mp4,b,train\n"
                            "v4.mp4,a,val\nv5.mp4,b,val\n"
                            "v6.mp4,a,test\nv7.mp4,b,test\n");
    const char *names[] = {"split.csv", "f0.npy", "f1.npy", "f2.npy", "f3.npy",
                           "f4.npy",    "f5.npy", "f6.npy", "f7.npy"};
    for (int i = 0; i < 6; i++) {
        char n[16];
        snprintf(n, sizeof n, "f%d.npy", i);
        write_feat(n, (float)i);
    }
    write_text("f6.npy", "not an array");
    write_text("f7.npy", "");
    char *paths[9], origins[9][32];
    const char *orig[9];
    struct vl_hash hashes[9] = {{{0}}};
    for (int i = 0; i < 9; i++) {
        paths[i] = path_of(names[i]);
        snprintf(origins[i], sizeof origins[i], "data/v%d.mp4", i - 1);
        orig[i] = i ? origins[i] : paths[0];
    }
    struct vl_dataset_config cfg = {.kind = VL_DATA_FEATURES, .val = 0.5, .seed = 1};
    struct vl_dataset ds;
    struct vl_strbuf log = VL_STRBUF_INIT;
    struct vl_error err = {{0}};
    CHECK(vl_dataset_open((const char *const *)paths, hashes, orig, 9, &cfg, &ds, &log, &err) == 0);
    CHECK(ds.n == 6 && ds.n_test == 2);
    size_t val = 0;
    for (size_t i = 0; i < ds.n; i++) {
        CHECK(strcmp(ds.samples[i].origin, "data/v6.mp4") && strcmp(ds.samples[i].origin, "data/v7.mp4"));
        int want_val = !strcmp(ds.samples[i].origin, "data/v4.mp4") ||
                       !strcmp(ds.samples[i].origin, "data/v5.mp4");
        CHECK(ds.samples[i].is_val == want_val); /* the annotated validation, not val=0.5 */
        val += ds.samples[i].is_val;
    }
    CHECK(val == 2);
    CHECK_CONTAINS(log.buf, "train 4, validation 2, test 2 (held out, not read)");
    vl_dataset_close(&ds);

    /* the hash test split: by path alone, the same whatever else the set holds */
    int n_test = 0;
    for (int i = 0; i < 1000; i++) {
        char o[32];
        snprintf(o, sizeof o, "data/v%d.mp4", i);
        int t = vl_labels_hash_test(o, 0.2, 1);
        CHECK(t == vl_labels_hash_test(o, 0.2, 1) && (!t || vl_labels_hash_test(o, 0.5, 1)));
        CHECK(!vl_labels_hash_test(o, 0, 1));
        n_test += t;
    }
    CHECK(n_test > 150 && n_test < 250);
    for (int i = 0; i < 9; i++) free(paths[i]);
    vl_strbuf_release(&log);
}

/* A class index gives the class order (class i is the index's i-th id). */
static void test_index_orders_classes(void)
{
    write_text("classInd.txt", "1 zebra\n2 apple\n");
    write_text("trainlist01.txt", "zebra/z0.avi 1\nzebra/z1.avi 1\napple/a0.avi 2\napple/a1.avi 2\n");
    const char *names[] = {"classInd.txt", "trainlist01.txt", "z0.npy", "z1.npy", "a0.npy", "a1.npy"};
    const char *orig[] = {NULL, NULL, "d/zebra/z0.avi", "d/zebra/z1.avi", "d/apple/a0.avi",
                          "d/apple/a1.avi"};
    char *paths[6];
    struct vl_hash hashes[6] = {{{0}}};
    for (int i = 0; i < 6; i++) {
        paths[i] = path_of(names[i]);
        if (i >= 2) write_feat(names[i], (float)i);
        if (!orig[i]) orig[i] = paths[i];
    }
    struct vl_dataset_config cfg = {.kind = VL_DATA_FEATURES, .val = 0, .seed = 1};
    struct vl_dataset ds;
    struct vl_strbuf log = VL_STRBUF_INIT;
    struct vl_error err = {{0}};
    CHECK(vl_dataset_open((const char *const *)paths, hashes, orig, 6, &cfg, &ds, &log, &err) == 0);
    CHECK(ds.n_classes == 2 && !strcmp(ds.classes[0], "zebra") && !strcmp(ds.classes[1], "apple"));
    CHECK(ds.n == 4 && ds.samples[0].label == 0 && ds.samples[2].label == 1);
    vl_dataset_close(&ds);
    for (int i = 0; i < 6; i++) free(paths[i]);
    vl_strbuf_release(&log);
}

int main(void)
{
    test_dir_make("test_train_labels_formats");
    test_csv_aliases_and_tsv();
    test_kinetics();
    test_list();
    test_ucf101();
    test_hmdb51();
    test_sthsth();
    test_test_split_never_read();
    test_index_orders_classes();
    if (test_dir_remove() < 0) return 1;
    TEST_DONE();
}
