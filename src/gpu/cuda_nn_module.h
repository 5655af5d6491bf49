/* cuda_nn_module.h - the interface of the CUDA training module,
 * vlbuild-cuda-nn.so.
 *
 * The neural-network core's CUDA backend (src/cuda/nn/, cuBLASLt and cuDNN
 * 9) is a module of its own, apart from vlbuild-cuda.so: it links cuDNN and
 * cuBLASLt, which a machine may lack while its video operations work, and
 * only `train device=gpu` needs it.  It exports one `struct
 * vl_cuda_nn_module` under the symbol `vl_cuda_nn_module`, found through
 * vl_cuda_nn_load (src/gpu/cuda_loader.h). */
#ifndef VL_CUDA_NN_MODULE_H
#define VL_CUDA_NN_MODULE_H

#include <stddef.h>

/* Bumped whenever this struct or the meaning of a field changes. */
#define VL_CUDA_NN_MODULE_ABI 2

struct vl_nn_ctx;
struct vl_error;

/* precision of attach */
#define VL_CUDA_NN_PRECISION_FP32 0
#define VL_CUDA_NN_PRECISION_BF16 1

struct vl_cuda_nn_module {
    int abi;                /* VL_CUDA_NN_MODULE_ABI of the module's build */
    const char *build_info; /* "cuda RUNTIME cudnn VERSION cublasLt VERSION arch LIST" */
    /* the number of usable devices; 0 with the reason in why (n bytes) */
    int (*probe)(char *why, size_t n);
    /* Puts ctx on the CUDA backend on device (an ordinal of vlbuild's
     * visible set) at precision: handles, streams and workspaces created
     * (seed is unused: dropout draws its seeds from ctx->rng, as the CPU
     * does).  0, or -1 with the reason in err (ctx unchanged). */
    int (*attach)(struct vl_nn_ctx *ctx, int device, int precision, unsigned long long seed,
                  struct vl_error *err);
    /* Frees what attach made (waiting for its work first) and leaves
     * ctx->backend and backend_state NULL: the caller puts ctx back on the
     * CPU backend (the module links no engine code). */
    void (*detach)(struct vl_nn_ctx *ctx);
    /* The verified gate, as vl_cuda_module.ops_experimental: nonzero until
     * scripts/gpu-check.sh has passed the backend on a GPU. */
    int experimental;
};

#endif
