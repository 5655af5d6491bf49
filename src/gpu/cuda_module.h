/* cuda_module.h - the interface of the CUDA module, vlbuild-cuda.so.
 *
 * The module (src/cuda/, built only when CMake finds nvcc, -DVL_CUDA) exports
 * one `struct vl_cuda_module` under the symbol `vl_cuda_module`; the engine
 * finds it through vl_cuda_load (src/gpu/cuda_loader.h), never by linking, so
 * a build without CUDA and a machine without a GPU run exactly as before.
 * The module links the CUDA runtime statically: it needs the driver
 * (libcuda.so.1) only when probe is called, and says so when it is absent. */
#ifndef VL_CUDA_MODULE_H
#define VL_CUDA_MODULE_H

#include <stddef.h>

/* Bumped whenever this struct or the meaning of a field changes; the loader
 * refuses a module built with another. */
#define VL_CUDA_MODULE_ABI 3

struct vl_ops;
struct vl_ops_ctx;
struct vl_frame;
struct vl_error;

struct vl_cuda_module {
    int abi;                /* VL_CUDA_MODULE_ABI of the module's build */
    const char *build_info; /* "cuda RUNTIME_VERSION arch LIST", for logs */
    /* the number of usable devices; 0 with the driver's reason in why (n bytes) */
    int (*probe)(char *why, size_t n);
    const struct vl_ops *ops; /* the "cuda" ops table (src/cuda/ops_table.cu); NULL: none */
    /* The verified gate: nonzero while ops has not passed scripts/gpu-check.sh
     * on a GPU.  device=auto never picks an experimental table (device=gpu
     * may); the module's source sets it to 0 once a GPU run has verified the
     * table.  0 in a module that leaves it out. */
    int ops_experimental;
    /* Allocates the pixels of a device frame of f->width x f->height on
     * ctx's device (f->mem set); -1 with the size asked and the free
     * memory in err.  NULL in a module without a table. */
    int (*frame_alloc)(struct vl_ops_ctx *ctx, struct vl_frame *f, struct vl_error *err);
    /* Frees what frame_alloc gave f (NULL rgb after). */
    void (*frame_free)(struct vl_ops_ctx *ctx, struct vl_frame *f);
};

#endif
