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
 * Geometry: scaling, cropping and padding happen in the one pass of the
 * converter (video/convert.h) that turns a decoded frame into RGB by its
 * colour tags.  The reader plans the crop and the placement in display
 * coordinates and maps them back to the stored picture when a display
 * matrix turns it; the aspect ratio a crop or letterbox keeps is the
 * display aspect: stored size times the sample aspect ratio.  Turning by
 * the display matrix and float output follow the conversion.
 *
 * Threads: with opts.overlap a linear read decodes on a thread of its own
 * (decode_thread) into a queue of decoded frames, and the caller's thread
 * converts them; the decoding steps and counters are the one-thread loop's,
 * so frames, times, chunks and stats are the same.
 *
 * Memory: a chunk holds budget / frame_bytes frames (at least 1) and its
 * buffer grows only as frames arrive, so a short clip does not reserve the
 * whole budget.  The decoder's own reference frames come on top. */
#include "video/reader.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/hwcontext.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>

#include "video/convert.h"
#include "video/probe.h"

#define SEEK_GAP 32
/* decoded frames a decoding thread may hold ahead of the conversion: up
 * to QUEUE_FRAMES, as many as QUEUE_BYTES of them allow, at least 2 */
#define QUEUE_FRAMES 16
#define QUEUE_BYTES (32u << 20)

_Static_assert((int)VL_CONVERT_BICUBIC == (int)VL_READER_BICUBIC &&
                   (int)VL_CONVERT_BILINEAR == (int)VL_READER_BILINEAR &&
                   (int)VL_CONVERT_AREA == (int)VL_READER_AREA,
               "the reader's interpolations are the converter's");
/* the converter's output may write a little past the last row */
#define SWS_SLACK(r) VL_CONVERT_SLACK((r)->conv_w)

