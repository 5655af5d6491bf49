/* augment.c - the `augment` built-in: one augmented clip of a video.
 *
 * Each clip gets ONE random transform, the same for all its frames, drawn
 * from a seed made of the `seed` parameter, the content fingerprint of the
 * source the job descends from and the {copy} index: the same rules give
 * byte-identical clips on any machine, and a shared cache can serve them.
 * Each transform draws from its own generator (seeded from that one seed
 * and the transform's number), so turning one transform on or off does not
 * change what the others draw.
 *
 * Order, per frame: temporal selection (only kept frames are converted),
 * random resized crop, horizontal flip, resize to `size`, rotation, colour
 * jitter, blur, noise (a new noise field each frame).  Frames stream through
 * the chunked reader within the job's memory budget, into clipwriter
 * (Matroska, FFV1 or H.264); buffers are allocated once per job.  Each
 * frame kept is written at its own time in the source (a temporal crop
 * keeps its frames' times, as `ffmpeg -copyts` does).  The default codec,
 * `auto`, keeps the chroma format of a yuv420p or yuvj420p source (FFV1
 * of yuv420p, with the source's colour tags; full range for yuvj) and of
 * a yuv422p or yuvj422p source (FFV1 of yuv422p), of a 10-bit yuv420p10le
 * or yuv422p10le source (FFV1 of the same format: 16-bit samples, tables
 * of 1024 entries), and writes lossless RGB FFV1 for anything else (4:4:4,
 * RGB, other depths...). */
#include "actions/action.h"
#include "actions/media.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"
#include "util/rng.h"
#include "video/clipwriter.h"
#include "video/metacache.h"
#include "video/probe.h"
#include "video/reader.h"

/* The transform drawn for one clip. */
struct plan {
    int crop_x, crop_y, crop_w, crop_h; /* window of the source (display size) */
    int flip;
    int out_w, out_h;
    double angle;                       /* degrees, counter-clockwise; 0: none */
    struct vl_color_jitter jitter;
    int do_jitter;
    double blur_sigma;                  /* 0: none */
    double noise_sigma;
    uint64_t noise_seed;
    int64_t first, span;                /* the contiguous frames kept */
    int stride;
};

/* The generators' numbers: one per transform. */
enum { DRAW_FLIP, DRAW_CROP, DRAW_ROTATE, DRAW_JITTER, DRAW_BLUR, DRAW_NOISE, DRAW_TIME };

static double param(const struct vl_action_job *job, const char *name)
{
    return vl_params_get(job->params, name)->num;
}

static void store_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* The clip's seed: XXH3-128 of (fingerprint, seed, copy), first 8 bytes. */
static uint64_t clip_seed(const struct vl_hash *fingerprint, uint64_t seed, int copy)
{
    uint8_t buf[32];
    memcpy(buf, fingerprint->bytes, 16);
    store_le64(buf + 16, seed);
    store_le64(buf + 24, (uint64_t)(int64_t)copy);
    struct vl_hash h = vl_hash_bytes(buf, sizeof buf);
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | h.bytes[i];
    return v;
}

static void rng_for(struct vl_rng *r, uint64_t base, int which)
{
    vl_rng_seed(r, base + (uint64_t)(which + 1) * 0x9e3779b97f4a7c15ull);
}

/* A factor drawn as torchvision's ColorJitter does: [max(0, 1-x), 1+x]. */
static double jitter_factor(struct vl_rng *r, double x)
{
    return x > 0 ? vl_rng_range(r, x < 1 ? 1 - x : 0, 1 + x) : 1.0;
}

/* Random resized crop as torchvision's RandomResizedCrop.get_params: ten
 * tries at an area share and a log-uniform aspect ratio, then a centre crop
 * of the nearest allowed ratio. */
