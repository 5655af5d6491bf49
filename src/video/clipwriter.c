/* clipwriter.c - augmented clips: Matroska with FFV1 (lossless RGB), FFV1
 * in yuv420p, yuv422p, yuv420p10le or yuv422p10le, or H.264 (libx264, crf), through the one encoding path of
 * videowriter.c, which writes to "<path>.vltmp.<pid>.<thread>" and renames
 * on close.  The encoder's time base is Matroska's millisecond, so a time
 * given in seconds is rounded once. */
#include "video/clipwriter.h"

#include <math.h>
#include <stdlib.h>

#include "video/videowriter.h"

struct vl_clipwriter {
    struct vl_videowriter *w;
    int64_t last_ms; /* time of the previous frame */
    int started;
    int64_t frames;  /* written so far */
    int fps_num, fps_den;
};

/* pts seconds in milliseconds, after the previous frame's. */
static int64_t frame_ms(struct vl_clipwriter *w, double pts)
{
    int64_t ms = llround(pts * 1000.0);
    if (w->started && ms <= w->last_ms) ms = w->last_ms + 1;
    w->last_ms = ms, w->started = 1;
    w->frames++;
    return ms;
}

/* The encoder's format for the codec: NULL lets videowriter choose
 * (yuv420p, yuv444p at odd sides, bgr0 for RGB FFV1). */
static const char *clip_pix_fmt(const struct vl_clipwriter_opts *o)
{
    int odd_w = o->width & 1, odd = odd_w || o->height & 1;
    switch (o->codec) {
    case VL_CLIP_FFV1_422: return odd_w ? "yuv444p" : "yuv422p";
    case VL_CLIP_FFV1_420_10: return odd ? "yuv444p10le" : "yuv420p10le";
    case VL_CLIP_FFV1_422_10: return odd_w ? "yuv444p10le" : "yuv422p10le";
    default: return NULL;
    }
}

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
        .pix_fmt = clip_pix_fmt(o),
        .time_base_num = 1,
        .time_base_den = 1000,
    };
    if (o->codec != VL_CLIP_FFV1) {
        vo.matrix = o->matrix, vo.primaries = o->primaries;
        vo.transfer = o->transfer, vo.range = o->range;
    }
    struct vl_videowriter *w;
    if (vl_videowriter_open(path, &vo, &w, err) < 0) return -1;
    *out = calloc(1, sizeof **out);
    if (!*out) abort();
    (*out)->w = w;
    (*out)->fps_num = vo.fps, (*out)->fps_den = vo.fps_den;
    return 0;
}

int vl_clipwriter_write(struct vl_clipwriter *w, const uint8_t *rgb, struct vl_error *err)
{
    /* frame n at n / fps seconds, rounded half away from zero as libavformat
     * rescales (the same milliseconds as an encoder timed in 1/fps) */
    int64_t ms = (w->frames * 2000 * w->fps_den + w->fps_num) / (2 * (int64_t)w->fps_num);
    return vl_clipwriter_write_at(w, rgb, (double)ms / 1000.0, err);
}

int vl_clipwriter_write_at(struct vl_clipwriter *w, const uint8_t *rgb, double pts,
                           struct vl_error *err)
{
    return vl_videowriter_write_at(w->w, rgb, frame_ms(w, pts), err);
}

int vl_clipwriter_next_planes(struct vl_clipwriter *w, uint8_t *plane[3], int stride[3],
                              struct vl_error *err)
{
    return vl_videowriter_next_planes(w->w, plane, stride, err);
}

int vl_clipwriter_submit_at(struct vl_clipwriter *w, double pts, struct vl_error *err)
{
    return vl_videowriter_submit_at(w->w, frame_ms(w, pts), err);
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