struct vl_reader {
    char *path;
    struct vl_reader_opts opts;
    AVFormatContext *fmt;
    AVStream *st;
    AVCodecContext *dec;
    AVPacket *pkt;
    AVFrame *frame;
    AVFrame *held;                /* VL_FRAMES_YUV_REF: the frame handed out */
    int held_format;              /* VL_FRAMES_YUV_REF: the first frame's format, -1 before */
    struct vl_convert *conv;      /* to RGB24 at conv_w x conv_h (video/convert.h) */
    struct vl_ops_convert *tconv; /* opts.ops's converter to the same, or NULL */
    int crop[4], place[4];        /* the plan in stored coordinates (plan_geometry) */
    int plan_key[3];              /* width, height, format the plan is for; -1 before one */
    AVBufferRef *hw;              /* opts.hw_decode's cuda device, or NULL */
    AVFrame *sw_frame;            /* a device frame copied to the host, when it must be */
    int place_shown[4];           /* where the picture lies in the output, display coordinates */
    int rotation;
    AVRational sar;               /* sample aspect ratio, 1:1 when unknown */
    double last_pts;              /* time of the last frame decoded */
    int have_last_pts;
    int out_w, out_h;       /* after rotation */
    int conv_w, conv_h;     /* converter output, before rotation */
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
    struct vl_reader_stats *ds;   /* where decoding counts packets and errors: &stats, or
                                     the decoding thread's own thread_stats */
    /* opts.overlap on a linear read: a thread decodes, up to queue_cap
     * frames ahead; the caller's thread converts (all below under mu) */
    int threaded, thread_started, thread_joined;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    AVFrame *queue[QUEUE_FRAMES];
    int64_t queue_index[QUEUE_FRAMES];
    double queue_pts[QUEUE_FRAMES];
    int queue_head, queue_len, queue_cap;
    int decode_end;               /* the thread has decoded its last frame */
    int stop;                     /* vl_reader_close: the thread is to stop */
    struct vl_reader_stats thread_stats, published;
    AVFrame *converting;          /* the frame the caller's thread converts */
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

/* libavcodec's choice of output format: the cuda hwaccel's when offered,
 * else the first software format (and the reader notes why) */
static enum AVPixelFormat pick_format(AVCodecContext *dec, const enum AVPixelFormat *fmts)
{
    struct vl_reader *r = dec->opaque;
    for (const enum AVPixelFormat *p = fmts; *p != AV_PIX_FMT_NONE; p++)
        if (*p == AV_PIX_FMT_CUDA) return *p;
    for (const enum AVPixelFormat *p = fmts; *p != AV_PIX_FMT_NONE; p++) {
        const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(*p);
        if (d && !(d->flags & AV_PIX_FMT_FLAG_HWACCEL)) {
            if (!r->stats.hw_note[0])
                snprintf(r->stats.hw_note, sizeof r->stats.hw_note,
                         "NVDEC cannot decode this stream's %s %s; decoding on the CPU",
                         avcodec_get_name(dec->codec_id), av_get_pix_fmt_name(*p));
            return *p;
        }
    }
    return AV_PIX_FMT_NONE;
}

/* Sets up NVDEC decoding on opts.hw_device when the codec has a cuda
 * hwaccel and the device opens; otherwise notes why and leaves the decoder
 * on the CPU.  Before avcodec_open2. */
static void setup_hw(struct vl_reader *r, const AVCodec *codec)
{
    int has = 0;
    for (int i = 0;; i++) {
        const AVCodecHWConfig *c = avcodec_get_hw_config(codec, i);
        if (!c) break;
        if (c->device_type == AV_HWDEVICE_TYPE_CUDA &&
            (c->methods & AV_CODEC_HW_CONFIG_METHOD_HW_DEVICE_CTX))
            has = 1;
    }
    if (!has) {
        snprintf(r->stats.hw_note, sizeof r->stats.hw_note,
                 "this FFmpeg has no NVDEC decoder for %s; decoding on the CPU", codec->name);
        return;
    }
    char device[16];
    snprintf(device, sizeof device, "%d", r->opts.hw_device);
    AVDictionary *o = NULL;
    av_dict_set(&o, "primary_ctx", "1", 0); /* the CUDA runtime's context: one per device */
    int e = av_hwdevice_ctx_create(&r->hw, AV_HWDEVICE_TYPE_CUDA, device, o, 0);
    av_dict_free(&o);
    if (e < 0) {
        char buf[AV_ERROR_MAX_STRING_SIZE];
        av_strerror(e, buf, sizeof buf);
        snprintf(r->stats.hw_note, sizeof r->stats.hw_note,
                 "cannot open cuda device %d for NVDEC (%s); decoding on the CPU",
                 r->opts.hw_device, buf);
        return;
    }
    if (!(r->dec->hw_device_ctx = av_buffer_ref(r->hw))) abort();
    r->dec->opaque = r;
    r->dec->get_format = pick_format;
    r->dec->extra_hw_frames = 4; /* the frame converted, plus the decoder's reorder slack */
    r->opts.threads = 1;         /* frame threads need 29 + threads surfaces */
    r->opts.overlap = 0;
}

int vl_reader_open(const char *path, const struct vl_reader_opts *opts, struct vl_reader **out,
                   struct vl_error *err)
{
    struct vl_reader *r = calloc(1, sizeof *r);
    if (!r) abort();
    *out = NULL;
    r->path = strdup(path);
    r->opts = *opts;
    r->ds = &r->stats;
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
    r->plan_key[0] = -1;
    if (r->opts.hw_decode) setup_hw(r, codec);
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
    r->sar = av_guess_sample_aspect_ratio(r->fmt, r->st, NULL);
    if (r->sar.num <= 0 || r->sar.den <= 0) r->sar = (AVRational){1, 1};
    r->place_shown[2] = r->out_w, r->place_shown[3] = r->out_h;
    size_t pixels = (size_t)r->out_w * r->out_h;
    r->frame_bytes = r->opts.layout == VL_FRAMES_F32_PLANAR ? pixels * 3 * sizeof(float)
                     : r->opts.layout == VL_FRAMES_YUV420P
                         ? pixels + 2 * (size_t)((r->out_w + 1) / 2) * ((r->out_h + 1) / 2)
                         : pixels * 3;
    int planes = r->opts.layout == VL_FRAMES_YUV420P || r->opts.layout == VL_FRAMES_YUV_REF;
    if (planes && (r->rotation || r->out_w != r->dec->width || r->out_h != r->dec->height)) {
        vl_error_set(err, "%s: yuv planes are delivered only unscaled and unturned", path);
        goto fail;
    }
    if (!planes &&
        vl_convert_create(r->conv_w, r->conv_h, (enum vl_convert_interp)r->opts.interp, &r->conv,
                          err) < 0)
        goto fail;
    if (!planes && r->opts.ops) {
        enum vl_interp ti = r->opts.interp == VL_READER_AREA       ? VL_INTERP_AREA
                            : r->opts.interp == VL_READER_BILINEAR ? VL_INTERP_BILINEAR
                                                                   : VL_INTERP_BICUBIC;
        if (r->opts.ops->convert_new(r->opts.ops_ctx, r->conv_w, r->conv_h, ti, &r->tconv, err) <
            0) {
            vl_error_prefix(err, "%s", path);
            goto fail;
        }
    }
    uint64_t cap = r->opts.memory_budget / r->frame_bytes;
    r->capacity = cap < 1 ? 1 : cap > 1 << 20 ? 1 << 20 : (int)cap;
    r->held_format = -1;
    if (r->opts.layout == VL_FRAMES_YUV_REF) {
        r->capacity = 1, r->frame_bytes = 0;
        if (!(r->held = av_frame_alloc())) abort();
    }
    if (r->opts.indices && (e = build_pts_table(r, err)) < 0) goto fail;
    if (r->opts.overlap && !r->opts.indices && !planes) {
        r->threaded = 1;
        r->ds = &r->thread_stats;
        int bytes = av_image_get_buffer_size(r->dec->pix_fmt, r->dec->width, r->dec->height, 1);
        r->queue_cap = bytes > 0 ? (int)(QUEUE_BYTES / (unsigned)bytes) : 2;
        r->queue_cap = r->queue_cap < 2 ? 2 : r->queue_cap > QUEUE_FRAMES ? QUEUE_FRAMES : r->queue_cap;
        for (int i = 0; i < QUEUE_FRAMES; i++)
            if (!(r->queue[i] = av_frame_alloc())) abort();
        if (!(r->converting = av_frame_alloc())) abort();
        if (pthread_mutex_init(&r->mu, NULL) || pthread_cond_init(&r->cv, NULL)) abort();
    }
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
    r->plan_key[0] = f->width, r->plan_key[1] = f->height, r->plan_key[2] = f->format;
    /* a device frame's CPU plan waits for its host copy (convert_picture) */
    if (f->format != AV_PIX_FMT_CUDA) vl_convert_plan(r->conv, f, r->crop, r->place);
}

/* 1 when VL_FRAMES_YUV_REF hands out frames of this format. */
static int planar_yuv_ref(int format)
{
    return format == AV_PIX_FMT_YUV420P || format == AV_PIX_FMT_YUVJ420P ||
           format == AV_PIX_FMT_YUV422P || format == AV_PIX_FMT_YUVJ422P ||
           format == AV_PIX_FMT_YUV420P10LE || format == AV_PIX_FMT_YUV422P10LE;
}

/* Copies the decoded yuv420p planes into chunk slot n, or keeps the frame
 * itself (VL_FRAMES_YUV_REF: any format of planar_yuv_ref, every
 * frame in the first one's). */
static int copy_yuv420p(struct vl_reader *r, AVFrame *f, int n, struct vl_error *err)
{
    int any = r->held != NULL;
    if (any && r->held_format < 0 && planar_yuv_ref(f->format)) r->held_format = f->format;
    int want = any ? r->held_format : AV_PIX_FMT_YUV420P;
    if (f->format != want || f->width != r->out_w || f->height != r->out_h)
        return vl_error_set(err, "%s: a %dx%d %s frame where %dx%d %s was expected", r->path,
                            f->width, f->height, av_get_pix_fmt_name((enum AVPixelFormat)f->format),
                            r->out_w, r->out_h,
                            want >= 0 ? av_get_pix_fmt_name((enum AVPixelFormat)want)
                                      : "yuv420p, yuvj420p, yuv422p, yuvj422p, yuv420p10le or yuv422p10le");
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

/* Copies device frame f (NVDEC's) to the host, into r->sw_frame. */
static int copy_to_host(struct vl_reader *r, const AVFrame *f, struct vl_error *err)
{
    if (!r->sw_frame && !(r->sw_frame = av_frame_alloc())) abort();
    av_frame_unref(r->sw_frame);
    int e = av_hwframe_transfer_data(r->sw_frame, f, 0);
    if (e < 0) return av_fail(err, r->path, "cannot copy a decoded frame from the device", e);
    av_frame_copy_props(r->sw_frame, f);
    return 0;
}

/* Converts f into the RGB24 picture at base: through opts.ops's converter
 * when it takes the picture, else on the CPU (a device frame copied to the
 * host first). */
static int convert_picture(struct vl_reader *r, AVFrame *f, uint8_t *base, struct vl_error *err)
{
    struct vl_picture pic;
    vl_convert_picture(f, &pic);
    if (r->tconv && pic.format != VL_PICTURE_OTHER &&
        r->opts.ops->convert_takes(r->opts.ops_ctx, pic.format, pic.mem)) {
        struct vl_frame dst = {base, r->conv_w, r->conv_h, VL_MEM_HOST};
        if (r->opts.ops->convert(r->opts.ops_ctx, r->tconv, &pic, r->crop, r->place, &dst,
                                 err) < 0 ||
            r->opts.ops->sync(r->opts.ops_ctx, err) < 0)
            return vl_error_prefix(err, "%s", r->path);
        return 0;
    }
    if (pic.mem == VL_MEM_DEVICE) { /* to the host for the CPU converter */
        if (copy_to_host(r, f, err) < 0) return -1;
        f = r->sw_frame;
        if (vl_convert_needs_plan(r->conv, f)) vl_convert_plan(r->conv, f, r->crop, r->place);
    }
    if (r->tconv) r->stats.cpu_converted++;
    if (vl_convert_frame(r->conv, f, base, r->path, err) < 0) return -1;
    if (vl_convert_planar(r->conv)) r->stats.planar++;
    return 0;
}

/* Converts decoded frame f into chunk slot n. */
static int convert(struct vl_reader *r, AVFrame *f, int n, struct vl_error *err)
{
    if (f->format == AV_PIX_FMT_CUDA) r->stats.hw_frames++;
    if ((r->opts.layout == VL_FRAMES_YUV420P || r->held) && f->format == AV_PIX_FMT_CUDA) {
        /* planes are handed out on the host */
        if (copy_to_host(r, f, err) < 0) return -1;
        av_frame_unref(f);
        av_frame_move_ref(f, r->sw_frame);
    }
    if (r->opts.layout == VL_FRAMES_YUV420P || r->held) return copy_yuv420p(r, f, n, err);
    if (r->plan_key[0] != f->width || r->plan_key[1] != f->height || r->plan_key[2] != f->format ||
        (f->format != AV_PIX_FMT_CUDA && vl_convert_needs_plan(r->conv, f)))
        plan_geometry(r, f);
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
    if (convert_picture(r, f, base, err) < 0) return -1;
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
            if (e != AVERROR_EOF) r->ds->decode_errors++;
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
        if (e < 0 && e != AVERROR(EAGAIN)) r->ds->decode_errors++;
        if (expect) r->ds->packets++;
        return;
    }
}

/* The decoding thread of a linear read: every frame the decoder gives, in
 * order, into the queue (waiting while it is full), until the end of the
 * stream or vl_reader_close.  The same steps as the loop of
 * vl_reader_next_chunk without an index set; it owns dec, fmt, pkt, frame
 * and thread_stats, and publishes the counters with each frame. */
static void *decode_thread(void *arg)
{
    struct vl_reader *r = arg;
    int end = 0;
    while (!end) {
        int e = avcodec_receive_frame(r->dec, r->frame);
        if (e == AVERROR(EAGAIN)) {
            feed(r);
            continue;
        }
        if (e == AVERROR_EOF) break;
        if (e < 0) { /* a damaged frame: count it and go on */
            r->ds->decode_errors++;
            if (r->flushed) break;
            feed(r);
            continue;
        }
        r->ds->decoded++;
        int64_t idx = frame_index(r);
        r->next_index = idx + 1;
        double t = frame_time(r);
        pthread_mutex_lock(&r->mu);
        while (r->queue_len == r->queue_cap && !r->stop) pthread_cond_wait(&r->cv, &r->mu);
        if (r->stop) {
            end = 1;
        } else {
            int tail = (r->queue_head + r->queue_len) % QUEUE_FRAMES;
            av_frame_move_ref(r->queue[tail], r->frame);
            r->queue_index[tail] = idx, r->queue_pts[tail] = t;
            r->queue_len++;
            r->published = r->thread_stats;
            pthread_cond_broadcast(&r->cv);
        }
        pthread_mutex_unlock(&r->mu);
        av_frame_unref(r->frame);
    }
    pthread_mutex_lock(&r->mu);
    r->decode_end = 1;
    r->published = r->thread_stats;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

/* Stops (when asked) and joins the decoding thread, once. */
static void join_decoder(struct vl_reader *r, int stop)
{
    if (!r->thread_started || r->thread_joined) return;
    pthread_mutex_lock(&r->mu);
    if (stop) r->stop = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    r->thread_joined = 1;
}

/* vl_reader_next_chunk of a threaded linear read: converts the frames the
 * decoding thread queued. */
static int next_chunk_threaded(struct vl_reader *r, struct vl_error *err)
{
    if (!r->thread_started) {
        if (pthread_create(&r->thread, NULL, decode_thread, r)) abort();
        r->thread_started = 1;
    }
    int n = 0;
    while (!r->done && n < r->capacity) {
        pthread_mutex_lock(&r->mu);
        while (!r->queue_len && !r->decode_end) pthread_cond_wait(&r->cv, &r->mu);
        if (!r->queue_len) { /* decode_end: all frames are out */
            pthread_mutex_unlock(&r->mu);
            join_decoder(r, 0);
            r->done = 1;
            break;
        }
        int head = r->queue_head;
        av_frame_move_ref(r->converting, r->queue[head]);
        int64_t idx = r->queue_index[head];
        double t = r->queue_pts[head];
        r->queue_head = (head + 1) % QUEUE_FRAMES, r->queue_len--;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
        reserve(r, n);
        int rc = convert(r, r->converting, n, err);
        av_frame_unref(r->converting);
        if (rc < 0) return -1;
        r->pts[n] = t;
        r->index[n] = idx;
        n++;
    }
    if (r->done) { /* the thread has ended: its counters are the reader's */
        r->stats.packets = r->thread_stats.packets;
        r->stats.decoded = r->thread_stats.decoded;
        r->stats.decode_errors = r->thread_stats.decode_errors;
        if (r->stats.packets > r->stats.decoded)
            r->stats.lost = r->stats.packets - r->stats.decoded;
    }
    return n;
}

/* Hands the n frames converted into the chunk buffers out as chunk. */
static int fill_chunk(struct vl_reader *r, struct vl_chunk *chunk, int n)
{
    r->stats.delivered += n;
    chunk->n = n;
    chunk->width = r->out_w;
    chunk->height = r->out_h;
    chunk->frame_bytes = r->frame_bytes;
    chunk->data = r->held ? NULL : r->data;
    if (r->held && n) {
        for (int p = 0; p < 3; p++)
            chunk->plane[p] = r->held->data[p], chunk->stride[p] = r->held->linesize[p];
        int fmt = r->held->format;
        int full = fmt == AV_PIX_FMT_YUV422P || fmt == AV_PIX_FMT_YUVJ422P ||
                   fmt == AV_PIX_FMT_YUV422P10LE;
        chunk->chroma_height = full ? r->out_h : (r->out_h + 1) / 2;
        chunk->sample_bytes =
            fmt == AV_PIX_FMT_YUV420P10LE || fmt == AV_PIX_FMT_YUV422P10LE ? 2 : 1;
    }
    chunk->pts = r->pts;
    chunk->index = r->index;
    return n;
}

int vl_reader_next_chunk(struct vl_reader *r, struct vl_chunk *chunk, struct vl_error *err)
{
    if (r->threaded) {
        memset(chunk, 0, sizeof *chunk);
        int n = next_chunk_threaded(r, err);
        return n < 0 ? -1 : fill_chunk(r, chunk, n);
    }
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
            if (convert(r, r->frame, n, err) < 0) {
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
    return fill_chunk(r, chunk, n);
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
    if (r->threaded && !r->done) { /* decoding goes on: its counters so far */
        pthread_mutex_lock((pthread_mutex_t *)&r->mu);
        stats->packets = r->published.packets;
        stats->decoded = r->published.decoded;
        stats->decode_errors = r->published.decode_errors;
        pthread_mutex_unlock((pthread_mutex_t *)&r->mu);
    }
}

void vl_reader_close(struct vl_reader *r)
{
    if (!r) return;
    join_decoder(r, 1);
    if (r->threaded) {
        for (int i = 0; i < QUEUE_FRAMES; i++) av_frame_free(&r->queue[i]);
        av_frame_free(&r->converting);
        pthread_mutex_destroy(&r->mu);
        pthread_cond_destroy(&r->cv);
    }
    vl_convert_free(r->conv);
    if (r->tconv) r->opts.ops->convert_free(r->opts.ops_ctx, r->tconv);
    av_frame_free(&r->sw_frame);
    av_buffer_unref(&r->hw);
    av_frame_free(&r->frame);
    av_frame_free(&r->held);
    av_packet_free(&r->pkt);
    avcodec_free_context(&r->dec);
    avformat_close_input(&r->fmt);
    free(r->data), free(r->rgb), free(r->pts), free(r->index);
    free(r->pts_table), free(r->key_table);
    free(r->path);
    free(r);
}
