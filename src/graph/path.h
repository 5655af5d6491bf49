/* path.h - one spelling for every file the rules name.
 *
 * `d/x.txt`, `./d//x.txt`, `d/../d/x.txt` and `/abs/project/d/x.txt` are one
 * file, so they must be one node: every path is rewritten lexically to one
 * spelling relative to the project directory before it becomes a node. */
#ifndef VL_PATH_H
#define VL_PATH_H

#include "util/strbuf.h"

enum vl_path_place {
    VL_PATH_INSIDE,  /* below the project directory: out is relative ("d/x.txt") */
    VL_PATH_ROOT,    /* the project directory itself: out is "." */
    VL_PATH_OUTSIDE, /* not below it: out is absolute ("/data/raw/a.mp4") */
};

/* Writes path's one spelling into out (reset first): relative to root (an
 * absolute, normalised directory, as getcwd gives it) when the path is below
 * root, else absolute.  "." components and repeated '/' are dropped and ".."
 * removes the component before it, lexically: the disk is not read, so
 * `link/..` is the folder that holds link, not the link target's parent.
 * Returns where the path lies. */
enum vl_path_place vl_path_normalise(const char *path, const char *root, struct vl_strbuf *out);

#endif
