/* test_cuda_loader.c - vl_cuda_load finds the CUDA module and its probe
 * reports no device, with the driver's reason, on a machine without a GPU;
 * without CUDA it says vlbuild was built without it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu/cuda_loader.h"

int main(void)
{
    struct vl_error err = {{0}};
#ifdef VL_HAVE_CUDA
    setenv("VLBUILD_CUDA_MODULE", VL_CUDA_MODULE_PATH, 0); /* a bundle names its own */
    const struct vl_cuda_module *m = vl_cuda_load(&err);
    if (!m) {
        fprintf(stderr, "FAIL: %s\n", err.msg);
        return 1;
    }
    char why[256] = "";
    int n = m->probe(why, sizeof why);
    printf("module %s: %d device(s) %s\n", m->build_info, n, why);
    if (n > 0) return 0; /* a GPU machine: the count is the driver's */
    if (!strstr(why, "no usable cuda device")) {
        fprintf(stderr, "FAIL: probe gave no reason: '%s'\n", why);
        return 1;
    }
    if (!vl_cuda_symbol("vl_cuda_module", &err) || vl_cuda_symbol("vl_no_such", &err)) {
        fprintf(stderr, "FAIL: vl_cuda_symbol\n");
        return 1;
    }
    if (!strstr(err.msg, "vl_no_such")) {
        fprintf(stderr, "FAIL: missing symbol message: %s\n", err.msg);
        return 1;
    }
#else
    if (vl_cuda_load(&err) || !strstr(err.msg, "built without CUDA")) {
        fprintf(stderr, "FAIL: expected 'built without CUDA', got '%s'\n", err.msg);
        return 1;
    }
#endif
    printf("ok\n");
    return 0;
}
