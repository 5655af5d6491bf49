/* cuda_nn_pieces.cpp - stand-ins for the CUDA training backend's pieces the
 * emulator cannot run: gemm.cu (cuBLASLt) and conv.cu (cuDNN).  Their
 * fillers leave gemm, gemm_batched, conv2d_forward and conv2d_backward
 * NULL and their init and free do nothing, so backend.cu's attach and
 * table build the rest of the table as on a device.  Those four entries
 * are not tested by the emulator (test_cuda_nn_emu.c's top). */
#include "cuda/nn/nn_cuda.h"

/* vl_cuda_nn_fill_PIECE, vl_cuda_nn_PIECE_init (st->CACHE left NULL) and
 * vl_cuda_nn_PIECE_free of nn_cuda.h, doing nothing */
#define STAND_IN(piece, cache)                                                                     \
    void vl_cuda_nn_fill_##piece(struct vl_nn_backend *b)                                          \
    {                                                                                              \
        (void)b;                                                                                   \
    }                                                                                              \
    int vl_cuda_nn_##piece##_init(struct vl_cuda_nn_state *st)                                     \
    {                                                                                              \
        st->cache = NULL;                                                                          \
        return 0;                                                                                  \
    }                                                                                              \
    void vl_cuda_nn_##piece##_free(struct vl_cuda_nn_state *st)                                    \
    {                                                                                              \
        (void)st;                                                                                  \
    }

STAND_IN(gemm, gemms)
STAND_IN(conv, convs)
