/* clipwriter.c - augmented clips: Matroska with FFV1 (lossless RGB, the
 * default), FFV1 in yuv420p, or H.264 (libx264, crf), through the one encoding path of
 * videowriter.c, which writes to "<path>.vltmp.<pid>.<thread>" and renames
 * on close. */
#include "video/clipwriter.h"

#include <stdlib.h>

#include "video/videowriter.h"

struct vl_clipwriter {
    struct vl_videowriter *w;
};

int vl_clipwriter_open(const char *path, const struct vl_clipwriter_opts *o,
                       struct vl_clipwriter **out, struct vl_error *err)
{
    *out = NULL;
    int h264 = o->codec == VL_CLIP_H264;
    struct vl_videowriter_opts vo = {
        .codec = h264 ? "libx264" : "ffv1",
        .format = "matroska",
        .width = o->width,
        .height = o->height,
        .fps = o->fps_num > 0 && o->fps_den > 0 ? o->fps_num : 25,
        .fps_den = o->fps_num > 0 && o->fps_den > 0 ? o->fps_den : 1,
        .crf = h264 ? (o->crf >= 0 ? o->crf : 18) : -1,
        .preset = h264 ? (o->preset ? o->preset : "medium") : NULL,
        .threads = o->threads,
        .lossless_rgb = o->codec == VL_CLIP_FFV1,
    };
    struct vl_videowriter *w;
    if (vl_videowriter_open(path, &vo, &w, err) < 0) return -1;
    *out = malloc(sizeof **out);
    if (!*out) abort();
    (*out)->w = w;
    return 0;
}

int vl_clipwriter_write(struct vl_clipwriter *w, const uint8_t *rgb, struct vl_error *err)
{
    return vl_videowriter_write(w->w, rgb, err);
}

int vl_clipwriter_next_planes(struct vl_clipwriter *w, uint8_t *plane[3], int stride[3],
                              struct vl_error *err)
{
    return vl_videowriter_next_planes(w->w, plane, stride, err);
}

int vl_clipwriter_submit(struct vl_clipwriter *w, struct vl_error *err)
{
    return vl_videowriter_submit(w->w, err);
}

int vl_clipwriter_close(struct vl_clipwriter *w, struct vl_error *err)
{
    int rc = vl_videowriter_close(w->w, err);
    free(w);
    return rc;
}

void vl_clipwriter_abort(struct vl_clipwriter *w)
{
    if (!w) return;
    vl_videowriter_abort(w->w);
    free(w);
}
