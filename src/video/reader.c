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
 * not wanted are decoded (they may be references) but never converted.
 *
 * Memory: a chunk holds budget / frame_bytes frames (at least 1) and its
 * buffer grows only as frames arrive, so a short clip does not reserve the
 * whole budget.  The decoder's own reference frames come on top. */
#include "video/reader.h"

#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
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
    struct SwsContext *sws;
    int rotation;
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
    size_t pixels = (size_t)r->out_w * r->out_h;
    r->frame_bytes = r->opts.layout == VL_FRAMES_F32_PLANAR ? pixels * 3 * sizeof(float) : pixels * 3;
    uint64_t cap = r->opts.memory_budget / r->frame_bytes;
    r->capacity = cap < 1 ? 1 : cap > 1 << 20 ? 1 << 20 : (int)cap;
    if (r->opts.indices && (e = build_pts_table(r, err)) < 0) goto fail;
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

/* Converts the decoded frame into chunk slot n. */
static int convert(struct vl_reader *r, int n, struct vl_error *err)
{
    AVFrame *f = r->frame;
    r->sws = sws_getCachedContext(r->sws, f->width, f->height, (enum AVPixelFormat)f->format,
                                  r->conv_w, r->conv_h, AV_PIX_FMT_RGB24, SWS_BICUBIC, NULL, NULL,
                                  NULL);
    if (!r->sws)
        return vl_error_set(err, "%s: cannot convert %dx%d frames to RGB", r->path, f->width,
                            f->height);
    uint8_t *slot = r->data + (size_t)n * r->frame_bytes;
    int direct = r->rotation == 0 && r->opts.layout == VL_FRAMES_RGB24;
    int is_float = r->opts.layout == VL_FRAMES_F32_PLANAR;
    size_t rgb_bytes = (size_t)r->out_w * r->out_h * 3;
    /* scratch: the converted picture, and its turned copy when that is
     * not written straight into the slot */
    if (!direct && !r->rgb &&
        !(r->rgb = malloc(rgb_bytes * (r->rotation && is_float ? 2 : 1) + SWS_SLACK(r))))
        abort();
    uint8_t *dst[4] = {direct ? slot : r->rgb};
    int stride[4] = {r->conv_w * 3};
    sws_scale(r->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst, stride);
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
    if (key - r->next_index <= SEEK_GAP) return;
    if (av_seek_frame(r->fmt, r->st->index, r->pts_table[key], AVSEEK_FLAG_BACKWARD) < 0) return;
    avcodec_flush_buffers(r->dec);
    r->stats.seeks++;
    r->indexed_by_pts = 1;
    r->next_index = key; /* refined by the pts of the frames that follow */
    r->demux_eof = 0;
    r->flushed = 0;
}

/* Feeds the decoder one packet, or the flush at the end of the stream; a
 * read error (truncated file) ends the stream early, keeping what decoded. */
static void feed(struct vl_reader *r)
{
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
        double t = r->frame->best_effort_timestamp == AV_NOPTS_VALUE
                       ? 0
                       : r->frame->best_effort_timestamp * av_q2d(r->st->time_base);
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
        if (!r->stats.seeks && r->stats.packets > r->stats.decoded)
            r->stats.lost = r->stats.packets - r->stats.decoded;
        if (r->opts.indices) r->stats.missing = (int64_t)(r->opts.n_indices - r->want_pos);
    }
    r->stats.delivered += n;
    chunk->n = n;
    chunk->width = r->out_w;
    chunk->height = r->out_h;
    chunk->frame_bytes = r->frame_bytes;
    chunk->data = r->data;
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

void vl_reader_stats(const struct vl_reader *r, struct vl_reader_stats *stats)
{
    *stats = r->stats;
}

void vl_reader_close(struct vl_reader *r)
{
    if (!r) return;
    sws_freeContext(r->sws);
    av_frame_free(&r->frame);
    av_packet_free(&r->pkt);
    avcodec_free_context(&r->dec);
    avformat_close_input(&r->fmt);
    free(r->data), free(r->rgb), free(r->pts), free(r->index);
    free(r->pts_table), free(r->key_table);
    free(r->path);
    free(r);
}