static void draw_crop(struct vl_rng *r, int w, int h, double s_lo, double s_hi, double r_lo,
                      double r_hi, struct plan *p)
{
    double area = (double)w * h;
    for (int attempt = 0; attempt < 10; attempt++) {
        double target = area * vl_rng_range(r, s_lo, s_hi);
        double aspect = exp(vl_rng_range(r, log(r_lo), log(r_hi)));
        long cw = lround(sqrt(target * aspect)), ch = lround(sqrt(target / aspect));
        if (cw > 0 && cw <= w && ch > 0 && ch <= h) {
            p->crop_w = (int)cw, p->crop_h = (int)ch;
            p->crop_y = (int)floor(vl_rng_uniform(r) * (double)(h - ch + 1));
            p->crop_x = (int)floor(vl_rng_uniform(r) * (double)(w - cw + 1));
            return;
        }
    }
    double in_ratio = (double)w / h;
    p->crop_w = w, p->crop_h = h;
    if (in_ratio < r_lo) p->crop_h = (int)lround(w / r_lo);
    else if (in_ratio > r_hi) p->crop_w = (int)lround(h * r_hi);
    if (p->crop_w < 1) p->crop_w = 1;
    if (p->crop_h < 1) p->crop_h = 1;
    p->crop_x = (w - p->crop_w) / 2, p->crop_y = (h - p->crop_h) / 2;
}

/* Draws the whole transform of one clip of a w x h source of n frames. */
static void draw_plan(const struct vl_action_job *job, uint64_t base, int w, int h, int64_t n,
                      struct plan *p)
{
    struct vl_rng r;
    memset(p, 0, sizeof *p);
    rng_for(&r, base, DRAW_FLIP);
    p->flip = vl_rng_uniform(&r) < param(job, "hflip");

    const struct vl_param_value *crop = vl_params_get(job->params, "crop");
    const struct vl_param_value *ratio = vl_params_get(job->params, "ratio");
    p->crop_w = w, p->crop_h = h;
    rng_for(&r, base, DRAW_CROP);
    if (crop->num < 1 || crop->num2 < 1)
        draw_crop(&r, w, h, crop->num, crop->num2, ratio->num, ratio->num2, p);

    const struct vl_param_value *size = vl_params_get(job->params, "size");
    p->out_w = size->num > 0 ? (int)size->num : p->crop_w;
    p->out_h = size->num2 > 0 ? (int)size->num2 : p->crop_h;

    double deg = param(job, "rotate");
    rng_for(&r, base, DRAW_ROTATE);
    p->angle = deg > 0 ? vl_rng_range(&r, -deg, deg) : 0;

    rng_for(&r, base, DRAW_JITTER);
    p->jitter.brightness = jitter_factor(&r, param(job, "brightness"));
    p->jitter.contrast = jitter_factor(&r, param(job, "contrast"));
    p->jitter.saturation = jitter_factor(&r, param(job, "saturation"));
    double hue = param(job, "hue");
    p->jitter.hue = hue > 0 ? vl_rng_range(&r, -hue, hue) : 0;
    p->do_jitter = p->jitter.brightness != 1 || p->jitter.contrast != 1 ||
                   p->jitter.saturation != 1 || p->jitter.hue != 0;

    double blur = param(job, "blur");
    rng_for(&r, base, DRAW_BLUR);
    p->blur_sigma = blur > 0.1 ? vl_rng_range(&r, 0.1, blur) : blur;

    rng_for(&r, base, DRAW_NOISE);
    p->noise_sigma = param(job, "noise");
    p->noise_seed = vl_rng_next(&r);

    const struct vl_param_value *duration = vl_params_get(job->params, "duration");
    rng_for(&r, base, DRAW_TIME);
    double share = vl_rng_range(&r, duration->num, duration->num2);
    p->span = llround(share * (double)n);
    if (p->span < 1) p->span = 1;
    if (p->span > n) p->span = n;
    p->first = (int64_t)floor(vl_rng_uniform(&r) * (double)(n - p->span + 1));
    p->stride = (int)param(job, "stride");
}

