/* test_cuda_kern.c - the kernels built from the shared bodies
 * (src/ops/kern/) against the same bodies on the host, on a GPU: the CUDA
 * module's vl_cuda_kern_parity (src/cuda/kern.cu).  Skips, saying why,
 * without CUDA or without a usable device (label gpu).  With --bench it
 * prints the copy bandwidth instead (scripts/gpu-check.sh's table; no
 * figure is asserted). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu/cuda_loader.h"

int main(int argc, char **argv)
{
#ifndef VL_HAVE_CUDA
    (void)argc, (void)argv;
    printf("SKIP: vlbuild was built without CUDA\n");
    return 77;
#else
    struct vl_error err = {{0}};
    if (!getenv("VLBUILD_CUDA_MODULE")) setenv("VLBUILD_CUDA_MODULE", VL_CUDA_MODULE_PATH, 1);
    int (*parity)(char *, size_t) =
        (int (*)(char *, size_t))vl_cuda_symbol("vl_cuda_kern_parity", &err);
    if (!parity) {
        fprintf(stderr, "FAIL: %s\n", err.msg);
        return 1;
    }
    static char report[16384];
    int rc = parity(report, sizeof report);
    fputs(report, stdout);
    if (rc == 77)
        printf("SKIP: no usable cuda device here\n");
    else if (rc != 0)
        fprintf(stderr, "FAIL: the device and the host differ (above)\n");
    return rc == 77 ? 77 : rc != 0;
#endif
}
