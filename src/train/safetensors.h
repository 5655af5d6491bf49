/* safetensors.h - the safetensors file format: a writer and a strict reader.
 *
 * Layout (https://github.com/huggingface/safetensors):
 *   N       uint64, little-endian: the byte length of the header
 *   HEADER  N bytes of JSON: {"__metadata__": {"k": "v", ...},
 *           "NAME": {"dtype": "F32", "shape": [..], "data_offsets": [BEGIN, END]}, ...}
 *           padded with spaces to a multiple of 8 bytes
 *   DATA    the tensors' bytes, little-endian, C order; offsets are relative
 *           to the start of DATA, contiguous, in the order written
 * Supported dtypes: F32, I64, U8.  What the writer produces Python's
 * `safetensors.numpy.load_file` and `safetensors.torch.load_file` read. */
#ifndef VL_TRAIN_SAFETENSORS_H
#define VL_TRAIN_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define VL_ST_MAX_DIMS 8

enum vl_st_dtype { VL_ST_F32, VL_ST_I64, VL_ST_U8 };

struct vl_st_tensor {
    char *name;
    enum vl_st_dtype dtype;
    int ndim;
    uint64_t shape[VL_ST_MAX_DIMS];
    const void *data; /* nbytes; writer: borrowed; reader: inside the file buffer (maybe unaligned) */
    size_t nbytes;
};

struct vl_st_meta {
    char *key, *value;
};

/* A set of tensors and metadata: built up for writing, or read from a file. */
struct vl_st_file {
    struct vl_st_tensor *tensors;
    size_t n_tensors, cap_tensors;
    struct vl_st_meta *meta;
    size_t n_meta, cap_meta;
    char *buf; /* reader: the whole file */
};

/* Adds a tensor to f for writing; name is copied, data is borrowed until the
 * write.  Returns -1 (a programming error) for a duplicate name. */
int vl_st_add(struct vl_st_file *f, const char *name, enum vl_st_dtype dtype, const uint64_t *shape,
              int ndim, const void *data, struct vl_error *err);
/* Sets metadata key to value (both copied), replacing an earlier value. */
void vl_st_set_meta(struct vl_st_file *f, const char *key, const char *value);
/* Writes f to path atomically (temporary file and rename); tensors in the
 * order they were added, metadata keys sorted. */
int vl_st_write(const struct vl_st_file *f, const char *path, struct vl_error *err);

/* Reads and validates path strictly: header length against the file size,
 * the header's JSON, dtypes, shapes, offsets within the data, contiguous and
 * in order, and shape x dtype against each byte span.  Errors name path. */
int vl_st_read(const char *path, struct vl_st_file *f, struct vl_error *err);
/* Like vl_st_read, on a buffer of n bytes that f takes ownership of (malloc'd). */
int vl_st_parse(const char *path, char *buf, size_t n, struct vl_st_file *f, struct vl_error *err);
/* Returns the tensor called name, or NULL. */
const struct vl_st_tensor *vl_st_find(const struct vl_st_file *f, const char *name);
/* Returns the metadata value of key, or NULL. */
const char *vl_st_get_meta(const struct vl_st_file *f, const char *key);
/* Copies the F32 tensor name into dst after checking its shape equals shape
 * (ndim dims); errors name path and the tensor. */
int vl_st_copy_f32(const struct vl_st_file *f, const char *path, const char *name,
                   const uint64_t *shape, int ndim, float *dst, struct vl_error *err);
/* Frees everything f holds (a zeroed f is fine) and zeroes it. */
void vl_st_free(struct vl_st_file *f);

/* The byte size of one element of dtype. */
size_t vl_st_dtype_size(enum vl_st_dtype dtype);

#endif