static void log_plan(const struct vl_action_job *job, const struct plan *p,
                     enum vl_clip_codec codec, int yuv)
{
    if (!job->log) return;
    static const char *const names[] = {"ffv1",     "h264",        "ffv1_420",
                                        "ffv1_422", "ffv1_420_10", "ffv1_422_10"};
    vl_strbuf_addf(job->log,
                   "augment %s: frames %lld+%lld/%d, crop %dx%d+%d+%d, flip %d, size %dx%d, "
                   "rotate %.3f, brightness %.4f, contrast %.4f, saturation %.4f, hue %.4f, "
                   "blur %.3f, noise %g, codec %s (%s)\n",
                   job->inputs[0], (long long)p->first, (long long)p->span, p->stride, p->crop_w,
                   p->crop_h, p->crop_x, p->crop_y, p->flip, p->out_w, p->out_h, p->angle,
                   p->jitter.brightness, p->jitter.contrast, p->jitter.saturation, p->jitter.hue,
                   p->blur_sigma, p->noise_sigma, names[codec], yuv ? "yuv path" : "RGB path");
}

/* The per-job working state: frames reused for every frame of the clip. */
struct work {
    const struct vl_ops *ops;
    struct vl_ops_ctx *ctx;
    uint8_t *crop, *sized, *turned;
    int64_t *indices;
    struct vl_reader *reader;
    struct vl_clipwriter *writer;
};

static void work_release(struct work *w)
{
    if (w->ctx) w->ops->ctx_free(w->ctx);
    free(w->crop);
    free(w->sized);
    free(w->turned);
    free(w->indices);
    vl_reader_close(w->reader);
    vl_clipwriter_abort(w->writer);
}

static uint8_t *alloc_frame(int w, int h)
{
    uint8_t *p = malloc((size_t)w * h * 3);
    if (!p) abort();
    return p;
}

/* Transforms one source frame and writes it at pts seconds; index is its
 * rank in the clip. */
static int augment_frame(struct work *w, const struct plan *p, uint8_t *data, int src_w,
                         int src_h, int64_t index, double pts, struct vl_error *err)
{
    struct vl_frame cur = {data, src_w, src_h, VL_MEM_HOST};
    if (p->crop_w != src_w || p->crop_h != src_h) {
        struct vl_frame dst = {w->crop, p->crop_w, p->crop_h, VL_MEM_HOST};
        if (w->ops->crop(w->ctx, &cur, p->crop_x, p->crop_y, &dst, err) < 0) return -1;
        cur = dst;
    }
    if (p->flip && w->ops->flip_horizontal(w->ctx, &cur, err) < 0) return -1;
    if (p->out_w != cur.width || p->out_h != cur.height) {
        struct vl_frame dst = {w->sized, p->out_w, p->out_h, VL_MEM_HOST};
        if (w->ops->resize(w->ctx, &cur, &dst, VL_INTERP_BILINEAR, err) < 0) return -1;
        cur = dst;
    }
    if (p->angle != 0) {
        struct vl_frame dst = {w->turned, cur.width, cur.height, VL_MEM_HOST};
        if (w->ops->rotate(w->ctx, &cur, &dst, p->angle, err) < 0) return -1;
        cur = dst;
    }
    if (p->do_jitter && w->ops->color_jitter(w->ctx, &cur, &p->jitter, err) < 0) return -1;
    if (p->blur_sigma > 0 && w->ops->gaussian_blur(w->ctx, &cur, p->blur_sigma, err) < 0)
        return -1;
    if (p->noise_sigma > 0 &&
        w->ops->gaussian_noise(w->ctx, &cur, p->noise_sigma,
                               p->noise_seed + (uint64_t)index * 0xd1b54a32d192ed03ull, err) < 0)
        return -1;
    if (w->ops->sync(w->ctx, err) < 0) return -1;
    return vl_clipwriter_write_at(w->writer, cur.rgb, pts, err);
}

/* The YUV clip codec that keeps a source's chroma format: FFV1_420 for
 * yuv420p and yuvj420p (the j formats are the same planes in full range),
 * FFV1_422 for yuv422p and yuvj422p, FFV1_420_10 and FFV1_422_10 for
 * yuv420p10le and yuv422p10le; FFV1 (RGB) for any other format. */
