/* ops.h - the compute operations of the video actions, behind one dispatch
 * table.
 *
 * Every operation that augment, scale and features perform on frames is an
 * entry of struct vl_ops.  vl_ops_cpu() returns the CPU implementation; the
 * CUDA module (src/cuda/, loaded through src/gpu/cuda_loader.h) fills the
 * same table, so an action is written once and parity tests run one body
 * against both tables.  vl_ops_for_job() picks the table a job's resolved
 * `device` parameter names.
 *
 * Frames are packed RGB24 (`[H][W][3]` uint8, rows of width*3 bytes) and
 * say where their bytes live (`mem`): host memory, or the memory of the
 * context's device.  An entry works on frames in its table's memory:
 * upload and download move a frame between the host and the device, and
 * the CPU table, which has no device, refuses device frames with an error.
 *
 * Every entry is required (non-NULL in every table) except those marked
 * optional: the 10-bit YUV entries, NULL where a table lacks them.
 *
 * Every entry takes the per-job context and returns 0, or -1 with a message
 * in err.  Entries enqueue: a device table may return before the work is
 * done, so frames written and scalar results (the out-pointers of the
 * feature entries) are valid only after sync (the CPU table finishes before
 * it returns; its sync does nothing).  No entry allocates per frame: what
 * an operation needs between calls lives in a struct vl_ops_ctx that the
 * caller creates once per job. */
#ifndef VL_OPS_H
#define VL_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

/* Where a frame's bytes live. */
enum vl_mem {
    VL_MEM_HOST,   /* ordinary (or pinned) host memory; 0, so {0} frames are host frames */
    VL_MEM_DEVICE, /* memory of the context's device */
};

struct vl_frame {
    uint8_t *rgb;
    int width, height;
    enum vl_mem mem;
};

/* A yuv420p (or yuv422p) picture as decoded: plane 0 is Y of width x
 * height, planes 1 and 2 are U and V of (width+1)/2 x (height+1)/2, or of
 * (width+1)/2 x height when chroma_full_height (4:2:2); limited range
 * (black at Y 16) unless full_range (black at Y 0).  The yuv10_ entries
 * take the same layout in yuv420p10le / yuv422p10le: each sample two bytes,
 * little-endian, 0..1023 (strides stay in bytes; black at Y 64 limited). */
struct vl_yuv_frame {
    uint8_t *plane[3];
    int stride[3];
    int width, height;
    int full_range;
    enum vl_mem mem;
    int chroma_full_height; /* 0: 4:2:0, 1: 4:2:2 */
};

/* What a host frame given to convert must have writable past its end (the
 * CPU converter's SIMD rows overrun a little; video/convert.h). */
#define VL_OPS_CONVERT_SLACK(out_w) ((size_t)(out_w) * 3 + 256)

enum vl_interp { VL_INTERP_AREA, VL_INTERP_BILINEAR, VL_INTERP_BICUBIC };

/* The layouts of a decoded picture that a table's converter may take. */
enum vl_picture_format {
    VL_PICTURE_OTHER,     /* only `decoded` describes it: the CPU table converts any format */
    VL_PICTURE_YUV420P,   /* 8-bit planar 4:2:0 (yuv420p, yuvj420p): Y, U, V */
    VL_PICTURE_YUV420P10, /* 16-bit little-endian samples 0..1023, planar 4:2:0: Y, U, V */
    VL_PICTURE_NV12,      /* 8-bit 4:2:0: Y, then U and V interleaved (NVDEC's 8-bit output) */
    VL_PICTURE_P016,      /* 16-bit samples in the high bits (P010, P016), Y then UV
                             interleaved (NVDEC's 10- and 12-bit output) */
};

/* A decoded picture as a converter takes it: its planes (host or device
 * memory), size as stored and colour tags already resolved (the matrix as
 * an AVCOL_SPC_* / SWS_CS_* number, the range limited or full), and the
 * libavutil AVFrame it came from when there is one on the host (the CPU
 * converter reads that; a table without FFmpeg reads the planes). */
struct vl_picture {
    enum vl_picture_format format;
    const uint8_t *plane[3];
    int stride[3]; /* bytes */
    int width, height;
    int matrix;
    int full_range;
    enum vl_mem mem;
    const void *decoded; /* const AVFrame *, host, or NULL */
};

/* A table's converter state (made by convert_new). */
struct vl_ops_convert;

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

