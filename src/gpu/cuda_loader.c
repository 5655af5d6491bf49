/* cuda_loader.c - loads vlbuild-cuda.so and vlbuild-cuda-nn.so (see
 * cuda_loader.h). */
#include "gpu/cuda_loader.h"

#include <dlfcn.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/module.h"

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

/* One module: where to find it, the interface version its description must
 * start with, and what its load gave. */
struct loaded {
    const char *module_name; /* vl_module_symbol's: "cuda" -> vlbuild-cuda.so */
    const char *env;         /* the test seam naming a file instead */
    const char *symbol;      /* the description it exports */
    const char *what;        /* for messages */
    int abi;                 /* the version this build expects */
    int built;               /* 0: this build has no such module */
    const char *built_without;
    pthread_mutex_t lock;
    int tried;
    void *handle; /* the env file's, else NULL */
    const void *desc;
    struct vl_error failure;
};

/* both descriptions start with their interface version */
_Static_assert(offsetof(struct vl_cuda_module, abi) == 0 &&
                   offsetof(struct vl_cuda_nn_module, abi) == 0,
               "a module's description starts with its abi");

static struct loaded ops_module = {
    "cuda", "VLBUILD_CUDA_MODULE", "vl_cuda_module", "cuda module", VL_CUDA_MODULE_ABI,
    BUILT_OPS, "vlbuild was built without CUDA (configure with -DVL_CUDA=ON where nvcc is)",
    PTHREAD_MUTEX_INITIALIZER, 0, NULL, NULL, {{0}}};
static struct loaded nn_module = {
    "cuda-nn", "VLBUILD_CUDA_NN_MODULE", "vl_cuda_nn_module", "cuda training module",
    VL_CUDA_NN_MODULE_ABI, BUILT_NN,
    "vlbuild was built without the CUDA training module (it needs nvcc, cuBLASLt and "
    "cuDNN 9: configure with -DVL_CUDA=ON -DVL_CUDNN=ON, CUDNN_ROOT naming cuDNN)",
    PTHREAD_MUTEX_INITIALIZER, 0, NULL, NULL, {{0}}};

/* the module's symbol: from the file the environment names, else through
 * vl_module_symbol (beside the executable or installed); under m->lock */
static void *lookup(struct loaded *m, const char *symbol, struct vl_error *err)
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
    if (!m->built) {
        vl_error_set(err, "%s", m->built_without);
        return NULL;
    }
    return vl_module_symbol(m->module_name, symbol, err);
}

/* the description, loaded on first use and refused when its interface
 * version is not this build's */
static const void *load(struct loaded *m, struct vl_error *err)
{
    pthread_mutex_lock(&m->lock);
    if (!m->tried) {
        struct vl_error e = {{0}};
        m->tried = 1;
        const void *d = lookup(m, m->symbol, &e);
        if (d && *(const int *)d != m->abi) {
            vl_error_set(&e, "the %s has interface version %d, vlbuild expects %d (the module "
                             "is from another build)", m->what, *(const int *)d, m->abi);
            d = NULL;
        }
        m->desc = d;
        if (!d) m->failure = e;
    }
    const void *d = m->desc;
    if (!d && err) *err = m->failure;
    pthread_mutex_unlock(&m->lock);
    return d;
}

const struct vl_cuda_module *vl_cuda_load(struct vl_error *err)
{
    return load(&ops_module, err);
}

const struct vl_cuda_nn_module *vl_cuda_nn_load(struct vl_error *err)
{
    return load(&nn_module, err);
}

void *vl_cuda_symbol(const char *name, struct vl_error *err)
{
    if (!vl_cuda_load(err)) return NULL;
    pthread_mutex_lock(&ops_module.lock);
    void *sym = lookup(&ops_module, name, err);
    pthread_mutex_unlock(&ops_module.lock);
    return sym;
}
