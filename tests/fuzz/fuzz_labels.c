/* fuzz_labels.c - libFuzzer target: the annotation readers (train/labels.h)
 * on arbitrary bytes.  The first byte picks the file's name (so that the
 * name-driven formats, HMDB51's split files and the split of list files,
 * are reached) and a second file of the set (a UCF101 class index or a
 * Something-Something labels JSON); the rest is the file, read in every
 * format.  Oracle: a read that succeeds gives rows with a key and a label,
 * the classes of its index in order, and a lookup of every key finds a row;
 * a read that fails says why. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "train/labels.h"
#include "util/fs.h"

static const char *const names[] = {"labels.csv", "trainlist01.txt", "brush_hair_test_split1.txt",
                                    "something-something-v2-validation.json", "list.tsv",
                                    "classInd.txt"};

static void check(const struct vl_labels *l)
{
    for (size_t i = 0; i < l->n_rows; i++) {
        const struct vl_label_row *r = &l->rows[i], *found = NULL;
        struct vl_error err;
        if (!r->key || !*r->key || !r->label || !*r->label) abort();
        if (vl_labels_find(l, r->key, &found, &err) == 0) abort(); /* -1: an ambiguous stem */
    }
    for (size_t c = 0; c < l->n_classes; c++)
        if (!l->classes[c]) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    char dir[] = "/tmp/vl-fuzz-labels-XXXXXX";
    if (!mkdtemp(dir)) abort();
    char main_path[128], second_path[128];
    snprintf(main_path, sizeof main_path, "%s/%s", dir, names[data[0] % 6]);
    int with_index = (data[0] / 6) % 3; /* 0: alone; 1: a class index; 2: a labels JSON */
    snprintf(second_path, sizeof second_path, "%s/%s", dir,
             with_index == 2 ? "labels.json" : "classInd.txt");
    struct vl_error err = {{0}};
    if (vl_write_file_atomic(main_path, data + 1, size - 1, &err) < 0) abort();
    const char *second = with_index == 2 ? "{\"a\":\"0\",\"b\":\"1\"}" : "1 a\n2 b\n";
    if (with_index && strcmp(main_path, second_path) &&
        vl_write_file_atomic(second_path, second, strlen(second), &err) < 0)
        abort();
    const char *set[2] = {main_path, second_path};
    size_t n = with_index && strcmp(main_path, second_path) ? 2 : 1;
    for (int fmt = VL_LABELS_AUTO; fmt <= VL_LABELS_STHSTH; fmt++) {
        struct vl_labels l;
        err.msg[0] = '\0';
        if (vl_labels_read_set(set, n, (enum vl_labels_format)fmt, &l, &err) == 0) {
            check(&l);
            vl_labels_free(&l);
        } else if (!err.msg[0]) {
            abort();
        }
        err.msg[0] = '\0';
        if (vl_labels_check_file(main_path, (enum vl_labels_format)fmt, &err) < 0 && !err.msg[0])
            abort();
    }
    unlink(main_path);
    if (n == 2) unlink(second_path);
    rmdir(dir);
    return 0;
}
