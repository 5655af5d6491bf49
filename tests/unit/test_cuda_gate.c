/* test_cuda_gate.c - the verified gate of the CUDA module's table
 * (vl_cuda_module.ops_experimental, src/gpu/cuda_module.h): with a usable
 * device and a table marked experimental, device=auto stays on the CPU and
 * device=gpu takes the GPU; with the gate cleared, auto takes the GPU.  Runs
 * on the stand-in module beside this test (tests/fake/cuda_module.c,
 * VL_FAKE_CUDA_OPS and VL_FAKE_CUDA_EXPERIMENTAL), no GPU needed. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpu/cuda_loader.h"
#include "test.h"
#include "test_device_resolve.h"

/* the device text of rule `name` after resolution on device 0, or NULL
 * after an error */
static const char *resolve(const char *name, struct vl_error *err)
{
    return test_resolve_device(
        "rule a\n    do features\n    in x.npy\n    out a.npy\n    pool gpu\n"
        "rule g\n    do features device=gpu\n    in x.npy\n    out g.npy\n    pool gpu\n",
        "0", name, err);
}

int main(void)
{
    /* the stand-in module is built beside the test executables */
    char exe[PATH_MAX], path[PATH_MAX + 32];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash = n > 0 ? (exe[n] = '\0', strrchr(exe, '/')) : NULL;
    if (!slash) {
        fprintf(stderr, "FAIL: cannot find this test's folder (/proc/self/exe)\n");
        return 1;
    }
    *slash = '\0';
    snprintf(path, sizeof path, "%s/libvl_fake_cuda.so", exe);
    setenv("VLBUILD_CUDA_MODULE", path, 1);
    setenv("VL_FAKE_CUDA_OPS", "1", 1);
    setenv("VL_FAKE_CUDA_EXPERIMENTAL", "1", 1);
    struct vl_error err = {{0}};
    const struct vl_cuda_module *m = vl_cuda_load(&err);
    if (!m) {
        fprintf(stderr, "FAIL: %s\n", err.msg);
        return 1;
    }
    CHECK(m->ops != NULL && m->ops_experimental == 1);
    /* experimental: auto stays on the CPU, gpu takes the GPU */
    const char *got = resolve("a", &err);
    CHECK(got && !strcmp(got, "cpu"));
    got = resolve("g", &err);
    CHECK(got && !strcmp(got, "gpu"));
    /* verified (the gate cleared, as the module's source does once
     * gpu-check has passed on a GPU): auto takes the GPU */
    ((struct vl_cuda_module *)m)->ops_experimental = 0;
    got = resolve("a", &err);
    CHECK(got && !strcmp(got, "gpu"));
    printf("an experimental table is for device=gpu only; a verified one serves auto\n");
    TEST_DONE();
}