/* What a context is made for: the device (an ordinal in vlbuild's visible
 * set, -1 for none) and lane of the job's gpu slot (src/gpu/devices.h), and
 * the bytes of frames the job may hold (0: no limit given). */
struct vl_ops_ctx_opts {
    int device;
    int lane;
    uint64_t memory_budget;
};

/* Per-job scratch state of an implementation (scaling contexts, buffers,
 * on a device its streams and staging buffers). */
struct vl_ops_ctx;

struct vl_ops {
    const char *name; /* "cpu", "cuda" */

    /* Creates the per-job context; *out freed by ctx_free.  Errors: the
     * device cannot be used (the reason named). */
    int (*ctx_new)(const struct vl_ops_ctx_opts *opts, struct vl_ops_ctx **out,
                   struct vl_error *err);
    void (*ctx_free)(struct vl_ops_ctx *ctx);

    /* -- memory -- */
    /* Copies the host frame src into dst (same size, dst->rgb allocated in
     * dst->mem).  The CPU table copies host to host and refuses device frames. */
    int (*upload)(struct vl_ops_ctx *ctx, const struct vl_frame *src, struct vl_frame *dst,
                  struct vl_error *err);
    /* Copies src (in the table's memory) into the host frame dst (same size). */
    int (*download)(struct vl_ops_ctx *ctx, const struct vl_frame *src, struct vl_frame *dst,
                    struct vl_error *err);
    /* Waits for every entry enqueued on ctx; after it frames and scalar
     * results are valid, and an error of an earlier entry is reported here. */
    int (*sync)(struct vl_ops_ctx *ctx, struct vl_error *err);

    /* -- geometry -- */
    /* Resizes src into dst (dst->width/height set, dst->rgb allocated). */
    int (*resize)(struct vl_ops_ctx *ctx, const struct vl_frame *src, struct vl_frame *dst,
                  enum vl_interp interp, struct vl_error *err);
    /* Copies the dst->width x dst->height window at (x, y) of src into dst. */
    int (*crop)(struct vl_ops_ctx *ctx, const struct vl_frame *src, int x, int y,
                struct vl_frame *dst, struct vl_error *err);
    /* Mirrors the frame left to right, in place. */
    int (*flip_horizontal)(struct vl_ops_ctx *ctx, struct vl_frame *f, struct vl_error *err);
    /* Rotates src by degrees (counter-clockwise) about its centre into dst of
     * the same size, bilinear, black outside the source. */
    int (*rotate)(struct vl_ops_ctx *ctx, const struct vl_frame *src, struct vl_frame *dst,
                  double degrees, struct vl_error *err);

    /* -- colour and noise -- */
    int (*color_jitter)(struct vl_ops_ctx *ctx, struct vl_frame *f,
                        const struct vl_color_jitter *j, struct vl_error *err);
    /* -- yuv420p/yuv422p: crop, flip and brightness/contrast/saturation in one pass -- */
    /* The tables of a jitter (hue ignored) for frames like the w x h window
     * at (x, y) of src (x even; y even for 4:2:0): Y through ylut, U and V through clut
     * (host arrays, valid after sync).  Brightness scales Y-black (16, or 0
     * for full range) and U,V-128; contrast blends with the window's mean Y;
     * saturation scales U,V-128. */
    int (*yuv_jitter_tables)(struct vl_ops_ctx *ctx, const struct vl_yuv_frame *src, int x,
                             int y, int w, int h, const struct vl_color_jitter *j,
                             uint8_t ylut[256], uint8_t clut[256], struct vl_error *err);
    /* Copies the dst-sized window at (x, y) of src (x even; y even for
     * 4:2:0) into dst (of src's chroma layout), mirrored left to right when
     * flip, each sample through its table. */
    int (*yuv_crop_flip_map)(struct vl_ops_ctx *ctx, const struct vl_yuv_frame *src, int x,
                             int y, int flip, const uint8_t ylut[256], const uint8_t clut[256],
                             struct vl_yuv_frame *dst, struct vl_error *err);
    /* -- yuv420p10le/yuv422p10le (16-bit samples): optional, NULL where a
     * table lacks them (the caller then goes through RGB); both tables have
     * them -- */
    /* yuv_jitter_tables with 1024-entry tables: the 8-bit arithmetic
     * scaled by 4 (black 64, or 0 for full range; neutral chroma 512;
     * results clamped to 0..1023). */
    int (*yuv10_jitter_tables)(struct vl_ops_ctx *ctx, const struct vl_yuv_frame *src, int x,
                               int y, int w, int h, const struct vl_color_jitter *j,
                               uint16_t ylut[1024], uint16_t clut[1024], struct vl_error *err);
    /* yuv_crop_flip_map of 16-bit samples (the top 6 bits of a sample are
     * ignored when it goes through its table). */
    int (*yuv10_crop_flip_map)(struct vl_ops_ctx *ctx, const struct vl_yuv_frame *src, int x,
                               int y, int flip, const uint16_t ylut[1024],
                               const uint16_t clut[1024], struct vl_yuv_frame *dst,
                               struct vl_error *err);
    /* Adds Gaussian noise of standard deviation sigma (in 0..255 units),
     * drawn from seed (the same seed gives the same noise everywhere). */
    int (*gaussian_noise)(struct vl_ops_ctx *ctx, struct vl_frame *f, double sigma,
                          uint64_t seed, struct vl_error *err);
    /* Blurs in place with a Gaussian of standard deviation sigma pixels. */
    int (*gaussian_blur)(struct vl_ops_ctx *ctx, struct vl_frame *f, double sigma,
                         struct vl_error *err);

