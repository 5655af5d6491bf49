/* registry.c - the table of built-in actions.  Adding an action means
 * defining its struct vl_action_def in its own file and listing it here (an
 * engine action) or in actions/media.c (one that needs the media module's
 * libraries, loaded the first time an action outside this table is named). */
#include "actions/action.h"

#include "util/module.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct vl_action_def vl_action_stamp;

/* the engine's own actions, which need no module */
static const struct vl_action_def *const engine_actions[] = {
    &vl_action_stamp,
    NULL,
};

/* The media module's table (actions/media.c): linked in by programs that
 * link the media code (the tests), else loaded with the module. */
extern const struct vl_action_def *const vl_media_actions[] __attribute__((weak));

static const struct vl_action_def *const *all_actions;
static struct vl_error load_error;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load_all(void)
{
    const struct vl_action_def *const *media =
        vl_module_resolve(vl_media_actions, "media", "vl_media_actions", &load_error);
    size_t n_engine = 0, n_media = 0;
    while (engine_actions[n_engine]) n_engine++;
    while (media && media[n_media]) n_media++;
    const struct vl_action_def **all = calloc(n_engine + n_media + 1, sizeof *all);
    if (!all) abort();
    memcpy(all, engine_actions, n_engine * sizeof *all);
    if (media) memcpy(all + n_engine, media, n_media * sizeof *all);
    all_actions = all;
}

const struct vl_action_def *vl_action_find(const char *name)
{
    for (size_t i = 0; engine_actions[i]; i++)
        if (strcmp(engine_actions[i]->name, name) == 0) return engine_actions[i];
    const struct vl_action_def *const *all = vl_action_all();
    for (size_t i = 0; all[i]; i++)
        if (strcmp(all[i]->name, name) == 0) return all[i];
    return NULL;
}

const struct vl_action_def *const *vl_action_all(void)
{
    pthread_once(&once, load_all);
    return all_actions;
}

const char *vl_action_load_error(void)
{
    vl_action_all();
    return load_error.msg[0] ? load_error.msg : NULL;
}

void vl_action_progress(const struct vl_action_job *job, const char *fmt, ...)
{
    if (!job->progress) return;
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    job->progress(job->progress_ctx, text);
}