static enum vl_clip_codec kept_codec(const char *pix_fmt)
{
    if (!strcmp(pix_fmt, "yuv420p") || !strcmp(pix_fmt, "yuvj420p")) return VL_CLIP_FFV1_420;
    if (!strcmp(pix_fmt, "yuv422p") || !strcmp(pix_fmt, "yuvj422p")) return VL_CLIP_FFV1_422;
    if (!strcmp(pix_fmt, "yuv420p10le")) return VL_CLIP_FFV1_420_10;
    if (!strcmp(pix_fmt, "yuv422p10le")) return VL_CLIP_FFV1_422_10;
    return VL_CLIP_FFV1;
}

/* 1 for the 4:2:0 clip codecs (chroma of half the rows). */
static int half_rows(enum vl_clip_codec codec)
{
    return codec == VL_CLIP_FFV1_420 || codec == VL_CLIP_FFV1_420_10;
}

/* 1 for the 10-bit clip codecs. */
static int ten_bit(enum vl_clip_codec codec)
{
    return codec == VL_CLIP_FFV1_420_10 || codec == VL_CLIP_FFV1_422_10;
}

/* The clip codec: `auto` keeps the source's chroma format (kept_codec)
 * where the clip's sides fit it (even for 4:2:0, an even width for 4:2:2;
 * without `size`, the crop's sides are rounded down to fit: at most one
 * pixel less), else lossless RGB FFV1. */
static enum vl_clip_codec clip_codec(const struct vl_action_job *job,
                                     const struct vl_video_meta *meta, struct plan *p)
{
    const char *name = vl_params_get(job->params, "codec")->text;
    if (!strcmp(name, "h264")) return VL_CLIP_H264;
    if (!strcmp(name, "ffv1_420")) return VL_CLIP_FFV1_420;
    enum vl_clip_codec kept = kept_codec(meta->pix_fmt);
    if (!strcmp(name, "ffv1") || kept == VL_CLIP_FFV1) return VL_CLIP_FFV1;
    int sized = p->out_w != p->crop_w || p->out_h != p->crop_h, rows = half_rows(kept);
    if (!sized && p->crop_w >= 2 && (p->crop_h >= 2 || !rows)) {
        p->crop_w &= ~1;
        if (rows) p->crop_h &= ~1;
        p->out_w = p->crop_w, p->out_h = p->crop_h;
    }
    return p->out_w & 1 || (rows && p->out_h & 1) ? VL_CLIP_FFV1 : kept;
}

/* 1 when the clip can stay in the source's YUV planes from decoder to
 * encoder: FFV1 in the source's chroma format (kept_codec; any colour tags:
 * the clip carries them), not turned, and a transform of crop (even width;
 * even height for 4:2:0), flip and brightness/contrast/saturation only;
 * 10-bit only where the table ops has the optional 10-bit entries (the
 * CPU's).  The crop's corner then moves to the chroma grid (at most one
 * pixel left, and for 4:2:0 up). */
static int yuv_path(enum vl_clip_codec codec, const struct vl_video_meta *meta,
                    const struct vl_ops *ops, struct plan *p)
{
    int rows = half_rows(codec);
    int ok = codec != VL_CLIP_FFV1 && codec == kept_codec(meta->pix_fmt) &&
             (!ten_bit(codec) || (ops->yuv10_jitter_tables && ops->yuv10_crop_flip_map)) &&
             meta->rotation == 0 && p->angle == 0 && p->jitter.hue == 0 && p->blur_sigma <= 0 &&
             p->noise_sigma <= 0 && p->out_w == p->crop_w && p->out_h == p->crop_h &&
             !(p->crop_w & 1) && !(rows && p->crop_h & 1);
    if (ok) {
        p->crop_x &= ~1;
        if (rows) p->crop_y &= ~1;
    }
    return ok;
}

/* The colour tags of a YUV clip: the source's own on the YUV path (the
 * samples are the source's); on the RGB path the matrix and range that the
 * reader converted with, so that converting back by them is the inverse
 * (an untagged source stays untagged: BT.601 limited both ways).  A yuvj
 * source without a range tag is full range (what the j says), so its clip
 * is tagged full range on either path. */
