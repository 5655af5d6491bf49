/* test_cuda_nn_kern.c - the neural-network kernels built from the shared
 * element-wise bodies (src/nn/kern/) against the same bodies on the host,
 * on a GPU: the CUDA module's vl_cuda_nn_kern_parity (src/cuda/nn_kern.cu).
 * Without CUDA it skips; with the module but no usable device it checks
 * that the module exports the check and that the check says so, then
 * skips (label gpu). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu/cuda_loader.h"

#ifdef VL_HAVE_CUDA
typedef int (*parity_fn)(char *, size_t);

/* The module's check, or NULL (err set). */
static parity_fn find_parity(struct vl_error *err)
{
    if (!getenv("VLBUILD_CUDA_MODULE")) setenv("VLBUILD_CUDA_MODULE", VL_CUDA_MODULE_PATH, 1);
    return (parity_fn)vl_cuda_symbol("vl_cuda_nn_kern_parity", err);
}
#endif

int main(void)
{
#ifndef VL_HAVE_CUDA
    printf("SKIP: vlbuild was built without CUDA\n");
    return 77;
#else
    struct vl_error err = {{0}};
    parity_fn parity = find_parity(&err);
    if (!parity) {
        fprintf(stderr, "FAIL: %s\n", err.msg);
        return 1;
    }
    static char text[8192];
    int rc = parity(text, sizeof text);
    fputs(text, stdout);
    if (rc == 77) {
        if (!strstr(text, "no usable cuda device")) {
            fprintf(stderr, "FAIL: a skip that does not say why\n");
            return 1;
        }
        printf("SKIP: no usable cuda device here\n");
        return 77;
    }
    if (rc != 0) fprintf(stderr, "FAIL: the device and the host differ (above)\n");
    return rc != 0;
#endif
}
