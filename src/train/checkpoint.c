/* checkpoint.c - checkpoint writer and resume reader (format in checkpoint.h). */
#include "train/checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/safetensors.h"
#include "util/arena.h"
#include "util/json.h"
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

/* Floats of the device tensors among what a checkpoint writes. */
static size_t device_floats(const struct vl_nn_params *params, const struct vl_nn_optim *optim)
{
    size_t n = 0;
    for (size_t i = 0; i < params->count; i++) {
        if (params->items[i]->value.mem == VL_NN_MEM_DEVICE) n += params->items[i]->value.size;
        for (int k = 0; optim && i < optim->count && k < 2; k++) {
            const struct vl_nn_tensor *s = k ? &optim->state[i].v : &optim->state[i].m;
            if (s->mem == VL_NN_MEM_DEVICE) n += s->size;
        }
    }
    return n;
}

/* t's data readable by the host: itself, or (a device tensor) downloaded to
 * *at, which moves past it. */
static const float *host_data(const struct vl_nn_tensor *t, float **at)
{
    if (t->mem != VL_NN_MEM_DEVICE) return t->data;
    float *p = *at;
    vl_nn_tensor_read(t, p);
    *at += t->size;
    return p;
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
    /* device tensors are downloaded whole before the file is written, and
     * the writer is atomic: a failure leaves no half-written checkpoint */
    size_t on_device = device_floats(params, optim);
    float *copies = on_device ? malloc(on_device * sizeof *copies) : NULL, *at = copies;
    if (on_device && !copies) abort();
    for (size_t i = 0; i < params->count && rc == 0; i++) {
        const struct vl_nn_param *p = params->items[i];
        uint64_t shape[VL_NN_MAX_DIMS];
        shape_of(&p->value, shape);
        rc = vl_st_add(&f, p->name, VL_ST_F32, shape, p->value.ndim, host_data(&p->value, &at),
                       err);
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
            rc = vl_st_add(&f, names[n_names++], VL_ST_F32, shape, st[k]->ndim,
                           host_data(st[k], &at), err);
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
    free(copies);
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
            vl_nn_tensor_write(&p->value, at); /* an upload where the model is on a device */
            at += p->value.size;
            for (int k = 0; optim && k < 2 && p->trainable; k++) {
                struct vl_nn_tensor *s = k ? &optim->state[i].v : &optim->state[i].m;
                if (s->size == 0) continue;
                vl_nn_tensor_write(s, at);
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

/* A parameter of the config object (canonical texts) as a number, 0 when absent. */
static double config_number(const struct vl_json *config, const char *key)
{
    const char *v = vl_json_string(config, key, NULL);
    return v ? strtod(v, NULL) : 0;
}

static int load_meta(const struct vl_st_file *f, const char *path, struct vl_arena *arena,
                     struct vl_checkpoint_model *cm, struct vl_model_config *mc,
                     const struct vl_model_def **def, struct vl_error *err)
{
    const char *format = vl_st_get_meta(f, "format"), *version = vl_st_get_meta(f, "format_version");
    if (!format || strcmp(format, "vlbuild.checkpoint"))
        return vl_error_set(err, "%s: not a vlbuild checkpoint (no format vlbuild.checkpoint)", path);
    if (!version || strcmp(version, "1"))
        return vl_error_set(err, "%s: checkpoint format version %s is not 1", path,
                            version ? version : "(none)");
    if (vl_st_get_meta(f, "optimizer_step"))
        return vl_error_set(err, "%s: a resume file, not a final checkpoint", path);
    const char *name = vl_st_get_meta(f, "model");
    *def = name ? vl_model_find(name) : NULL;
    if (!*def) return vl_error_set(err, "%s: unknown model %s", path, name ? name : "(none)");
    const char *texts[3] = {vl_st_get_meta(f, "config"), vl_st_get_meta(f, "classes"),
                            vl_st_get_meta(f, "input")};
    static const char *const keys[3] = {"config", "classes", "input"};
    struct vl_json *json[3];
    for (int k = 0; k < 3; k++) {
        if (!texts[k]) return vl_error_set(err, "%s: no %s in the metadata", path, keys[k]);
        char where[4200];
        snprintf(where, sizeof where, "%s (metadata %s)", path, keys[k]);
        if (vl_json_parse(arena, where, texts[k], strlen(texts[k]), &json[k], err) < 0) return -1;
    }
    const struct vl_json *classes = json[1], *input = json[2];
    if (classes->type != VL_JSON_ARRAY || classes->len < 2 || classes->len > 1000000)
        return vl_error_set(err, "%s: classes is not an array of two or more names", path);
    cm->classes = calloc(classes->len, sizeof *cm->classes);
    if (!cm->classes) abort();
    for (size_t c = 0; c < classes->len; c++) {
        if (classes->items[c]->type != VL_JSON_STRING)
            return vl_error_set(err, "%s: class %zu is not a string", path, c);
        cm->classes[cm->n_classes++] = strdup(classes->items[c]->string);
    }
    const char *kind = vl_json_string(input, "kind", "");
    const struct vl_json *shape = vl_json_get(input, "shape");
    size_t want = !strcmp(kind, "features") ? 1 : !strcmp(kind, "clips") ? 4 : 0;
    if (!want || !shape || shape->type != VL_JSON_ARRAY || shape->len != want)
        return vl_error_set(err, "%s: input is not {\"kind\":\"features\",\"shape\":[D]} or "
                                 "{\"kind\":\"clips\",\"shape\":[T,H,W,3]}",
                            path);
    double s[4] = {0};
    for (size_t d = 0; d < want; d++) {
        s[d] = shape->items[d]->number;
        if (shape->items[d]->type != VL_JSON_NUMBER || s[d] < 1 || s[d] > (1 << 24))
            return vl_error_set(err, "%s: input shape entry %zu is not a size", path, d);
    }
    cm->kind = want == 1 ? VL_DATA_FEATURES : VL_DATA_CLIPS;
    if (cm->kind != (*def)->kind)
        return vl_error_set(err, "%s: model %s does not take %s", path, (*def)->name, kind);
    cm->dim = want == 1 ? (size_t)s[0] : 0;
    cm->frames = (int)s[0] * (want == 4), cm->height = (int)s[1], cm->width = (int)s[2];
    *mc = (struct vl_model_config){
        .n_classes = cm->n_classes,
        .dim = cm->dim,
        .frames = cm->frames,
        .height = cm->height,
        .width = cm->width,
        .hidden = (int)config_number(json[0], "hidden"),
        .depth = (int)config_number(json[0], "depth"),
        .patch = (int)config_number(json[0], "patch"),
        .heads = (int)config_number(json[0], "heads"),
        .dropout = config_number(json[0], "dropout"),
    };
    return 0;
}

int vl_checkpoint_load(const char *path, struct vl_checkpoint_model *cm, struct vl_error *err)
{
    memset(cm, 0, sizeof *cm);
    struct vl_st_file f;
    if (vl_st_read(path, &f, err) < 0) return -1;
    struct vl_arena arena = {0};
    struct vl_model_config mc;
    const struct vl_model_def *def;
    int rc = load_meta(&f, path, &arena, cm, &mc, &def, err);
    if (rc == 0) {
        struct vl_rng rng; /* the weights are overwritten below */
        vl_rng_seed(&rng, 0);
        rc = vl_model_create(def, &mc, &rng, &cm->model, err);
        if (rc < 0) vl_error_prefix(err, "%s", path);
    }
    for (size_t i = 0; rc == 0 && i < cm->model.params.count; i++) {
        struct vl_nn_param *p = cm->model.params.items[i];
        uint64_t shape[VL_NN_MAX_DIMS];
        shape_of(&p->value, shape);
        rc = vl_st_copy_f32(&f, path, p->name, shape, p->value.ndim, p->value.data, err);
    }
    vl_arena_release(&arena);
    vl_st_free(&f);
    return rc;
}

void vl_checkpoint_model_free(struct vl_checkpoint_model *cm)
{
    if (cm->model.def) vl_model_destroy(&cm->model);
    for (int c = 0; c < cm->n_classes; c++) free(cm->classes[c]);
    free(cm->classes);
    memset(cm, 0, sizeof *cm);
}
