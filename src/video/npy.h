/* npy.h - NumPy .npy files: a streaming writer and a strict reader.
 *
 * The subset: format version 1.0, C order, dtypes uint8 ('|u1') and
 * little-endian float32 ('<f4'), up to VL_NPY_MAX_DIMS dimensions.  What the
 * writer produces numpy.load reads, memory-mapped or not. */
#ifndef VL_VIDEO_NPY_H
#define VL_VIDEO_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define VL_NPY_MAX_DIMS 8

enum vl_npy_dtype { VL_NPY_U8, VL_NPY_F32 };

struct vl_npy_writer;

/* Starts writing an array of the given shape to a temporary file beside
 * path; the data follow with vl_npy_append.  *out is freed by close/abort. */
int vl_npy_open(const char *path, enum vl_npy_dtype dtype, const uint64_t *shape, int ndim,
                struct vl_npy_writer **out, struct vl_error *err);
/* Appends n bytes of element data (C order); more than the shape holds is an error. */
int vl_npy_append(struct vl_npy_writer *w, const void *data, size_t n, struct vl_error *err);
/* Checks that exactly the shape's bytes were written, then renames the file
 * into place.  Frees w whatever happens; on failure no file is left. */
int vl_npy_close(struct vl_npy_writer *w, struct vl_error *err);
/* Deletes the temporary file and frees w (NULL is fine). */
void vl_npy_abort(struct vl_npy_writer *w);
/* Writes a whole array in one call (open, append, close). */
int vl_npy_write(const char *path, enum vl_npy_dtype dtype, const uint64_t *shape, int ndim,
                 const void *data, struct vl_error *err);

/* An array read back, memory-mapped read-only. */
struct vl_npy_array {
    enum vl_npy_dtype dtype;
    int ndim;
    uint64_t shape[VL_NPY_MAX_DIMS];
    uint64_t count;     /* number of elements */
    const void *data;   /* count elements, in the mapping */
    void *map;          /* the whole mapping, for vl_npy_unmap */
    size_t map_size;
};

/* Maps path and validates its header strictly (magic, version 1.0 or 2.0,
 * dtype, C order, shape against the file size); fills arr. */
int vl_npy_map(const char *path, struct vl_npy_array *arr, struct vl_error *err);
/* Unmaps what vl_npy_map mapped. */
void vl_npy_unmap(struct vl_npy_array *arr);

#endif
