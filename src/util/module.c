/* module.c - loads vlbuild's modules (see module.h) with dlopen. */
#include "util/module.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_MODULES 4

static struct loaded {
    char name[32];
    void *handle;
} loaded[MAX_MODULES];
static size_t n_loaded;
static int verbose;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void vl_module_set_verbose(int v)
{
    verbose = v;
}

int vl_module_locate(const char *beside, const char *installed, char *path, size_t size,
                     struct vl_error *err)
{
    char dir[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
    if (n <= 0)
        return vl_error_set(err, "cannot find the vlbuild executable to look for %s: %s", beside,
                            strerror(errno));
    dir[n] = '\0';
    char *slash = strrchr(dir, '/');
    if (slash) *slash = '\0';
    char candidate[PATH_MAX + 256];
    const char *names[] = {beside, installed};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        int len = snprintf(candidate, sizeof candidate, "%s/%s", dir, names[i]);
        if (len < 0 || (size_t)len >= sizeof candidate) continue;
        if (access(candidate, F_OK) != 0) continue;
        /* canonical, so that messages and recorded paths name PREFIX/share/...
         * rather than PREFIX/bin/../share/... */
        char real[PATH_MAX];
        const char *found = realpath(candidate, real) ? real : candidate;
        if ((size_t)snprintf(path, size, "%s", found) >= size)
            return vl_error_set(err, "the path %s is too long", found);
        return 0;
    }
    /* neither: the name beside the executable, for the caller's message */
    if ((size_t)snprintf(path, size, "%s/%s", dir, beside) >= size)
        return vl_error_set(err, "the path of vlbuild's %s is too long", beside);
    return 1;
}

/* Writes the module's path into path: $VLBUILD_MODULE_DIR, else beside the
 * executable (a build folder), else its installed place
 * (PREFIX/lib/vlbuild beside PREFIX/bin). */
static int module_path(const char *name, char *path, size_t size, struct vl_error *err)
{
    char file[64];
    snprintf(file, sizeof file, "vlbuild-%s.so", name);
    const char *env = getenv("VLBUILD_MODULE_DIR");
    if (env && *env) {
        if ((size_t)snprintf(path, size, "%s/%s", env, file) >= size)
            return vl_error_set(err, "the path of vlbuild's %s module is too long", name);
        return 0;
    }
    char installed[96];
    snprintf(installed, sizeof installed, "../" VL_MODULE_INSTALL_DIR "/%s", file);
    return vl_module_locate(file, installed, path, size, err) < 0 ? -1 : 0;
}

/* 0 when the file at path holds every segment its ELF header maps; a
 * truncated copy (an interrupted install) would make dlopen map pages past
 * the end of the file and die of SIGBUS instead of failing. */
static int check_whole(const char *path, struct vl_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0; /* dlopen says why, with the name */
    struct stat st;
    Elf64_Ehdr eh;
    int whole = fstat(fd, &st) == 0 && pread(fd, &eh, sizeof eh, 0) == (ssize_t)sizeof eh &&
                memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 && eh.e_phentsize == sizeof(Elf64_Phdr) &&
                eh.e_phoff + (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) <= (uint64_t)st.st_size;
    for (unsigned i = 0; whole && i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        whole = pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + i * sizeof ph)) == (ssize_t)sizeof ph &&
                (ph.p_type != PT_LOAD || ph.p_offset + ph.p_filesz <= (uint64_t)st.st_size);
    }
    close(fd);
    return whole ? 0 : vl_error_set(err, "%s is not a whole shared object (truncated?); rebuild "
                                         "or reinstall vlbuild", path);
}

static void *load(const char *name, struct vl_error *err)
{
    for (size_t i = 0; i < n_loaded; i++)
        if (strcmp(loaded[i].name, name) == 0) return loaded[i].handle;
    if (n_loaded == MAX_MODULES || strlen(name) >= sizeof loaded[0].name) {
        vl_error_set(err, "cannot load vlbuild module '%s': too many modules", name);
        return NULL;
    }
    char path[PATH_MAX + 64];
    if (module_path(name, path, sizeof path, err) < 0 || check_whole(path, err) < 0) return NULL;
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        vl_error_set(err, "cannot load vlbuild's %s module: %s (it is built beside vlbuild and "
                          "installed in ../" VL_MODULE_INSTALL_DIR " beside its bin folder)",
                     name, dlerror());
        return NULL;
    }
    void (*init)(int) = (void (*)(int))dlsym(handle, "vl_module_init");
    if (init) init(verbose);
    snprintf(loaded[n_loaded].name, sizeof loaded[0].name, "%s", name);
    loaded[n_loaded++].handle = handle;
    return handle;
}

void *vl_module_symbol(const char *name, const char *symbol, struct vl_error *err)
{
    pthread_mutex_lock(&lock);
    void *handle = load(name, err);
    void *sym = handle ? dlsym(handle, symbol) : NULL;
    if (handle && !sym)
        vl_error_set(err, "vlbuild's %s module has no %s: %s", name, symbol, dlerror());
    pthread_mutex_unlock(&lock);
    return sym;
}
