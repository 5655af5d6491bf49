/* videowriter.h - RGB24 frames written to any container and codec that
 * FFmpeg has, the container chosen from the file's extension (.mp4 .mkv
 * .avi .webm .mov ...) or named, at a constant rate or at the times given,
 * with the colour tags given.  The one encoding path of vlbuild: `synth`
 * uses it directly, clipwriter (augmented clips) fixes its format.  The file
 * appears under its name only when vl_videowriter_close succeeds. */
#ifndef VL_VIDEO_VIDEOWRITER_H
#define VL_VIDEO_VIDEOWRITER_H

#include <stdint.h>

#include "util/error.h"

struct vl_videowriter_opts {
    const char *codec;  /* encoder name ("libx264", "mpeg4", "ffv1", "libvpx-vp9"...) */
    const char *format; /* muxer name ("matroska"); NULL: from the path's extension */
    int width, height;
    int fps;            /* frames per second; 0: 25 */
    int fps_den;        /* with fps: a rate of fps/fps_den; 0: 1 */
    int crf;            /* libx264/libvpx quality; -1: the encoder's default */
    const char *preset; /* libx264 preset; NULL: "fast" */
    int gop;            /* keyframe interval; 0: the encoder's default */
    int threads;        /* encoder threads; 0: 1 (deterministic output) */
    int lossless_rgb;   /* ffv1: keep RGB (bgr0) instead of converting to YUV */
    const char *pix_fmt; /* the encoder's format by libavutil's name ("yuv422p"); NULL: the
                            choice above (the encoder's first, yuv444p at odd sizes...) */
    int time_base_num, time_base_den; /* unit of the _at functions' pts; 0/0: 1/fps */
    /* Colour tags written into the stream, by libavutil's names (NULL or
     * "unknown": untagged).  A YUV encoder's frames are converted from RGB
     * with this matrix and range (untagged: BT.601, limited range), so the
     * tags describe the samples. */
    const char *matrix, *primaries, *transfer, *range;
};

struct vl_videowriter;

/* Starts a video at a temporary name beside path, muxer from path's
 * extension; *out is freed by close or abort.  Errors name the file: an
 * unknown extension, an encoder missing from this FFmpeg build, a size the
 * codec refuses. */
int vl_videowriter_open(const char *path, const struct vl_videowriter_opts *opts,
                        struct vl_videowriter **out, struct vl_error *err);
/* Encodes one RGB24 frame (width*height*3 bytes, rows packed), one frame
 * after the previous one. */
int vl_videowriter_write(struct vl_videowriter *w, const uint8_t *rgb, struct vl_error *err);
/* Encodes one RGB24 frame at time pts (in time_base units), which must be
 * later than the previous frame's: an earlier or equal one is an error. */
int vl_videowriter_write_at(struct vl_videowriter *w, const uint8_t *rgb, int64_t pts,
                            struct vl_error *err);
/* The planes of the next frame of a yuv420p, yuv422p, yuv420p10le or
 * yuv422p10le encoder (Y, U, V; the frame's own buffers; 10-bit samples
 * 16-bit little-endian, strides in bytes), to fill and then pass on with
 * vl_videowriter_submit; an encoder of another format is an error. */
int vl_videowriter_next_planes(struct vl_videowriter *w, uint8_t *plane[3], int stride[3],
                               struct vl_error *err);
/* Encodes the frame whose planes vl_videowriter_next_planes gave, at time
 * pts (in time_base units, later than the previous frame's). */
int vl_videowriter_submit_at(struct vl_videowriter *w, int64_t pts, struct vl_error *err);
/* Flushes, finishes and renames the file into place; frees w whatever
 * happens, and on failure deletes the temporary file. */
int vl_videowriter_close(struct vl_videowriter *w, struct vl_error *err);
/* Deletes the temporary file and frees w (NULL is fine). */
void vl_videowriter_abort(struct vl_videowriter *w);

#endif
