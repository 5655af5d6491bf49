/* ops.h - the compute operations of the video actions, behind one dispatch
 * table.
 *
 * Every operation that augment, scale and features perform on frames is an
 * entry of struct vl_ops.  vl_ops_cpu() returns the CPU implementation; the
 * CUDA implementation (a later issue) fills the same table, so an action is
 * written once and parity tests run one body against both tables.
 *
 * Frames are packed RGB24 (`[H][W][3]` uint8, rows of width*3 bytes).  No
 * entry allocates per frame: what an operation needs between calls lives in
 * a struct vl_ops_ctx that the caller creates once per job. */
#ifndef VL_OPS_H
#define VL_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

struct vl_frame {
    uint8_t *rgb;
    int width, height;
};

/* A yuv420p picture as decoded: plane 0 is Y of width x height, planes 1
 * and 2 are U and V of (width+1)/2 x (height+1)/2; limited range (black at
 * Y 16) unless full_range (black at Y 0). */
struct vl_yuv_frame {
    uint8_t *plane[3];
    int stride[3];
    int width, height;
    int full_range;
};

enum vl_interp { VL_INTERP_AREA, VL_INTERP_BILINEAR, VL_INTERP_BICUBIC };

/* Colour jitter factors, as torchvision's ColorJitter applies them: each
 * factor 1 (hue 0) leaves the frame unchanged. */
struct vl_color_jitter {
    double brightness; /* multiply */
    double contrast;   /* blend with the frame's mean grey */
    double saturation; /* blend with the frame's greyscale */
    double hue;        /* shift, in turns (-0.5 to 0.5) */
};

/* Motion statistics between two consecutive frames. */
struct vl_motion {
    double mean;       /* mean absolute grey difference, 0..255 */
    double spread;     /* standard deviation of the absolute difference */
    double horizontal; /* signed horizontal component of the motion (+: rightwards) */
    double vertical;   /* signed vertical component (+: downwards) */
};

/* Per-job scratch state of an implementation (scaling contexts, buffers). */
struct vl_ops_ctx;

struct vl_ops {
    const char *name; /* "cpu", "cuda" */

    /* Creates the per-job context; *out freed by ctx_free. */
    int (*ctx_new)(struct vl_ops_ctx **out, struct vl_error *err);
    void (*ctx_free)(struct vl_ops_ctx *ctx);

    /* -- geometry -- */
    /* Resizes src into dst (dst->width/height set, dst->rgb allocated). */
    int (*resize)(struct vl_ops_ctx *ctx, const struct vl_frame *src, struct vl_frame *dst,
                  enum vl_interp interp, struct vl_error *err);
    /* Copies the dst->width x dst->height window at (x, y) of src into dst. */
    void (*crop)(const struct vl_frame *src, int x, int y, struct vl_frame *dst);
    /* Mirrors the frame left to right, in place. */
    void (*flip_horizontal)(struct vl_frame *f);
    /* Rotates src by degrees (counter-clockwise) about its centre into dst of
     * the same size, bilinear, black outside the source. */
    void (*rotate)(const struct vl_frame *src, struct vl_frame *dst, double degrees);

    /* -- colour and noise -- */
    void (*color_jitter)(struct vl_frame *f, const struct vl_color_jitter *j);
    /* -- yuv420p: crop, flip and brightness/contrast/saturation in one pass -- */
    /* The tables of a jitter (hue ignored) for frames like the dst->width x
     * dst->height window at (x, y) of src (x, y even): Y through ylut, U and
     * V through clut.  Brightness scales Y-black (16, or 0 for full range)
     * and U,V-128; contrast blends with the window's mean Y; saturation
     * scales U,V-128. */
    void (*yuv_jitter_tables)(const struct vl_yuv_frame *src, int x, int y, int w, int h,
                              const struct vl_color_jitter *j, uint8_t ylut[256],
                              uint8_t clut[256]);
    /* Copies the dst-sized window at (x, y) of src (x, y even) into dst,
     * mirrored left to right when flip, each sample through its table. */
    void (*yuv_crop_flip_map)(const struct vl_yuv_frame *src, int x, int y, int flip,
                              const uint8_t ylut[256], const uint8_t clut[256],
                              struct vl_yuv_frame *dst);
    /* Adds Gaussian noise of standard deviation sigma (in 0..255 units),
     * drawn from seed (the same seed gives the same noise everywhere). */
    void (*gaussian_noise)(struct vl_frame *f, double sigma, uint64_t seed);
    /* Blurs in place with a Gaussian of standard deviation sigma pixels. */
    int (*gaussian_blur)(struct vl_ops_ctx *ctx, struct vl_frame *f, double sigma,
                         struct vl_error *err);

    /* -- features -- */
    /* HSV histogram: bins per channel, out[3*bins] (H, then S, then V),
     * normalised to sum 1 per channel. */
    void (*hsv_histogram)(const struct vl_frame *f, int bins, float *out);
    /* Motion statistics from frame a to frame b (same size). */
    void (*motion)(struct vl_ops_ctx *ctx, const struct vl_frame *a, const struct vl_frame *b,
                   struct vl_motion *out);
    /* Variance of the Laplacian of the grey image (sharpness). */
    double (*laplacian_variance)(struct vl_ops_ctx *ctx, const struct vl_frame *f);
    /* Fraction of pixels whose Sobel gradient magnitude exceeds threshold. */
    double (*edge_density)(struct vl_ops_ctx *ctx, const struct vl_frame *f, double threshold);
    /* Share of the 8x8 block-DCT energy of the grey image in the high
     * frequencies (u + v >= 8), 0..1. */
    double (*dct_high_ratio)(struct vl_ops_ctx *ctx, const struct vl_frame *f);
};

/* The CPU implementation of every operation. */
const struct vl_ops *vl_ops_cpu(void);

#endif