    /* -- decoded pictures to RGB24 (scale's converter, the reader's when given a table) -- */
    /* A converter to out_w x out_h RGB24 with interp; *out freed by
     * convert_free.  Errors: a size below 1. */
    int (*convert_new)(struct vl_ops_ctx *ctx, int out_w, int out_h, enum vl_interp interp,
                       struct vl_ops_convert **out, struct vl_error *err);
    /* 1 when the table converts pictures of this layout in this memory (the
     * caller converts elsewhere, or moves the picture, when 0). */
    int (*convert_takes)(struct vl_ops_ctx *ctx, enum vl_picture_format format, enum vl_mem mem);
    /* Converts the crop window (x, y, w, h of the stored picture; its
     * corner rounded down to the chroma grid) of pic, scaled into the
     * place rectangle of dst (out_w x out_h, black around it), by pic's
     * matrix and range into full-range RGB24.  A host dst needs
     * VL_OPS_CONVERT_SLACK(out_w) writable bytes past its end. */
    int (*convert)(struct vl_ops_ctx *ctx, struct vl_ops_convert *conv,
                   const struct vl_picture *pic, const int crop[4], const int place[4],
                   struct vl_frame *dst, struct vl_error *err);
    void (*convert_free)(struct vl_ops_ctx *ctx, struct vl_ops_convert *conv);

    /* -- features (results in host memory, valid after sync) -- */
    /* HSV histogram: bins per channel, out[3*bins] (H, then S, then V),
     * normalised to sum 1 per channel. */
    int (*hsv_histogram)(struct vl_ops_ctx *ctx, const struct vl_frame *f, int bins, float *out,
                         struct vl_error *err);
    /* Motion statistics from frame a to frame b (same size). */
    int (*motion)(struct vl_ops_ctx *ctx, const struct vl_frame *a, const struct vl_frame *b,
                  struct vl_motion *out, struct vl_error *err);
    /* Variance of the Laplacian of the grey image (sharpness). */
    int (*laplacian_variance)(struct vl_ops_ctx *ctx, const struct vl_frame *f, double *out,
                              struct vl_error *err);
    /* Fraction of pixels whose Sobel gradient magnitude exceeds threshold. */
    int (*edge_density)(struct vl_ops_ctx *ctx, const struct vl_frame *f, double threshold,
                        double *out, struct vl_error *err);
    /* Share of the 8x8 block-DCT energy of the grey image in the high
     * frequencies (u + v >= 8), 0..1. */
    int (*dct_high_ratio)(struct vl_ops_ctx *ctx, const struct vl_frame *f, double *out,
                          struct vl_error *err);

};

/* The CPU implementation of every operation (static, never freed). */
const struct vl_ops *vl_ops_cpu(void);

struct vl_action_job;

/* The table the job's resolved `device` parameter names (cpu when the
 * action has none, or it resolved to cpu), with the options for its
 * context in *opts.  NULL with the reason in err: a GPU job where the CUDA
 * module cannot be loaded or has no operations yet. */
const struct vl_ops *vl_ops_for_job(const struct vl_action_job *job, struct vl_ops_ctx_opts *opts,
                                    struct vl_error *err);

#endif
