/* cuda_loader.c - loads vlbuild-cuda.so (see cuda_loader.h). */
#include "gpu/cuda_loader.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/module.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int tried;
static void *handle; /* the VLBUILD_CUDA_MODULE file's, else NULL */
static const struct vl_cuda_module *module;
static struct vl_error failure;

/* the module's symbol: from the file the environment names, else through
 * vl_module_symbol (beside the executable or installed) */
static void *lookup(const char *symbol, struct vl_error *err)
{
    const char *path = getenv("VLBUILD_CUDA_MODULE");
    if (path && *path) {
        if (!handle) handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!handle) {
            vl_error_set(err, "cannot load %s: %s", path, dlerror());
            return NULL;
        }
        void *sym = dlsym(handle, symbol);
        if (!sym) vl_error_set(err, "the cuda module %s has no %s", path, symbol);
        return sym;
    }
#ifndef VL_HAVE_CUDA
    vl_error_set(err, "vlbuild was built without CUDA (configure with -DVL_CUDA=ON where nvcc is)");
    return NULL;
#else
    return vl_module_symbol("cuda", symbol, err);
#endif
}

static void load_locked(void)
{
    struct vl_error e = {{0}}, *err = &e;
    tried = 1;
    const struct vl_cuda_module *m = lookup("vl_cuda_module", err);
    if (m && m->abi != VL_CUDA_MODULE_ABI) {
        vl_error_set(err, "the cuda module has interface version %d, vlbuild expects %d "
                          "(the module is from another build)", m->abi, VL_CUDA_MODULE_ABI);
        m = NULL;
    }
    module = m;
    if (!m) failure = e;
}

const struct vl_cuda_module *vl_cuda_load(struct vl_error *err)
{
    pthread_mutex_lock(&lock);
    if (!tried) load_locked();
    if (!module && err) *err = failure;
    const struct vl_cuda_module *m = module;
    pthread_mutex_unlock(&lock);
    return m;
}

void *vl_cuda_symbol(const char *name, struct vl_error *err)
{
    if (!vl_cuda_load(err)) return NULL;
    pthread_mutex_lock(&lock);
    void *sym = lookup(name, err);
    pthread_mutex_unlock(&lock);
    return sym;
}