static void clip_tags(const struct vl_video_meta *meta, int yuv, struct vl_clipwriter_opts *wo)
{
    wo->primaries = meta->primaries, wo->transfer = meta->transfer;
    wo->matrix = meta->matrix, wo->range = meta->range;
    if (!strncmp(meta->pix_fmt, "yuvj", 4) && !strcmp(meta->range, "unknown")) wo->range = "pc";
    if (yuv) return;
    if (strcmp(meta->matrix, "unknown")) wo->matrix = meta->rgb_matrix;
    if (strcmp(meta->range, "unknown")) wo->range = meta->rgb_range;
}

/* The YUV path of augment_frame: one pass from the decoded planes (4:2:0
 * or 4:2:2, 8 or 10 bits as codec says) into the encoder's frame. */
static int augment_frame_yuv(struct work *w, const struct plan *p, const struct vl_chunk *c,
                             int full_range, enum vl_clip_codec codec, const char *path,
                             struct vl_error *err)
{
    int chroma_full_height = !half_rows(codec), bytes = ten_bit(codec) ? 2 : 1;
    if (c->chroma_height != (chroma_full_height ? c->height : (c->height + 1) / 2) ||
        c->sample_bytes != bytes)
        return vl_error_set(err, "%s: decoded frames are not %s %d-bit as probed", path,
                            chroma_full_height ? "4:2:2" : "4:2:0", bytes == 2 ? 10 : 8);
    struct vl_yuv_frame src = {{c->plane[0], c->plane[1], c->plane[2]},
                               {c->stride[0], c->stride[1], c->stride[2]},
                               c->width,
                               c->height,
                               full_range,
                               VL_MEM_HOST,
                               chroma_full_height};
    struct vl_yuv_frame dst = {.width = p->crop_w, .height = p->crop_h,
                               .chroma_full_height = chroma_full_height};
    if (vl_clipwriter_next_planes(w->writer, dst.plane, dst.stride, err) < 0) return -1;
    static const struct vl_color_jitter none = {1, 1, 1, 0};
    const struct vl_color_jitter *j = p->do_jitter ? &p->jitter : &none;
    if (bytes == 2) {
        uint16_t ylut[1024], clut[1024];
        if (w->ops->yuv10_jitter_tables(w->ctx, &src, p->crop_x, p->crop_y, p->crop_w,
                                        p->crop_h, j, ylut, clut, err) < 0 ||
            w->ops->sync(w->ctx, err) < 0 ||
            w->ops->yuv10_crop_flip_map(w->ctx, &src, p->crop_x, p->crop_y, p->flip, ylut, clut,
                                        &dst, err) < 0 ||
            w->ops->sync(w->ctx, err) < 0)
            return -1;
        return vl_clipwriter_submit_at(w->writer, c->pts[0], err);
    }
    uint8_t ylut[256], clut[256];
    if (w->ops->yuv_jitter_tables(w->ctx, &src, p->crop_x, p->crop_y, p->crop_w, p->crop_h,
                                  j, ylut, clut, err) < 0 ||
        w->ops->sync(w->ctx, err) < 0 ||
        w->ops->yuv_crop_flip_map(w->ctx, &src, p->crop_x, p->crop_y, p->flip, ylut, clut, &dst,
                                  err) < 0 ||
        w->ops->sync(w->ctx, err) < 0)
        return -1;
    return vl_clipwriter_submit_at(w->writer, c->pts[0], err);
}

