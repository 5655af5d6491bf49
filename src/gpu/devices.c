/* devices.c - GPU device lists and the gpu pool's slot binding. */
#include "gpu/devices.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int valid_entry_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == ':' || c == '/';
}

int vl_gpu_devices_parse(const char *list, const char *origin, struct vl_gpu_devices *out,
                         struct vl_error *err)
{
    memset(out, 0, sizeof *out);
    out->origin = origin;
    if (!*list) return 0;
    for (const char *p = list;;) {
        size_t len = strcspn(p, ",");
        size_t ok = 0;
        while (ok < len && valid_entry_char(p[ok])) ok++;
        int rc = 0;
        if (len == 0)
            rc = vl_error_set(err, "%s: an empty device entry in '%s'", origin, list);
        else if (ok < len)
            rc = vl_error_set(err, "%s: device entry '%.*s' holds '%c' (expected an ordinal, "
                                   "GPU-<uuid> or MIG-<id>)",
                              origin, (int)len, p, p[ok]);
        else if (out->n == VL_GPU_MAX_DEVICES)
            rc = vl_error_set(err, "%s: more than %d devices", origin, VL_GPU_MAX_DEVICES);
        for (size_t i = 0; rc == 0 && i < out->n; i++)
            if (strlen(out->entries[i]) == len && !strncmp(out->entries[i], p, len))
                rc = vl_error_set(err, "%s: device '%.*s' is listed twice", origin, (int)len, p);
        if (rc < 0) {
            vl_gpu_devices_release(out);
            return -1;
        }
        out->entries[out->n] = strndup(p, len);
        if (!out->entries[out->n]) abort();
        out->n++;
        if (!p[len]) return 0;
        p += len + 1;
    }
}

/* 1 when name is "nvidia" followed by digits only (not nvidiactl, nvidia-uvm). */
static int is_device_node(const char *name)
{
    if (strncmp(name, "nvidia", 6) || !name[6]) return 0;
    for (const char *c = name + 6; *c; c++)
        if (*c < '0' || *c > '9') return 0;
    return 1;
}

static int by_ordinal(const void *a, const void *b)
{
    long x = atol(*(char *const *)a), y = atol(*(char *const *)b);
    return (x > y) - (x < y);
}

int vl_gpu_devices_detect(const char *cuda_visible, const char *dev_dir,
                          struct vl_gpu_devices *out, struct vl_error *err)
{
    if (cuda_visible) {
        /* CUDA reads the list up to its first invalid entry; these two mean none */
        if (!strcmp(cuda_visible, "-1") || !strcmp(cuda_visible, "NoDevFiles"))
            cuda_visible = "";
        return vl_gpu_devices_parse(cuda_visible, "CUDA_VISIBLE_DEVICES", out, err);
    }
    memset(out, 0, sizeof *out);
    out->origin = "/dev";
    DIR *d = opendir(dev_dir);
    if (!d) return 0; /* no device folder: no devices */
    struct dirent *de;
    while ((de = readdir(d)) && out->n < VL_GPU_MAX_DEVICES)
        if (is_device_node(de->d_name)) {
            out->entries[out->n] = strdup(de->d_name + 6);
            if (!out->entries[out->n]) abort();
            out->n++;
        }
    closedir(d);
    qsort(out->entries, out->n, sizeof *out->entries, by_ordinal);
    return 0;
}

int vl_gpu_default_slots(const struct vl_gpu_devices *d)
{
    return d->n ? (int)d->n : 1;
}

void vl_gpu_bind(const struct vl_gpu_devices *d, int slot, struct vl_gpu_binding *out)
{
    out->slot = slot;
    if (!d || d->n == 0) {
        out->entry = NULL;
        out->ordinal = -1;
        out->lane = slot;
        return;
    }
    out->ordinal = (int)((size_t)slot % d->n);
    out->entry = d->entries[out->ordinal];
    out->lane = (int)((size_t)slot / d->n);
}

static int is_var(const char *entry, const char *name)
{
    size_t n = strlen(name);
    return !strncmp(entry, name, n) && entry[n] == '=';
}

char **vl_gpu_child_env(char *const *env, const struct vl_gpu_binding *b)
{
    size_t n = 0;
    while (env[n]) n++;
    char visible[160], slot[48];
    /* without devices the child sees none, as the build does */
    snprintf(visible, sizeof visible, "CUDA_VISIBLE_DEVICES=%s", b->entry ? b->entry : "");
    snprintf(slot, sizeof slot, "VLBUILD_GPU_SLOT=%d", b->slot);
    size_t strings = strlen(visible) + 1 + strlen(slot) + 1;
    char **out = malloc((n + 3) * sizeof *out + strings);
    if (!out) abort();
    char *text = (char *)(out + n + 3);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!is_var(env[i], "CUDA_VISIBLE_DEVICES") && !is_var(env[i], "VLBUILD_GPU_SLOT"))
            out[k++] = env[i];
    out[k++] = strcpy(text, visible);
    out[k++] = strcpy(text + strlen(visible) + 1, slot);
    out[k] = NULL;
    return out;
}

void vl_gpu_devices_release(struct vl_gpu_devices *d)
{
    for (size_t i = 0; i < d->n; i++) free(d->entries[i]);
    d->n = 0;
}
