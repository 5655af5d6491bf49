/* probe.h - the device probe both CUDA modules export (vl_cuda_module's
 * and vl_cuda_nn_module's `probe`), for nvcc only. */
#ifndef VL_CUDA_PROBE_H
#define VL_CUDA_PROBE_H

#include <cuda_runtime.h>
#include <stdio.h>

/* The number of usable devices; 0 with the runtime's reason in why (n
 * bytes): on a machine without a GPU the static runtime says the driver is
 * insufficient. */
static inline int vl_cuda_probe(char *why, size_t n)
{
    int count = 0;
    cudaError_t rc = cudaGetDeviceCount(&count);
    if (rc != cudaSuccess) {
        if (why && n) snprintf(why, n, "no usable cuda device: %s (%s)", cudaGetErrorString(rc),
                               cudaGetErrorName(rc));
        (void)cudaGetLastError();
        return 0;
    }
    if (count == 0 && why && n) snprintf(why, n, "no usable cuda device: the driver reports none");
    return count;
}

#endif
