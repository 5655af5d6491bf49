/* cuda_loader.c - loads vlbuild-cuda.so and vlbuild-cuda-nn.so (see
 * cuda_loader.h). */
#include "gpu/cuda_loader.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/module.h"

/* One module: where to find it and what its load gave. */
struct loaded {
    const char *module_name; /* vl_module_symbol's: "cuda" -> vlbuild-cuda.so */
    const char *env;         /* the test seam naming a file instead */
    const char *symbol;      /* the description it exports */
    const char *built_without;
    pthread_mutex_t lock;
    int tried;
    void *handle; /* the env file's, else NULL */
    const void *desc;
    struct vl_error failure;
};

static struct loaded ops_module = {
    "cuda", "VLBUILD_CUDA_MODULE", "vl_cuda_module",
    "vlbuild was built without CUDA (configure with -DVL_CUDA=ON where nvcc is)",
    PTHREAD_MUTEX_INITIALIZER, 0, NULL, NULL, {{0}}};
static struct loaded nn_module = {
    "cuda-nn", "VLBUILD_CUDA_NN_MODULE", "vl_cuda_nn_module",
    "vlbuild was built without the CUDA training module (it needs nvcc, cuBLASLt and "
    "cuDNN 9: configure with -DVL_CUDA=ON -DVL_CUDNN=ON, CUDNN_ROOT naming cuDNN)",
    PTHREAD_MUTEX_INITIALIZER, 0, NULL, NULL, {{0}}};

/* the module's symbol: from the file the environment names, else through
 * vl_module_symbol (beside the executable or installed); under m->lock */
static void *lookup(struct loaded *m, const char *symbol, int built, struct vl_error *err)
{
    const char *path = getenv(m->env);
    if (path && *path) {
        if (!m->handle) m->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!m->handle) {
            vl_error_set(err, "cannot load %s: %s", path, dlerror());
            return NULL;
        }
        void *sym = dlsym(m->handle, symbol);
        if (!sym) vl_error_set(err, "the module %s has no %s", path, symbol);
        return sym;
    }
    if (!built) {
        vl_error_set(err, "%s", m->built_without);
        return NULL;
    }
    return vl_module_symbol(m->module_name, symbol, err);
}

/* the description, loaded on first use; abi_ok checks its version */
static const void *load(struct loaded *m, int built, int (*abi_ok)(const void *, struct vl_error *),
                        struct vl_error *err)
{
    pthread_mutex_lock(&m->lock);
    if (!m->tried) {
        struct vl_error e = {{0}};
        m->tried = 1;
        const void *d = lookup(m, m->symbol, built, &e);
        if (d && !abi_ok(d, &e)) d = NULL;
        m->desc = d;
        if (!d) m->failure = e;
    }
    const void *d = m->desc;
    if (!d && err) *err = m->failure;
    pthread_mutex_unlock(&m->lock);
    return d;
}

static int ops_abi_ok(const void *d, struct vl_error *err)
{
    int abi = ((const struct vl_cuda_module *)d)->abi;
    if (abi == VL_CUDA_MODULE_ABI) return 1;
    vl_error_set(err, "the cuda module has interface version %d, vlbuild expects %d "
                      "(the module is from another build)", abi, VL_CUDA_MODULE_ABI);
    return 0;
}

static int nn_abi_ok(const void *d, struct vl_error *err)
{
    int abi = ((const struct vl_cuda_nn_module *)d)->abi;
    if (abi == VL_CUDA_NN_MODULE_ABI) return 1;
    vl_error_set(err, "the cuda training module has interface version %d, vlbuild expects %d "
                      "(the module is from another build)", abi, VL_CUDA_NN_MODULE_ABI);
    return 0;
}

#ifdef VL_HAVE_CUDA
#define BUILT_OPS 1
#else
#define BUILT_OPS 0
#endif
#ifdef VL_HAVE_CUDA_NN
#define BUILT_NN 1
#else
#define BUILT_NN 0
#endif

const struct vl_cuda_module *vl_cuda_load(struct vl_error *err)
{
    return load(&ops_module, BUILT_OPS, ops_abi_ok, err);
}

const struct vl_cuda_nn_module *vl_cuda_nn_load(struct vl_error *err)
{
    return load(&nn_module, BUILT_NN, nn_abi_ok, err);
}

void *vl_cuda_symbol(const char *name, struct vl_error *err)
{
    if (!vl_cuda_load(err)) return NULL;
    pthread_mutex_lock(&ops_module.lock);
    void *sym = lookup(&ops_module, name, BUILT_OPS, err);
    pthread_mutex_unlock(&ops_module.lock);
    return sym;
}
