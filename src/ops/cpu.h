/* cpu.h - the CPU implementation's pieces, assembled into the table by cpu.c.
 * Each group of operations keeps its per-job state behind its own pointer in
 * struct vl_ops_ctx, allocated on first use and freed by its *_free. */
#ifndef VL_OPS_CPU_H
#define VL_OPS_CPU_H

#include "ops/ops.h"

struct vl_cpu_resize_state;
struct vl_cpu_filter_state;
struct vl_cpu_feature_state;

struct vl_ops_ctx {
    struct vl_cpu_resize_state *resize;   /* cpu_resize.c */
    struct vl_cpu_filter_state *filter;   /* cpu_color.c (blur) */
    struct vl_cpu_feature_state *feature; /* cpu_features.c */
};

/* cpu_resize.c */
int vl_cpu_resize(struct vl_ops_ctx *ctx, const struct vl_frame *src, struct vl_frame *dst,
                  enum vl_interp interp, struct vl_error *err);
void vl_cpu_resize_free(struct vl_cpu_resize_state *s);

/* cpu_geometry.c */
void vl_cpu_crop(const struct vl_frame *src, int x, int y, struct vl_frame *dst);
void vl_cpu_flip_horizontal(struct vl_frame *f);
void vl_cpu_rotate(const struct vl_frame *src, struct vl_frame *dst, double degrees);

/* cpu_color.c */
void vl_cpu_color_jitter(struct vl_frame *f, const struct vl_color_jitter *j);
void vl_cpu_yuv_jitter_tables(const struct vl_yuv_frame *src, int x, int y, int w, int h,
                              const struct vl_color_jitter *j, uint8_t ylut[256],
                              uint8_t clut[256]);
void vl_cpu_yuv_crop_flip_map(const struct vl_yuv_frame *src, int x, int y, int flip,
                              const uint8_t ylut[256], const uint8_t clut[256],
                              struct vl_yuv_frame *dst);
void vl_cpu_yuv10_jitter_tables(const struct vl_yuv_frame *src, int x, int y, int w, int h,
                                const struct vl_color_jitter *j, uint16_t ylut[1024],
                                uint16_t clut[1024]);
void vl_cpu_yuv10_crop_flip_map(const struct vl_yuv_frame *src, int x, int y, int flip,
                                const uint16_t ylut[1024], const uint16_t clut[1024],
                                struct vl_yuv_frame *dst);
void vl_cpu_gaussian_noise(struct vl_frame *f, double sigma, uint64_t seed);
int vl_cpu_gaussian_blur(struct vl_ops_ctx *ctx, struct vl_frame *f, double sigma,
                         struct vl_error *err);
void vl_cpu_filter_free(struct vl_cpu_filter_state *s);

/* cpu_convert.c: the table's convert entries (ops.h) */
int vl_cpu_convert_new(struct vl_ops_ctx *ctx, int out_w, int out_h, enum vl_interp interp,
                       struct vl_ops_convert **out, struct vl_error *err);
int vl_cpu_convert_takes(struct vl_ops_ctx *ctx, enum vl_picture_format format, enum vl_mem mem);
int vl_cpu_convert(struct vl_ops_ctx *ctx, struct vl_ops_convert *c, const struct vl_picture *pic,
                   const int crop[4], const int place[4], struct vl_frame *dst,
                   struct vl_error *err);
void vl_cpu_convert_free(struct vl_ops_ctx *ctx, struct vl_ops_convert *c);

/* cpu_features.c */
void vl_cpu_hsv_histogram(const struct vl_frame *f, int bins, float *out);
void vl_cpu_motion(struct vl_ops_ctx *ctx, const struct vl_frame *a, const struct vl_frame *b,
                   struct vl_motion *out);
double vl_cpu_laplacian_variance(struct vl_ops_ctx *ctx, const struct vl_frame *f);
double vl_cpu_edge_density(struct vl_ops_ctx *ctx, const struct vl_frame *f, double threshold);
double vl_cpu_dct_high_ratio(struct vl_ops_ctx *ctx, const struct vl_frame *f);
void vl_cpu_feature_free(struct vl_cpu_feature_state *s);

#endif