int vl_action_augment_run(struct vl_action_job *job, struct vl_error *err)
{
    const char *path = job->inputs[0];
    struct vl_video_meta meta;
    if (vl_video_meta_get(job->state_path, path, &job->input_hashes[0], &meta, err) < 0)
        return -1;
    int rc = 0;

    const struct vl_hash *fingerprint = job->origin_hash ? job->origin_hash : &job->input_hashes[0];
    uint64_t base = clip_seed(fingerprint, (uint64_t)(int64_t)param(job, "seed"), job->copy);
    struct plan p;
    int pix_w, pix_h; /* stored pixels, turned: a non-square-pixel source is kept as stored */
    vl_meta_pixel_size(&meta, &pix_w, &pix_h);
    draw_plan(job, base, pix_w, pix_h, meta.frames, &p);
    enum vl_clip_codec codec = clip_codec(job, &meta, &p);

    struct vl_ops_ctx_opts ctx_opts;
    struct work w = {.ops = vl_ops_for_job(job, &ctx_opts, err)};
    if (!w.ops) return -1;
    int yuv = yuv_path(codec, &meta, w.ops, &p);
    log_plan(job, &p, codec, yuv);
    if (w.ops->ctx_new(&ctx_opts, &w.ctx, err) < 0) return -1;
    size_t out_bytes = (size_t)p.out_w * p.out_h * 3;
    size_t own = yuv ? 0 : (size_t)p.crop_w * p.crop_h * 3 + 2 * out_bytes;
    if (!yuv) {
        w.crop = alloc_frame(p.crop_w, p.crop_h);
        w.sized = alloc_frame(p.out_w, p.out_h);
        w.turned = alloc_frame(p.out_w, p.out_h);
    }

    struct vl_reader_opts ro = {.threads = 1,
                                .layout = yuv ? VL_FRAMES_YUV_REF : VL_FRAMES_RGB24};
    uint64_t budget = job->memory_budget ? job->memory_budget : VL_READER_DEFAULT_BUDGET;
    ro.memory_budget = budget > own ? budget - own : 1; /* 1: one frame a chunk */
    /* Frames are transformed one at a time, so big chunks buy nothing: four
     * frames a chunk keep the job's memory small whatever the budget. */
    uint64_t few = (uint64_t)pix_w * pix_h * 3 * 4;
    if (ro.memory_budget > few) ro.memory_budget = few;
    if (p.first != 0 || p.span != meta.frames || p.stride != 1) {
        size_t n = (size_t)((p.span + p.stride - 1) / p.stride);
        w.indices = malloc(n * sizeof *w.indices);
        if (!w.indices) abort();
        for (size_t i = 0; i < n; i++) w.indices[i] = p.first + (int64_t)i * p.stride;
        ro.indices = w.indices;
        ro.n_indices = n;
    }
    rc = vl_reader_open(path, &ro, &w.reader, err);
    int src_w = 0, src_h = 0, rotation = 0;
    if (rc == 0) {
        vl_reader_geometry(w.reader, &src_w, &src_h, &rotation);
        if (src_w != pix_w || src_h != pix_h)
            rc = vl_error_set(err, "%s: decoded size %dx%d differs from the probed %dx%d", path,
                              src_w, src_h, pix_w, pix_h);
    }
    struct vl_clipwriter_opts wo = {
        .codec = codec,
        .width = p.out_w,
        .height = p.out_h,
        .fps_num = meta.avg_fps_num > 0 ? meta.avg_fps_num : meta.r_fps_num > 0 ? meta.r_fps_num : 25,
        .fps_den = meta.avg_fps_num > 0 ? meta.avg_fps_den : meta.r_fps_num > 0 ? meta.r_fps_den : 1,
        .crf = (int)param(job, "crf"),
        .threads = 1,
    };
    wo.fps_den *= p.stride;
    clip_tags(&meta, yuv, &wo);
    if (rc == 0) rc = vl_clipwriter_open(job->outputs[0], &wo, &w.writer, err);

    int64_t written = 0;
    struct vl_chunk chunk;
    int n;
    while (rc == 0 && (n = vl_reader_next_chunk(w.reader, &chunk, err)) != 0) {
        if (n < 0) {
            rc = -1;
            break;
        }
        for (int i = 0; i < n && rc == 0; i++) {
            if (vl_action_cancelled(job)) {
                rc = vl_error_set(err, "%s: interrupted", path);
                break;
            }
            rc = yuv ? augment_frame_yuv(&w, &p, &chunk, !strcmp(meta.rgb_range, "pc"), codec,
                                         path, err)
                     : augment_frame(&w, &p, chunk.data + (size_t)i * chunk.frame_bytes,
                                     chunk.width, chunk.height, written, chunk.pts[i], err);
            written++;
        }
    }
    if (rc == 0 && written == 0) rc = vl_error_set(err, "%s: no frame could be decoded", path);
    if (rc == 0) {
        struct vl_clipwriter *writer = w.writer;
        w.writer = NULL;
        rc = vl_clipwriter_close(writer, err);
    }
    work_release(&w);
    return rc;
}
