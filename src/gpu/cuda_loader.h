/* cuda_loader.h - finds and loads the CUDA modules: vlbuild-cuda.so (the
 * video operations) and vlbuild-cuda-nn.so (the training backend).
 *
 * Each is loaded once, on first use, from beside the executable (or the
 * installed module folder, src/util/module.h).  Test seams: when the
 * environment names VLBUILD_CUDA_MODULE=PATH (or VLBUILD_CUDA_NN_MODULE=PATH),
 * that file is loaded instead (a fake module built by a test, or the real
 * one from a test's folder). */
#ifndef VL_CUDA_LOADER_H
#define VL_CUDA_LOADER_H

#include "gpu/cuda_module.h"
#include "gpu/cuda_nn_module.h"
#include "util/error.h"

/* Returns the loaded module's description (static, never freed); NULL with
 * "vlbuild was built without CUDA", "cannot load PATH: REASON" or an ABI
 * mismatch in err.  Thread-safe; a failure is remembered and repeated. */
const struct vl_cuda_module *vl_cuda_load(struct vl_error *err);

/* The training module's description, as vl_cuda_load: NULL with "vlbuild
 * was built without the CUDA training module (...)", "cannot load PATH:
 * REASON" or an ABI mismatch in err. */
const struct vl_cuda_nn_module *vl_cuda_nn_load(struct vl_error *err);

/* Returns the address of symbol name in the loaded CUDA module (loading it
 * first); NULL with a message naming the symbol. */
void *vl_cuda_symbol(const char *name, struct vl_error *err);

#endif
