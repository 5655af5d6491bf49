/* checkpoint.c - checkpoint writer and resume reader (format in checkpoint.h). */
#include "train/checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/safetensors.h"
#include "util/strbuf.h"

static void shape_of(const struct vl_nn_tensor *t, uint64_t *shape)
{
    for (int d = 0; d < t->ndim; d++) shape[d] = (uint64_t)t->shape[d];
}

/* The optimiser tensor names of parameter i: "optimizer.m.NAME". */
static void state_name(char *buf, size_t n, char which, const char *name)
{
    snprintf(buf, n, "optimizer.%c.%s", which, name);
}

int vl_checkpoint_write(const char *path, const struct vl_nn_params *params,
                        const struct vl_nn_optim *optim, const struct vl_checkpoint_info *info,
                        struct vl_error *err)
{
    struct vl_st_file f = {0};
    int rc = 0;
    char **names = calloc(2 * params->count + 1, sizeof *names);
    if (!names) abort();
    size_t n_names = 0;
    for (size_t i = 0; i < params->count && rc == 0; i++) {
        const struct vl_nn_param *p = params->items[i];
        uint64_t shape[VL_NN_MAX_DIMS];
        shape_of(&p->value, shape);
        rc = vl_st_add(&f, p->name, VL_ST_F32, shape, p->value.ndim, p->value.data, err);
    }
    for (size_t i = 0; optim && i < params->count && i < optim->count && rc == 0; i++) {
        const struct vl_nn_param *p = params->items[i];
        const struct vl_nn_optim_state *s = &optim->state[i];
        const struct vl_nn_tensor *st[2] = {&s->m, &s->v};
        for (int k = 0; k < 2 && rc == 0; k++) {
            if (!p->trainable || st[k]->size == 0) continue;
            char name[512];
            state_name(name, sizeof name, k ? 'v' : 'm', p->name);
            names[n_names] = strdup(name);
            uint64_t shape[VL_NN_MAX_DIMS];
            shape_of(st[k], shape);
            rc = vl_st_add(&f, names[n_names++], VL_ST_F32, shape, st[k]->ndim, st[k]->data, err);
        }
    }
    if (rc == 0) {
        char num[32], hex[33];
        vl_st_set_meta(&f, "format", "vlbuild.checkpoint");
        snprintf(num, sizeof num, "%d", VL_CHECKPOINT_VERSION);
        vl_st_set_meta(&f, "format_version", num);
        vl_st_set_meta(&f, "model", info->model);
        vl_st_set_meta(&f, "config", info->config);
        vl_st_set_meta(&f, "classes", info->classes);
        vl_st_set_meta(&f, "input", info->input);
        snprintf(num, sizeof num, "%d", info->epoch);
        vl_st_set_meta(&f, "epoch", num);
        vl_hash_hex(&info->data_fingerprint, hex);
        vl_st_set_meta(&f, "data_fingerprint", hex);
        vl_st_set_meta(&f, "metrics", info->metrics ? info->metrics : "{}");
        if (info->log) vl_st_set_meta(&f, "log", info->log);
        if (optim) {
            snprintf(num, sizeof num, "%ld", optim->step);
            vl_st_set_meta(&f, "optimizer_step", num);
        }
        rc = vl_st_write(&f, path, err);
    }
    for (size_t i = 0; i < n_names; i++) free(names[i]);
    free(names);
    vl_st_free(&f);
    return rc;
}

static int same_meta(const struct vl_st_file *f, const char *key, const char *want)
{
    const char *v = vl_st_get_meta(f, key);
    return v && want && !strcmp(v, want);
}

int vl_checkpoint_resume(const char *path, struct vl_nn_params *params, struct vl_nn_optim *optim,
                         const struct vl_checkpoint_info *want, int *epoch, char **log,
                         struct vl_error *err)
{
    struct vl_stat st;
    if (vl_stat_path(path, &st, err) < 0) return 0;
    if (!st.exists) return vl_error_set(err, "no resume file %s", path), 0;
    struct vl_st_file f;
    if (vl_st_read(path, &f, err) < 0) return 0;
    char hex[33];
    vl_hash_hex(&want->data_fingerprint, hex);
    const char *reason = NULL;
    if (!same_meta(&f, "format", "vlbuild.checkpoint")) reason = "not a vlbuild checkpoint";
    else if (!same_meta(&f, "format_version", "1")) reason = "checkpoint format version differs";
    else if (!same_meta(&f, "model", want->model)) reason = "the model differs";
    else if (!same_meta(&f, "config", want->config)) reason = "the parameters differ";
    else if (!same_meta(&f, "data_fingerprint", hex)) reason = "the data differ";
    else if (!same_meta(&f, "classes", want->classes)) reason = "the classes differ";
    else if (!vl_st_get_meta(&f, "optimizer_step") || !vl_st_get_meta(&f, "epoch"))
        reason = "no optimiser state";
    if (reason) {
        vl_st_free(&f);
        vl_error_set(err, "not resuming from %s: %s", path, reason);
        return 0;
    }
    /* load into scratch copies first, so that a bad file leaves the model untouched */
    int rc = 0;
    size_t total = 0;
    for (size_t i = 0; i < params->count; i++) total += params->items[i]->value.size * 3;
    float *buf = malloc(total * sizeof *buf + 1), *at = buf;
    if (!buf) abort();
    for (size_t i = 0; i < params->count && rc == 0; i++) {
        const struct vl_nn_param *p = params->items[i];
        uint64_t shape[VL_NN_MAX_DIMS];
        shape_of(&p->value, shape);
        rc = vl_st_copy_f32(&f, path, p->name, shape, p->value.ndim, at, err);
        at += p->value.size;
        for (int k = 0; optim && k < 2 && rc == 0 && p->trainable; k++) {
            const struct vl_nn_tensor *s = k ? &optim->state[i].v : &optim->state[i].m;
            if (s->size == 0) continue;
            char name[512];
            state_name(name, sizeof name, k ? 'v' : 'm', p->name);
            shape_of(s, shape);
            rc = vl_st_copy_f32(&f, path, name, shape, s->ndim, at, err);
            at += s->size;
        }
    }
    if (rc == 0) {
        at = buf;
        for (size_t i = 0; i < params->count; i++) {
            struct vl_nn_param *p = params->items[i];
            memcpy(p->value.data, at, p->value.size * sizeof *at);
            at += p->value.size;
            for (int k = 0; optim && k < 2 && p->trainable; k++) {
                struct vl_nn_tensor *s = k ? &optim->state[i].v : &optim->state[i].m;
                if (s->size == 0) continue;
                memcpy(s->data, at, s->size * sizeof *at);
                at += s->size;
            }
        }
        if (optim) optim->step = strtol(vl_st_get_meta(&f, "optimizer_step"), NULL, 10);
        *epoch = atoi(vl_st_get_meta(&f, "epoch"));
        const char *l = vl_st_get_meta(&f, "log");
        *log = strdup(l ? l : "");
        if (!*log) abort();
    } else {
        vl_error_prefix(err, "not resuming");
    }
    free(buf);
    vl_st_free(&f);
    return rc == 0 ? 1 : 0;
}
