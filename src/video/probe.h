/* probe.h - video metadata without decoding.
 *
 * vl_probe_file() opens a file with libavformat, picks the best video stream
 * (av_find_best_stream) and demuxes its packets once to count frames,
 * keyframes and the largest keyframe interval; nothing is decoded except what
 * avformat_find_stream_info() needs to read the stream parameters.  The
 * metadata is written as one flat JSON object (see probe.c for the fields),
 * which is what the metadata cache stores and the `probe` action outputs. */
#ifndef VL_VIDEO_PROBE_H
#define VL_VIDEO_PROBE_H

#include <stdint.h>

#include "util/error.h"
#include "util/strbuf.h"

/* Version of the JSON layout; a reader of cached JSON checks it. */
#define VL_META_VERSION 2

struct vl_video_meta {
    char container[64];   /* libavformat demuxer name, e.g. "matroska,webm" */
    char codec[32];       /* e.g. "h264" */
    char profile[48];     /* e.g. "High", or "" when the codec has none */
    char pix_fmt[32];     /* e.g. "yuv420p10le" */
    int bit_depth;        /* bits per sample of the first component */
    int coded_width, coded_height;
    int width, height;    /* display size: coded size stretched by the sample aspect ratio
                             (width x SAR, rounded), then turned by the rotation */
    int rotation;         /* clockwise degrees to turn the picture for display: 0, 90, 180, 270 */
    int sar_num, sar_den; /* sample aspect ratio, 0:1 when unknown */
    /* colour tags as the stream has them, libavutil's names ("unknown" when
     * untagged), and what vlbuild converts to RGB with (see vl_probe_rgb_matrix) */
    char matrix[24], primaries[24], transfer[24], range[12];
    char rgb_matrix[24], rgb_range[12];
    int hdr;              /* transfer is PQ (smpte2084) or HLG (arib-std-b67); not tone mapped */
    int avg_fps_num, avg_fps_den; /* average frame rate */
    int r_fps_num, r_fps_den;     /* nominal frame rate (r_frame_rate) */
    int vfr;              /* 1 when frame durations vary */
    double fps;           /* avg frame rate as a number (frames / duration when unknown) */
    double start_time;    /* seconds, of the chosen stream */
    double duration;      /* seconds */
    int64_t frames;       /* counted packets that yield a frame */
    int64_t keyframes;
    int64_t max_keyframe_interval; /* frames from one keyframe to the next (or the end) */
    int has_b_frames;     /* presentation order differs from decode order */
    int audio_streams;
    int video_streams;    /* not counting attached pictures (cover art) */
    int stream_index;     /* the stream chosen, as libavformat numbers them */
    int frames_corrected; /* 1 when a decode pass corrected `frames` */
};

/* Probes path and fills meta.  Errors name the file: missing, empty, not a
 * media file, no video stream, or unreadable/truncated data. */
int vl_probe_file(const char *path, struct vl_video_meta *meta, struct vl_error *err);

struct AVStream;
/* Clockwise degrees (0, 90, 180, 270) that a stream's display matrix asks
 * the picture to be turned for display; 0 when it has none. */
int vl_probe_rotation(const struct AVStream *st);

/* The matrix (an AVColorSpace) that RGB conversion uses for a stream tagged
 * colorspace, as ffmpeg's scale filter picks it: the tag where swscale has
 * coefficients for it, else BT.601 (AVCOL_SPC_BT470BG): untagged, reserved,
 * RGB, YCgCo and unknown values. */
int vl_probe_rgb_matrix(int colorspace);

/* The picture size in stored pixels, turned by the rotation (what the reader
 * hands out unscaled): meta->width x height before the sample aspect ratio. */
void vl_meta_pixel_size(const struct vl_video_meta *meta, int *width, int *height);

/* Appends meta to out as one JSON object with a trailing newline. */
void vl_meta_to_json(const struct vl_video_meta *meta, struct vl_strbuf *out);

/* Parses JSON written by vl_meta_to_json (any field order; unknown fields are
 * ignored).  Returns -1 when it is not such an object or has another version. */
int vl_meta_from_json(const char *json, struct vl_video_meta *meta, struct vl_error *err);

#endif
