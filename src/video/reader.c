/* reader.c - chunked decoding within a memory budget.
 *
 * Frame indices: with no index set, the n-th frame the decoder returns is
 * frame n (presentation order, after libavcodec drops the frames of packets
 * an edit list discards).  With an index set, the reader first demuxes the
 * stream once (no decoding) to learn every frame's pts and the keyframes;
 * after a seek, a frame's index is the rank of its pts among them.
 *
 * Seeking: when the keyframe at or before the next wanted frame lies more
 * than SEEK_GAP frames ahead of the decoding position, the reader seeks to
 * it (AVSEEK_FLAG_BACKWARD) instead of decoding through.  Frames that are
 * not wanted are decoded (they may be references) but never converted;
 * for H.264 and HEVC with one decoder thread, a packet whose pts is not
 * wanted is decoded with skip_frame = AVDISCARD_NONREF, so the frames no
 * other frame refers to (most B-frames) are not decoded at all.  Frame
 * indices then always come from the pts table.
 *
 * Geometry: scaling, cropping and padding happen in the one swscale pass
 * that converts to RGB (to planar GBR when that gives the same bytes, see
 * planar_is_exact, then interleaved).  A crop moves the source plane pointers (as
 * libavfilter's crop does, the corner rounded down to the chroma grid);
 * padding scales into a rectangle of the output and blackens the rest.
 * Both rectangles are planned in display coordinates and mapped back to the
 * stored picture when a display matrix turns it.  Formats whose planes
 * cannot be offset (palettes, bitstreams) are converted whole first.
 *
 * Colour: every conversion to RGB uses the matrix and range the decoded
 * frame is tagged with, chosen as ffmpeg's scale filter chooses them (see
 * set_colour), through swscale's own coefficients; transfers (HDR PQ, HLG)
 * are not tone mapped.  The aspect ratio a crop or letterbox keeps is the
 * display aspect: stored size times the sample aspect ratio.
 *
 * Memory: a chunk holds budget / frame_bytes frames (at least 1) and its
 * buffer grows only as frames arrive, so a short clip does not reserve the
 * whole budget.  The decoder's own reference frames come on top. */
#include "video/reader.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "video/probe.h"

#define SEEK_GAP 32
/* swscale's SIMD output loops may write a little past the last row */
#define SWS_SLACK(r) ((size_t)(r)->conv_w * 3 + 256)

struct vl_reader {
    char *path;
    struct vl_reader_opts opts;
    AVFormatContext *fmt;
    AVStream *st;
    AVCodecContext *dec;
    AVPacket *pkt;
    AVFrame *frame;
    AVFrame *held;                /* VL_FRAMES_YUV420P_REF: the frame handed out */
    struct SwsContext *sws;
    struct SwsContext *sws_whole; /* to RGB at the source size, for formats not cropped in place */
    int planar;                   /* 1: scale to planar GBR, then interleave (same bytes, faster) */
    uint8_t *planes;              /* G, B, R planes of one picture, planes_stride a row */
    size_t planes_size;
    uint8_t *rows;        /* packed RGB24 rows at a 16-pixel stride (see convert) */
    size_t rows_size;
    int planes_stride;
    uint8_t *whole;
    int src_w, src_h, src_fmt;    /* the source the geometry below was planned for */
    int crop[4];                  /* x, y, w, h of the source used, stored pixels */
    int place[4];                 /* where it lands in the sws output (before rotation) */
    int place_shown[4];           /* the same in display coordinates */
    int convert_whole;            /* 1: convert the whole frame to RGB, then crop that */
    int rotation;
    AVRational sar;               /* sample aspect ratio, 1:1 when unknown */
    int colour_cs, colour_range;  /* the tags the conversion was last set for */
    int colour_dirty;             /* 1: set the contexts' colour before the next conversion */
    double last_pts;              /* time of the last frame decoded */
    int have_last_pts;
    int out_w, out_h;       /* after rotation */
    int conv_w, conv_h;     /* sws output, before rotation */
    size_t frame_bytes;
    int capacity;           /* frames per chunk */
    int allocated;          /* frames the chunk buffers currently hold room for */
    uint8_t *data, *rgb;    /* chunk frames; one RGB frame before rotation/float */
    double *pts;
    int64_t *index;
    int demux_eof, flushed, done;
    int64_t next_index;     /* index of the next frame the decoder returns */
    int indexed_by_pts;     /* after a seek, frame indices come from the pts table */
    int64_t *pts_table;     /* sorted pts of every frame (index set only) */
    uint8_t *key_table;     /* 1 where pts_table[i] is a keyframe */
    size_t n_table;
    size_t want_pos;        /* next entry of opts.indices to deliver */
    size_t seek_checked;    /* want_pos + 1 once a seek was considered for it */
    int skip_unwanted;      /* unwanted non-reference frames are not decoded */
    int drain_next;         /* the next feed drains the decoder instead of reading */
    int drained_early;      /* drained before the end of the stream, to seek next */
    int force_seek;         /* seek to the next wanted frame's keyframe, however close */
    size_t drained_for;     /* want_pos + 1 when the drain was started for it */
    size_t no_drain;        /* want_pos + 1 of a frame a drain did not bring out: no more
                               drains for it (a damaged frame), decode on as without */
    struct vl_reader_stats stats;
};

