/* module.h - vlbuild's loadable modules.
 *
 * The code that needs a heavy library lives in a module beside the vlbuild
 * executable, loaded the first time something asks for it: `media`
 * (vlbuild-media.so: the video, transform and training actions, with FFmpeg
 * and OpenBLAS) and `http` (vlbuild-http.so: the remote cache's client, with
 * libcurl).  A build whose rules only `run` commands, or a no-op, never loads
 * them, and starts in a few milliseconds instead of some forty.
 *
 * A module refers back to the engine's own functions (errors, strings, the
 * action interface), which the executable exports; it links none of them
 * itself.  Programs that link a module's code statically (the tests) find
 * its symbols directly and never load anything: see vl_module_resolve.
 *
 * Where things are found, relative to the running executable (never a path
 * compiled in, so that an installed copy and a build folder both work):
 *   build folder      BUILD/vlbuild, BUILD/vlbuild-NAME.so, BUILD/rules/
 *   installed         PREFIX/bin/vlbuild, PREFIX/lib/vlbuild/vlbuild-NAME.so,
 *                     PREFIX/share/vlbuild/rules/
 * Beside the executable is looked at first, then the installed place.  The
 * root CMakeLists.txt installs into the same folders. */
#ifndef VL_MODULE_H
#define VL_MODULE_H

#include <stddef.h>

#include "util/error.h"

/* PREFIX/<this> holds the installed modules (relative to PREFIX/bin). */
#define VL_MODULE_INSTALL_DIR "lib/vlbuild"
/* PREFIX/<this> holds the installed standard rules library. */
#define VL_MODULE_RULES_INSTALL_DIR "share/vlbuild/rules"

/* Writes into path (size bytes) the canonical path of the first of
 * EXEDIR/beside and EXEDIR/installed that exists, EXEDIR being the running
 * executable's folder (from /proc/self/exe); returns 0.  When neither exists,
 * writes EXEDIR/beside (for a message) and returns 1.  -1 with a message when
 * the executable cannot be found or the path does not fit. */
int vl_module_locate(const char *beside, const char *installed, char *path, size_t size,
                     struct vl_error *err);

/* Returns the address of symbol in module name (vlbuild-NAME.so in
 * $VLBUILD_MODULE_DIR, else found by vl_module_locate), loading the module on the
 * first call; NULL with a message naming the file on failure.  Thread-safe.
 * After loading, calls the module's `vl_module_init(int verbose)` if it has one. */
void *vl_module_symbol(const char *name, const char *symbol, struct vl_error *err);

/* Sets the verbosity passed to each module's vl_module_init (0 quiet, 1 verbose);
 * call it before the first vl_module_symbol. */
void vl_module_set_verbose(int verbose);

/* linked when the program links the module's code itself (a weak symbol's
 * address, NULL when absent), else the symbol loaded from the module. */
static inline const void *vl_module_resolve(const void *linked, const char *name,
                                            const char *symbol, struct vl_error *err)
{
    return linked ? linked : vl_module_symbol(name, symbol, err);
}

#endif
