/* testgen.h - synthetic test videos written with libavcodec/libavformat.
 *
 * Tests, benchmarks (and the `synth` action) make their own fixtures: a
 * gradient with a square that moves one step a frame, so every frame
 * differs (or saturated colour bars, for colour tests), in the container,
 * codec, size, frame count, colour tags and sample aspect ratio asked for. */
#ifndef VL_VIDEO_TESTGEN_H
#define VL_VIDEO_TESTGEN_H

#include <stdint.h>

#include "util/error.h"

struct vl_testgen_opts {
    const char *format;   /* muxer name ("mp4", "matroska", "mov", "avi", "webm"); NULL: from the file name */
    const char *codec;    /* encoder name ("libx264", "mpeg4", "ffv1", "mjpeg", "libvpx"); NULL: libx264 */
    const char *pix_fmt;  /* NULL: the encoder's first supported format (yuv420p for libx264) */
    int width, height;    /* picture size (odd sizes allowed where the codec allows) */
    int frames;           /* number of frames; 0 with audio makes an audio-only file */
    int fps;              /* frames per second (0: 25) */
    int bframes;          /* max consecutive B-frames (0: none) */
    int gop;              /* keyframe interval (0: 12) */
    int rotation;         /* clockwise display rotation stored as a display matrix (mov/mp4) */
    int vfr;              /* 1: irregular frame durations (1, 1 and 2 frames at fps, in ms) */
    double start;         /* time of the first frame in seconds, rounded to the stream's time
                             base (1/fps, or 1/1000 with vfr); 0: 0 */
    int audio;            /* 1: add a one-channel audio stream (aac or mp2) */
    int threads;          /* encoder threads (0: 1) */
    const char *preset;   /* libx264 preset (NULL: "ultrafast") */
    int bars;             /* 1: saturated colour bars over the gradient (vl_testgen_bars) */
    /* Colour tags written into the stream, by libavutil's names (NULL: untagged):
     * matrix "bt709", "bt2020nc", "smpte240m", "fcc", "smpte170m"...; range
     * "tv" or "pc"; primaries and transfer likewise.  The RGB pattern is
     * converted to YUV with that matrix and range, so a reader that honours
     * the tags gets the pattern back. */
    const char *matrix, *range, *primaries, *transfer;
    int sar_num, sar_den; /* sample aspect ratio written (0: none, square pixels) */
    int bitexact;         /* 1: no random container UIDs, so the same options give the same
                             bytes (and the same fingerprint) */
};

/* Writes a video to path as opts says; clear error when an encoder or muxer
 * is missing from this FFmpeg build. */
int vl_testgen_write(const char *path, const struct vl_testgen_opts *opts, struct vl_error *err);

/* Fills rgb (width*height*3 bytes, RGB24) with frame index of the pattern. */
void vl_testgen_pattern(int index, int width, int height, uint8_t *rgb);

/* Like vl_testgen_pattern, with seven saturated bars (white, yellow, cyan,
 * green, magenta, red, blue) across the top two thirds. */
void vl_testgen_bars(int index, int width, int height, uint8_t *rgb);

/* 1 when this FFmpeg build has the encoder called name. */
int vl_testgen_have_encoder(const char *name);

#endif