static int av_fail(struct vl_error *err, const char *path, const char *what, int code)
{
    char buf[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(code, buf, sizeof buf);
    return vl_error_set(err, "%s: %s (%s)", path, what, buf);
}

static int counted(const AVPacket *p)
{
    return p->size > 0 && !(p->flags & AV_PKT_FLAG_DISCARD);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Demuxes the stream once, with a context of its own (rewinding the main
 * one is not exact with edit lists), to learn each frame's pts and the
 * keyframes.  Leaves n_table 0 (no seeking) when some packet lacks a pts. */
static int build_pts_table(struct vl_reader *r, struct vl_error *err)
{
    AVFormatContext *fmt = NULL;
    int e = avformat_open_input(&fmt, r->path, NULL, NULL);
    if (e < 0) return av_fail(err, r->path, "not a readable media file", e);
    int idx = r->st->index;
    if ((unsigned)idx >= fmt->nb_streams) { /* cannot happen: same file, same demuxer */
        avformat_close_input(&fmt);
        return vl_error_set(err, "%s: stream %d vanished", r->path, idx);
    }
    for (unsigned i = 0; i < fmt->nb_streams; i++)
        if ((int)i != idx) fmt->streams[i]->discard = AVDISCARD_ALL;
    size_t cap = 1024, n = 0, n_keys = 0;
    int64_t *pts = malloc(cap * sizeof *pts), *keys = malloc(cap * sizeof *keys);
    int usable = 1;
    if (!pts || !keys) abort();
    while (av_read_frame(fmt, r->pkt) >= 0) { /* EOF or damage: decoding meets it again */
        if (r->pkt->stream_index == idx && counted(r->pkt)) {
            if (r->pkt->pts == AV_NOPTS_VALUE) usable = 0;
            if (n == cap) {
                cap *= 2;
                if (!(pts = realloc(pts, cap * sizeof *pts)) ||
                    !(keys = realloc(keys, cap * sizeof *keys)))
                    abort();
            }
            pts[n++] = r->pkt->pts;
            if (r->pkt->flags & AV_PKT_FLAG_KEY) keys[n_keys++] = r->pkt->pts;
        }
        av_packet_unref(r->pkt);
    }
    avformat_close_input(&fmt);
    if (usable && n > 0) {
        qsort(pts, n, sizeof *pts, cmp_i64);
        r->key_table = calloc(n, 1);
        if (!r->key_table) abort();
        for (size_t k = 0; k < n_keys; k++) {
            int64_t *hit = bsearch(&keys[k], pts, n, sizeof *pts, cmp_i64);
            if (hit) r->key_table[hit - pts] = 1;
        }
        r->pts_table = pts;
        r->n_table = n;
    } else {
        free(pts);
    }
    free(keys);
    return 0;
}

int vl_reader_open(const char *path, const struct vl_reader_opts *opts, struct vl_reader **out,
                   struct vl_error *err)
{
    struct vl_reader *r = calloc(1, sizeof *r);
    if (!r) abort();
    *out = NULL;
    r->path = strdup(path);
    r->opts = *opts;
    if (!r->opts.memory_budget) r->opts.memory_budget = VL_READER_DEFAULT_BUDGET;
    if (r->opts.threads <= 0) r->opts.threads = 1;
    int e = avformat_open_input(&r->fmt, path, NULL, NULL);
    if (e < 0) {
        av_fail(err, path, "not a readable media file", e);
        goto fail;
    }
    if ((e = avformat_find_stream_info(r->fmt, NULL)) < 0) {
        av_fail(err, path, "cannot read stream parameters", e);
        goto fail;
    }
    const AVCodec *codec = NULL;
    int idx = av_find_best_stream(r->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (idx < 0) {
        vl_error_set(err, "%s: no video stream", path);
        goto fail;
    }
    if (!codec) {
        vl_error_set(err, "%s: no decoder for %s in this FFmpeg build", path,
                     avcodec_get_name(r->fmt->streams[idx]->codecpar->codec_id));
        goto fail;
    }
    r->st = r->fmt->streams[idx];
    for (unsigned i = 0; i < r->fmt->nb_streams; i++)
        if ((int)i != idx) r->fmt->streams[i]->discard = AVDISCARD_ALL;
    r->dec = avcodec_alloc_context3(codec);
    r->pkt = av_packet_alloc();
    r->frame = av_frame_alloc();
    if (!r->dec || !r->pkt || !r->frame) abort();
    avcodec_parameters_to_context(r->dec, r->st->codecpar);
    r->dec->thread_count = r->opts.threads;
    r->dec->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
    r->dec->pkt_timebase = r->st->time_base;
    if ((e = avcodec_open2(r->dec, codec, NULL)) < 0) {
        av_fail(err, path, "cannot open the decoder", e);
        goto fail;
    }
    if (r->dec->width <= 0 || r->dec->height <= 0) {
        vl_error_set(err, "%s: video stream %d has no picture size (corrupt header)", path, idx);
        goto fail;
    }
    r->rotation = vl_probe_rotation(r->st);
    int swap = r->rotation == 90 || r->rotation == 270;
    r->out_w = r->opts.width > 0 ? r->opts.width : swap ? r->dec->height : r->dec->width;
    r->out_h = r->opts.height > 0 ? r->opts.height : swap ? r->dec->width : r->dec->height;
    r->conv_w = swap ? r->out_h : r->out_w;
    r->conv_h = swap ? r->out_w : r->out_h;
    r->src_fmt = -1;
    r->sar = av_guess_sample_aspect_ratio(r->fmt, r->st, NULL);
    if (r->sar.num <= 0 || r->sar.den <= 0) r->sar = (AVRational){1, 1};
    r->place_shown[2] = r->out_w, r->place_shown[3] = r->out_h;
    size_t pixels = (size_t)r->out_w * r->out_h;
    r->frame_bytes = r->opts.layout == VL_FRAMES_F32_PLANAR ? pixels * 3 * sizeof(float)
                     : r->opts.layout == VL_FRAMES_YUV420P
                         ? pixels + 2 * (size_t)((r->out_w + 1) / 2) * ((r->out_h + 1) / 2)
                         : pixels * 3;
    if ((r->opts.layout == VL_FRAMES_YUV420P || r->opts.layout == VL_FRAMES_YUV420P_REF) &&
        (r->rotation || r->out_w != r->dec->width || r->out_h != r->dec->height)) {
        vl_error_set(err, "%s: yuv420p frames are delivered only unscaled and unturned", path);
        goto fail;
    }
    uint64_t cap = r->opts.memory_budget / r->frame_bytes;
    r->capacity = cap < 1 ? 1 : cap > 1 << 20 ? 1 << 20 : (int)cap;
    if (r->opts.layout == VL_FRAMES_YUV420P_REF) {
        r->capacity = 1, r->frame_bytes = 0;
        if (!(r->held = av_frame_alloc())) abort();
    }
    if (r->opts.indices && (e = build_pts_table(r, err)) < 0) goto fail;
    enum AVCodecID id = r->st->codecpar->codec_id;
    r->skip_unwanted = r->n_table > 0 && r->opts.threads == 1 &&
                       (id == AV_CODEC_ID_H264 || id == AV_CODEC_ID_HEVC);
    if (r->skip_unwanted) r->indexed_by_pts = 1; /* skipped frames break counting */
    *out = r;
    return 0;
fail:
    vl_reader_close(r);
    return -1;
}

/* Makes room for frame slot n of the chunk. */
static void reserve(struct vl_reader *r, int n)
{
    if (n < r->allocated) return;
    int grow = r->allocated ? r->allocated * 2 : 4;
    if (grow > r->capacity) grow = r->capacity;
    if (!(r->data = realloc(r->data, (size_t)grow * r->frame_bytes + SWS_SLACK(r))) ||
        !(r->pts = realloc(r->pts, (size_t)grow * sizeof *r->pts)) ||
        !(r->index = realloc(r->index, (size_t)grow * sizeof *r->index)))
        abort();
    r->allocated = grow;
}

/* Turns an RGB24 picture of w x h clockwise by rot degrees into dst. */
static void rotate_rgb(const uint8_t *src, int w, int h, int rot, uint8_t *dst)
{
    int dw = rot == 180 ? w : h;
    for (int y = 0; y < h; y++) {
        const uint8_t *s = src + (size_t)y * w * 3;
        for (int x = 0; x < w; x++, s += 3) {
            int dx, dy;
            if (rot == 90) dx = h - 1 - y, dy = x;
            else if (rot == 270) dx = y, dy = w - 1 - x;
            else dx = w - 1 - x, dy = h - 1 - y;
            uint8_t *d = dst + ((size_t)dy * dw + dx) * 3;
            d[0] = s[0], d[1] = s[1], d[2] = s[2];
        }
    }
}

/* Maps rectangle d (x, y, w, h) of a picture shown turned clockwise by rot
 * back to the stored picture of cw x ch pixels (the inverse of rotate_rgb). */
static void unturn_rect(const int d[4], int rot, int cw, int ch, int out[4])
{
    int r[4] = {d[0], d[1], d[2], d[3]};
    if (rot == 90) r[0] = d[1], r[1] = ch - d[0] - d[2], r[2] = d[3], r[3] = d[2];
    else if (rot == 270) r[0] = cw - d[1] - d[3], r[1] = d[0], r[2] = d[3], r[3] = d[2];
    else if (rot == 180) r[0] = cw - d[0] - d[2], r[1] = ch - d[1] - d[3];
    memcpy(out, r, sizeof r);
}

static int clamp_int(long v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : (int)v;
}

/* Plans the crop and placement of frames like f (recomputed only when the
 * source size or format changes, which is rare). */
static void plan_geometry(struct vl_reader *r, const AVFrame *f)
{
    int swap = r->rotation == 90 || r->rotation == 270;
    int sw = swap ? f->height : f->width, sh = swap ? f->width : f->height;
    int w = r->out_w, h = r->out_h;
    int crop[4] = {0, 0, sw, sh}, place[4] = {0, 0, w, h};
    /* the width and height of a stored pixel on screen (the sample aspect
     * ratio widens stored columns, which a quarter turn makes rows) */
    double ax = swap ? 1 : av_q2d(r->sar), ay = swap ? av_q2d(r->sar) : 1;
    double dw = sw * ax, dh = sh * ay; /* the display size */
    if (r->opts.fit == VL_READER_CROP) {
        double s = (double)w / dw > (double)h / dh ? (double)w / dw : (double)h / dh;
        crop[2] = clamp_int(lround(w / (s * ax)), 1, sw);
        crop[3] = clamp_int(lround(h / (s * ay)), 1, sh);
        crop[0] = (sw - crop[2]) / 2, crop[1] = (sh - crop[3]) / 2;
    } else if (r->opts.fit == VL_READER_LETTERBOX) {
        double s = (double)w / dw < (double)h / dh ? (double)w / dw : (double)h / dh;
        place[2] = clamp_int(lround(dw * s), 1, w);
        place[3] = clamp_int(lround(dh * s), 1, h);
        place[0] = (w - place[2]) / 2, place[1] = (h - place[3]) / 2;
    } else if (r->opts.place_w > 0 && r->opts.place_h > 0) {
        place[2] = r->opts.place_w < w ? r->opts.place_w : w;
        place[3] = r->opts.place_h < h ? r->opts.place_h : h;
    }
    memcpy(r->place_shown, place, sizeof place);
    unturn_rect(crop, r->rotation, f->width, f->height, r->crop);
    unturn_rect(place, r->rotation, r->conv_w, r->conv_h, r->place);
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get((enum AVPixelFormat)f->format);
    int cropped = r->crop[2] != f->width || r->crop[3] != f->height;
    r->convert_whole = cropped && (!d || (d->flags & (AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_BITSTREAM |
                                                      AV_PIX_FMT_FLAG_HWACCEL)));
    if (cropped && !r->convert_whole) { /* the corner on the chroma grid, as vf_crop does */
        r->crop[0] &= ~((1 << d->log2_chroma_w) - 1);
        r->crop[1] &= ~((1 << d->log2_chroma_h) - 1);
    }
    r->src_w = f->width, r->src_h = f->height, r->src_fmt = f->format;
    r->colour_dirty = 1; /* the contexts may be new */
    free(r->whole);
    r->whole = NULL;
}

/* Points src at the crop rectangle of f's planes. */
static void crop_planes(const struct vl_reader *r, const AVFrame *f, const uint8_t *src[4])
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get((enum AVPixelFormat)f->format);
    int rgb = (d->flags & AV_PIX_FMT_FLAG_RGB) != 0;
    for (int p = 0; p < 4; p++) {
        src[p] = f->data[p];
        if (!f->data[p]) continue;
        int c = 0;
        while (c < d->nb_components && d->comp[c].plane != p) c++;
        if (c == d->nb_components) continue;
        int chroma = !rgb && (c == 1 || c == 2);
        int x = chroma ? r->crop[0] >> d->log2_chroma_w : r->crop[0];
        int y = chroma ? r->crop[1] >> d->log2_chroma_h : r->crop[1];
        src[p] += (ptrdiff_t)y * f->linesize[p] + (ptrdiff_t)x * d->comp[c].step;
    }
}

/* Blackens what lies outside the placed picture of an RGB24 image. */
static void blacken_outside(uint8_t *img, int w, int h, const int place[4])
{
    if (place[0] == 0 && place[1] == 0 && place[2] == w && place[3] == h) return;
    size_t row = (size_t)w * 3;
    memset(img, 0, (size_t)place[1] * row);
    for (int y = place[1]; y < place[1] + place[3]; y++) {
        uint8_t *line = img + (size_t)y * row;
        memset(line, 0, (size_t)place[0] * 3);
        memset(line + (size_t)(place[0] + place[2]) * 3, 0, (size_t)(w - place[0] - place[2]) * 3);
    }
    memset(img + (size_t)(place[1] + place[3]) * row, 0, (size_t)(h - place[1] - place[3]) * row);
}

/* Sets sws's conversion from YUV to the matrix and range f is tagged with,
 * as ffmpeg's scale filter does with its default in_color_matrix=auto
 * (libavfilter/vf_scale.c): swscale's coefficients of f->colorspace, BT.601
 * (SMPTE 170M) for an untagged stream and for values swscale has none for
 * (RGB, YCgCo), the same table for the output side; the input range from
 * f->color_range when tagged, else swscale's own choice (full range for the
 * yuvj formats, limited otherwise); the output range left as swscale has it.
 * Nothing is done about the transfer: no tone mapping. */
static void set_colour(struct SwsContext *sws, const AVFrame *f)
{
    int *inv, *table, src_full, dst_full, brightness, contrast, saturation;
    if (!sws || sws_getColorspaceDetails(sws, &inv, &src_full, &table, &dst_full, &brightness,
                                         &contrast, &saturation) < 0)
        return;
    inv = table = (int *)sws_getCoefficients(vl_probe_rgb_matrix(f->colorspace));
    if (f->color_range != AVCOL_RANGE_UNSPECIFIED) src_full = f->color_range == AVCOL_RANGE_JPEG;
    sws_setColorspaceDetails(sws, inv, src_full, table, dst_full, brightness, contrast,
                             saturation);
}

/* The interpolation; when scaling, chroma is interpolated at full output
 * width (without it, RGB output takes chroma at half width and a sharp
 * colour edge is off by up to 80 levels against convert-then-scale). */
static int sws_flags(enum vl_reader_interp interp, int scaling)
{
    int flags = interp == VL_READER_AREA       ? SWS_AREA
                : interp == VL_READER_BILINEAR ? SWS_BILINEAR
                                               : SWS_BICUBIC;
    return scaling ? flags | SWS_FULL_CHR_H_INT : flags;
}

/* Interleaves planes G, B, R (stride gstride) of w x h into packed RGB24. */
static void interleave_gbr(const uint8_t *g, const uint8_t *b, const uint8_t *rp, int gstride,
                           int w, int h, uint8_t *dst, int dst_stride)
{
    for (int y = 0; y < h; y++) {
        const uint8_t *restrict gr = g + (size_t)y * gstride, *restrict br = b + (size_t)y * gstride,
                                *restrict rr = rp + (size_t)y * gstride;
        uint8_t *restrict d = dst + (size_t)y * dst_stride;
        for (int x = 0; x < w; x++) d[3 * x] = rr[x], d[3 * x + 1] = gr[x], d[3 * x + 2] = br[x];
    }
}

/* 1 when swscale gives the same bytes scaling sw x sh of fmt to dw x dh in
 * planar GBR (then interleaved) as in packed RGB24, checked once per
 * geometry on a picture of fixed pseudo-random bytes.  The two share every
 * step and their final yuv-to-RGB arithmetic (full-resolution chroma) is
 * the same, but swscale has SIMD code only for the planar one, which is
 * about twice as fast; for packed RGB24 it also picks special one- and
 * two-tap vertical paths (upscaling, near 1:1) that round differently, and
 * then this says no and the packed conversion is kept. */
static int planar_is_exact(int sw, int sh, enum AVPixelFormat fmt, int dw, int dh, int flags,
                           const AVFrame *colour)
{
    struct SwsContext *packed = sws_getContext(sw, sh, fmt, dw, dh, AV_PIX_FMT_RGB24, flags,
                                               NULL, NULL, NULL);
    struct SwsContext *planar = sws_getContext(sw, sh, fmt, dw, dh, AV_PIX_FMT_GBRP, flags,
                                               NULL, NULL, NULL);
    set_colour(packed, colour);
    set_colour(planar, colour);
    uint8_t *src[4] = {0};
    int src_stride[4];
    int size = packed && planar ? av_image_alloc(src, src_stride, sw + 64, sh + 2, fmt, 64) : -1;
    int exact = 0;
    if (size > 0) {
        uint64_t x = 0x9e3779b97f4a7c15ull; /* xorshift64: the same picture every time */
        for (int i = 0; i < size; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            src[0][i] = (uint8_t)(x >> 32);
        }
        int stride = (dw + 63) & ~63;
        size_t plane = (size_t)stride * dh + 256, rgb = (size_t)dw * 3 * dh;
        uint8_t *buf = malloc(3 * plane + 2 * rgb + (size_t)dw * 3 + 256);
        if (!buf) abort();
        uint8_t *out[4] = {buf, buf + plane, buf + 2 * plane}, *a = buf + 3 * plane, *b = a + rgb;
        int out_stride[4] = {stride, stride, stride}, a_stride[4] = {dw * 3};
        sws_scale(planar, (const uint8_t *const *)src, src_stride, 0, sh, out, out_stride);
        interleave_gbr(out[0], out[1], out[2], stride, dw, dh, b, dw * 3);
        sws_scale(packed, (const uint8_t *const *)src, src_stride, 0, sh, (uint8_t *[4]){a},
                  a_stride);
        exact = !memcmp(a, b, rgb);
        free(buf);
        av_freep(&src[0]);
    }
    sws_freeContext(packed);
    sws_freeContext(planar);
    return exact;
}

/* Copies the decoded yuv420p planes into chunk slot n (or keeps the frame
 * itself, VL_FRAMES_YUV420P_REF). */
static int copy_yuv420p(struct vl_reader *r, int n, struct vl_error *err)
{
    AVFrame *f = r->frame;
    if (f->format != AV_PIX_FMT_YUV420P || f->width != r->out_w || f->height != r->out_h)
        return vl_error_set(err, "%s: a %dx%d %s frame where %dx%d yuv420p was expected",
                            r->path, f->width, f->height,
                            av_get_pix_fmt_name((enum AVPixelFormat)f->format), r->out_w,
                            r->out_h);
    if (r->held) {
        av_frame_unref(r->held);
        av_frame_move_ref(r->held, f);
        return 0;
    }
    uint8_t *y = r->data + (size_t)n * r->frame_bytes;
    int cw = (f->width + 1) / 2, ch = (f->height + 1) / 2;
    uint8_t *u = y + (size_t)f->width * f->height, *v = u + (size_t)cw * ch;
    av_image_copy_plane(y, f->width, f->data[0], f->linesize[0], f->width, f->height);
    av_image_copy_plane(u, cw, f->data[1], f->linesize[1], cw, ch);
    av_image_copy_plane(v, cw, f->data[2], f->linesize[2], cw, ch);
    return 0;
}

/* Converts the decoded frame into chunk slot n. */
static int convert(struct vl_reader *r, int n, struct vl_error *err)
{
    AVFrame *f = r->frame;
    if (r->opts.layout == VL_FRAMES_YUV420P || r->held) return copy_yuv420p(r, n, err);
    int scaling;
    if (f->width != r->src_w || f->height != r->src_h || f->format != r->src_fmt) {
        plan_geometry(r, f);
        scaling = r->crop[2] != r->place[2] || r->crop[3] != r->place[3];
        r->planar = scaling && planar_is_exact(r->crop[2], r->crop[3],
                                               r->convert_whole ? AV_PIX_FMT_RGB24 : (enum AVPixelFormat)f->format,
                                               r->place[2], r->place[3],
                                               sws_flags(r->opts.interp, 1), f);
    }
    if ((int)f->colorspace != r->colour_cs || (int)f->color_range != r->colour_range)
        r->colour_dirty = 1;
    const uint8_t *src[4] = {0};
    int src_stride[4] = {0};
    enum AVPixelFormat src_fmt = (enum AVPixelFormat)f->format;
    if (r->convert_whole) {
        r->sws_whole = sws_getCachedContext(r->sws_whole, f->width, f->height, src_fmt, f->width,
                                            f->height, AV_PIX_FMT_RGB24, SWS_BICUBIC, NULL, NULL,
                                            NULL);
        if (!r->sws_whole)
            return vl_error_set(err, "%s: cannot convert %dx%d frames to RGB", r->path, f->width,
                                f->height);
        if (r->colour_dirty) set_colour(r->sws_whole, f);
        if (!r->whole && !(r->whole = malloc((size_t)f->width * (f->height + 1) * 3 + 256)))
            abort();
        uint8_t *dst[4] = {r->whole};
        int stride[4] = {f->width * 3};
        sws_scale(r->sws_whole, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst,
                  stride);
        src[0] = r->whole + ((size_t)r->crop[1] * f->width + r->crop[0]) * 3;
        src_stride[0] = f->width * 3;
        src_fmt = AV_PIX_FMT_RGB24;
    } else {
        crop_planes(r, f, src);
        memcpy(src_stride, f->linesize, sizeof src_stride);
    }
    scaling = r->crop[2] != r->place[2] || r->crop[3] != r->place[3];
    r->sws = sws_getCachedContext(r->sws, r->crop[2], r->crop[3], src_fmt, r->place[2],
                                  r->place[3], r->planar ? AV_PIX_FMT_GBRP : AV_PIX_FMT_RGB24,
                                  sws_flags(r->opts.interp, scaling), NULL, NULL, NULL);
    if (!r->sws)
        return vl_error_set(err, "%s: cannot convert %dx%d frames to RGB", r->path, f->width,
                            f->height);
    if (r->colour_dirty) {
        set_colour(r->sws, f);
        r->colour_cs = f->colorspace, r->colour_range = f->color_range, r->colour_dirty = 0;
    }
    uint8_t *slot = r->data + (size_t)n * r->frame_bytes;
    int direct = r->rotation == 0 && r->opts.layout == VL_FRAMES_RGB24;
    int is_float = r->opts.layout == VL_FRAMES_F32_PLANAR;
    size_t rgb_bytes = (size_t)r->out_w * r->out_h * 3;
    /* scratch: the converted picture, and its turned copy when that is
     * not written straight into the slot */
    if (!direct && !r->rgb &&
        !(r->rgb = malloc(rgb_bytes * (r->rotation && is_float ? 2 : 1) + SWS_SLACK(r))))
        abort();
    uint8_t *base = direct ? slot : r->rgb;
    /* rows written past their end land in the black bars (blackened after)
     * or in the next slot (written later); the buffers end with slack */
    uint8_t *dst[4] = {base + ((size_t)r->place[1] * r->conv_w + r->place[0]) * 3};
    int stride[4] = {r->conv_w * 3};
    if (r->planar) {
        int ps = (r->place[2] + 63) & ~63;
        size_t plane = (size_t)ps * r->place[3] + 256; /* slack: SIMD rows overrun */
        if (r->planes_size < 3 * plane || r->planes_stride != ps) {
            free(r->planes);
            if (!(r->planes = malloc(3 * plane))) abort();
            r->planes_size = 3 * plane, r->planes_stride = ps;
        }
        uint8_t *pl[4] = {r->planes, r->planes + plane, r->planes + 2 * plane};
        int pstride[4] = {ps, ps, ps};
        sws_scale(r->sws, src, src_stride, 0, r->crop[3], pl, pstride);
        interleave_gbr(pl[0], pl[1], pl[2], ps, r->place[2], r->place[3], dst[0], stride[0]);
        r->stats.planar++;
    } else if (r->place[2] % 16) {
        /* swscale's yuv420p converters write both rows of a pair in blocks
         * of 8 pixels, so the tail of the first row, computed from chroma
         * padding the decoder left uninitialised, overwrites the head of
         * the second: convert at a 16-pixel stride and copy the rows. */
        int ps = ((r->place[2] + 15) & ~15) * 3;
        size_t need = (size_t)ps * (r->place[3] + 1) + 256;
        if (r->rows_size < need) {
            free(r->rows);
            if (!(r->rows = malloc(need))) abort();
            r->rows_size = need;
        }
        sws_scale(r->sws, src, src_stride, 0, r->crop[3], (uint8_t *[4]){r->rows}, (int[4]){ps});
        av_image_copy_plane(dst[0], stride[0], r->rows, ps, r->place[2] * 3, r->place[3]);
    } else {
        sws_scale(r->sws, src, src_stride, 0, r->crop[3], dst, stride);
    }
    blacken_outside(base, r->conv_w, r->conv_h, r->place);
    if (direct) return 0;
    const uint8_t *rgb = r->rgb;
    if (r->rotation) {
        uint8_t *turned = is_float ? r->rgb + rgb_bytes : slot;
        rotate_rgb(r->rgb, r->conv_w, r->conv_h, r->rotation, turned);
        rgb = turned;
    }
    if (r->opts.layout == VL_FRAMES_F32_PLANAR) {
        size_t pixels = (size_t)r->out_w * r->out_h;
        float *planes = (float *)slot;
        for (size_t i = 0; i < pixels; i++)
            for (int c = 0; c < 3; c++) planes[c * pixels + i] = rgb[3 * i + c] * (1.0f / 255);
    }
    return 0;
}

/* Time of the frame just decoded in seconds: its best-effort timestamp,
 * else (AVI with B-frames leaves the last ones without) the previous
 * frame's time plus this frame's duration or one frame at the stream's
 * rate; the stream's start for a first frame without one. */
static double frame_time(struct vl_reader *r)
{
    const AVFrame *f = r->frame;
    double tb = av_q2d(r->st->time_base);
    double t;
    if (f->best_effort_timestamp != AV_NOPTS_VALUE) {
        t = f->best_effort_timestamp * tb;
    } else if (r->have_last_pts) {
        AVRational rate = r->st->avg_frame_rate.num > 0 ? r->st->avg_frame_rate
                                                         : r->st->r_frame_rate;
        double step = f->pkt_duration > 0 ? f->pkt_duration * tb
                      : rate.num > 0 && rate.den > 0 ? 1 / av_q2d(rate)
                                                     : 0;
        t = r->last_pts + step;
    } else {
        t = r->st->start_time != AV_NOPTS_VALUE ? r->st->start_time * tb : 0;
    }
    r->last_pts = t, r->have_last_pts = 1;
    return t;
}

/* Index of the frame just decoded. */
static int64_t frame_index(struct vl_reader *r)
{
    int64_t ts = r->frame->best_effort_timestamp;
    if (r->indexed_by_pts && ts != AV_NOPTS_VALUE) {
        int64_t *hit = bsearch(&ts, r->pts_table, r->n_table, sizeof ts, cmp_i64);
        if (hit) return hit - r->pts_table;
    }
    return r->next_index;
}

/* With an index set: seeks when the keyframe before the next wanted frame
 * is far ahead of the decoding position. */
static void maybe_seek(struct vl_reader *r)
{
    if (!r->n_table || r->want_pos >= r->opts.n_indices || r->seek_checked == r->want_pos + 1)
        return;
    r->seek_checked = r->want_pos + 1; /* the gap only shrinks as decoding goes on */
    int64_t want = r->opts.indices[r->want_pos];
    if (want >= (int64_t)r->n_table) return;
    int64_t key = want;
    while (key > 0 && !r->key_table[key]) key--;
    int forced = r->force_seek;
    r->force_seek = 0;
    if (!forced && key - r->next_index <= SEEK_GAP) return;
    if (av_seek_frame(r->fmt, r->st->index, r->pts_table[key], AVSEEK_FLAG_BACKWARD) < 0 &&
        !forced)
        return;
    avcodec_flush_buffers(r->dec);
    r->stats.seeks++;
    r->indexed_by_pts = 1;
    r->next_index = key; /* refined by the pts of the frames that follow */
    r->demux_eof = 0;
    r->flushed = 0;
    r->drain_next = 0;
}

/* 1 when the packet with this pts gives a frame still wanted (or unknown). */
static int packet_wanted(const struct vl_reader *r, int64_t pts)
{
    int64_t *hit = pts == AV_NOPTS_VALUE
                       ? NULL
                       : bsearch(&pts, r->pts_table, r->n_table, sizeof pts, cmp_i64);
    if (!hit) return 1;
    int64_t idx = hit - r->pts_table;
    size_t rest = r->opts.n_indices - r->want_pos;
    return rest && bsearch(&idx, r->opts.indices + r->want_pos, rest, sizeof idx, cmp_i64);
}

/* 1 when the packet of frame pts is the next frame to deliver and the one
 * after it (if any) lies beyond a seek: nothing read after this packet is
 * needed for it (later packets cannot be its references), so draining the
 * decoder now gives it without decoding what follows, typically the next
 * keyframe that the reorder delay would otherwise pull in. */
static int drain_after(const struct vl_reader *r, int64_t pts)
{
    if (!r->n_table || r->want_pos >= r->opts.n_indices || pts == AV_NOPTS_VALUE ||
        r->no_drain == r->want_pos + 1)
        return 0;
    int64_t *hit = bsearch(&pts, r->pts_table, r->n_table, sizeof pts, cmp_i64);
    if (!hit || hit - r->pts_table != r->opts.indices[r->want_pos]) return 0;
    int64_t idx = hit - r->pts_table;
    if (r->want_pos + 1 == r->opts.n_indices) return 1;
    int64_t next = r->opts.indices[r->want_pos + 1];
    if (next >= (int64_t)r->n_table) return 0;
    int64_t key = next;
    while (key > 0 && !r->key_table[key]) key--;
    return key - (idx + 1) > SEEK_GAP;
}

/* Feeds the decoder one packet, or the flush at the end of the stream; a
 * read error (truncated file) ends the stream early, keeping what decoded. */
static void feed(struct vl_reader *r)
{
    if (r->drain_next && !r->flushed) {
        avcodec_send_packet(r->dec, NULL);
        r->flushed = 1, r->drain_next = 0, r->drained_early = 1;
        r->drained_for = r->want_pos + 1;
        return;
    }
    if (r->demux_eof) {
        if (!r->flushed) avcodec_send_packet(r->dec, NULL);
        r->flushed = 1;
        return;
    }
    for (;;) {
        int e = av_read_frame(r->fmt, r->pkt);
        if (e < 0) { /* EOF, or a truncated file: keep what was decoded */
            r->demux_eof = 1;
            if (e != AVERROR_EOF) r->stats.decode_errors++;
            avcodec_send_packet(r->dec, NULL);
            r->flushed = 1;
            return;
        }
        if (r->pkt->stream_index != r->st->index) {
            av_packet_unref(r->pkt);
            continue;
        }
        int expect = counted(r->pkt);
        r->drain_next = expect && drain_after(r, r->pkt->pts);
        if (r->skip_unwanted)
            r->dec->skip_frame = packet_wanted(r, r->pkt->pts) ? AVDISCARD_DEFAULT
                                                               : AVDISCARD_NONREF;
        e = r->pkt->size > 0 ? avcodec_send_packet(r->dec, r->pkt) : 0;
        av_packet_unref(r->pkt);
        if (e < 0 && e != AVERROR(EAGAIN)) r->stats.decode_errors++;
        if (expect) r->stats.packets++;
        return;
    }
}

int vl_reader_next_chunk(struct vl_reader *r, struct vl_chunk *chunk, struct vl_error *err)
{
    int n = 0;
    memset(chunk, 0, sizeof *chunk);
    while (!r->done && n < r->capacity) {
        if (r->opts.indices && r->want_pos >= r->opts.n_indices) {
            r->done = 1;
            break;
        }
        if (r->opts.indices) maybe_seek(r);
        int e = avcodec_receive_frame(r->dec, r->frame);
        if (e == AVERROR(EAGAIN)) {
            feed(r);
            continue;
        }
        if (e == AVERROR_EOF) {
            if (r->drained_early && r->want_pos < r->opts.n_indices) {
                /* drained for the next wanted frame's seek: seek (a forced
                 * one, since the drain emptied the decoder) and go on; if
                 * the frame drained for did not come out (damaged), decode
                 * its stretch again without draining, as a read without
                 * drains would have, rather than drain for it forever */
                if (r->drained_for == r->want_pos + 1) r->no_drain = r->want_pos + 1;
                r->drained_early = 0;
                r->force_seek = 1;
                r->seek_checked = 0;
                continue;
            }
            r->done = 1;
            break;
        }
        if (e < 0) { /* a damaged frame: count it and go on */
            r->stats.decode_errors++;
            if (r->flushed) r->done = 1;
            else feed(r);
            continue;
        }
        r->stats.decoded++;
        int64_t idx = frame_index(r);
        r->next_index = idx + 1;
        double t = frame_time(r);
        int wanted = 1;
        if (r->opts.indices) {
            while (r->want_pos < r->opts.n_indices && r->opts.indices[r->want_pos] < idx)
                r->want_pos++; /* passed over (a seek landed late): cannot deliver it */
            wanted = r->want_pos < r->opts.n_indices && r->opts.indices[r->want_pos] == idx;
            if (wanted) r->want_pos++;
        }
        if (wanted) {
            reserve(r, n);
            if (convert(r, n, err) < 0) {
                av_frame_unref(r->frame);
                return -1;
            }
            r->pts[n] = t;
            r->index[n] = idx;
            n++;
        }
        av_frame_unref(r->frame);
    }
    if (r->done) {
        /* stopping early (every wanted index delivered) leaves frames in
         * the decoder: those are not lost */
        int at_end = r->flushed && !(r->opts.indices && r->want_pos >= r->opts.n_indices &&
                                     !r->demux_eof);
        if (at_end && !r->stats.seeks && !r->skip_unwanted &&
            r->stats.packets > r->stats.decoded)
            r->stats.lost = r->stats.packets - r->stats.decoded;
        if (r->opts.indices) r->stats.missing = (int64_t)(r->opts.n_indices - r->want_pos);
    }
    r->stats.delivered += n;
    chunk->n = n;
    chunk->width = r->out_w;
    chunk->height = r->out_h;
    chunk->frame_bytes = r->frame_bytes;
    chunk->data = r->held ? NULL : r->data;
    if (r->held && n)
        for (int p = 0; p < 3; p++)
            chunk->plane[p] = r->held->data[p], chunk->stride[p] = r->held->linesize[p];
    chunk->pts = r->pts;
    chunk->index = r->index;
    return n;
}

int vl_reader_chunk_capacity(const struct vl_reader *r)
{
    return r->capacity;
}

void vl_reader_geometry(const struct vl_reader *r, int *width, int *height, int *rotation)
{
    if (width) *width = r->out_w;
    if (height) *height = r->out_h;
    if (rotation) *rotation = r->rotation;
}

void vl_reader_placement(const struct vl_reader *r, int rect[4])
{
    memcpy(rect, r->place_shown, sizeof r->place_shown);
}

void vl_reader_stats(const struct vl_reader *r, struct vl_reader_stats *stats)
{
    *stats = r->stats;
}

void vl_reader_close(struct vl_reader *r)
{
    if (!r) return;
    sws_freeContext(r->sws);
    sws_freeContext(r->sws_whole);
    av_frame_free(&r->frame);
    av_frame_free(&r->held);
    av_packet_free(&r->pkt);
    avcodec_free_context(&r->dec);
    avformat_close_input(&r->fmt);
    free(r->data), free(r->rgb), free(r->whole), free(r->pts), free(r->index), free(r->planes);
    free(r->rows);
    free(r->pts_table), free(r->key_table);
    free(r->path);
    free(r);
}
