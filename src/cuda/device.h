/* device.h - what both CUDA modules do with a device: the probe they
 * export (vl_cuda_module's and vl_cuda_nn_module's `probe`) and the
 * preparation of a device before its first use.  For nvcc only. */
#ifndef VL_CUDA_DEVICE_H
#define VL_CUDA_DEVICE_H

#include <cuda.h>
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

/* The flags FFmpeg's cuda hwaccel requires of a device's primary context
 * (libavutil/hwcontext_cuda.c with primary_ctx=1 refuses a primary context
 * already active with any others). */
#define VL_CUDA_PRIMARY_FLAGS CU_CTX_SCHED_BLOCKING_SYNC

/* Before the first runtime call on device (an ordinal of the process's
 * visible devices): while its primary context is not active yet, sets its
 * flags to VL_CUDA_PRIMARY_FLAGS, so that the context the runtime then
 * creates is one NVDEC (the reader, through FFmpeg) can share.  Through
 * the driver's entry points, which the static runtime finds; any failure
 * leaves the device as it is (NVDEC then falls back to CPU decoding and
 * says why). */
static inline void vl_cuda_prepare_device(int device)
{
    typedef CUresult (*device_get_fn)(CUdevice *, int);
    typedef CUresult (*get_state_fn)(CUdevice, unsigned int *, int *);
    typedef CUresult (*set_flags_fn)(CUdevice, unsigned int);
    void *get = NULL, *state = NULL, *set = NULL;
    cudaDriverEntryPointQueryResult q1, q2, q3;
    if (cudaGetDriverEntryPointByVersion("cuDeviceGet", &get, 12000, cudaEnableDefault, &q1) !=
            cudaSuccess ||
        cudaGetDriverEntryPointByVersion("cuDevicePrimaryCtxGetState", &state, 12000,
                                         cudaEnableDefault, &q2) != cudaSuccess ||
        cudaGetDriverEntryPointByVersion("cuDevicePrimaryCtxSetFlags", &set, 12000,
                                         cudaEnableDefault, &q3) != cudaSuccess ||
        q1 != cudaDriverEntryPointSuccess || q2 != cudaDriverEntryPointSuccess ||
        q3 != cudaDriverEntryPointSuccess) {
        (void)cudaGetLastError();
        return;
    }
    CUdevice dev;
    unsigned int flags = 0;
    int active = 0;
    if (((device_get_fn)get)(&dev, device) != CUDA_SUCCESS ||
        ((get_state_fn)state)(dev, &flags, &active) != CUDA_SUCCESS)
        return;
    if (!active && flags != VL_CUDA_PRIMARY_FLAGS)
        (void)((set_flags_fn)set)(dev, VL_CUDA_PRIMARY_FLAGS);
}

#endif
