/* videowriter.c - RGB24 frames to any FFmpeg container and encoder, written
 * to "<path>.vltmp.<pid>.<thread>" and renamed on close.  The muxer is named
 * or comes from the final path's extension; the pixel format is the
 * encoder's first (yuv420p for libx264, mpeg4, ffv1 and vpx), yuv444p for
 * libx264 and ffv1 at odd sizes, bgr0 for lossless RGB FFV1, or the format
 * named (clipwriter's FFV1 of yuv422p, yuv420p10le, yuv422p10le); converted with
 * swscale (full chroma interpolation) by the matrix and range of the colour
 * tags asked for (untagged: BT.601 limited, swscale's default), which go into
 * the stream.  Frames are timed one after the other at the rate given, or at
 * the times the caller gives (the _at functions, in the time base asked for).
 * FFV1 is written as version 3 with per-slice CRCs, so damage is detected on
 * decoding.
 * Muxer and encoder are bit-exact (no random UIDs, no version strings), so
 * the same frames give the same bytes. */
#include "video/videowriter.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "util/fs.h"
#include "util/strbuf.h"
#include "video/rgbpad.h"

struct vl_videowriter {
    char *path, *tmp;
    AVFormatContext *oc;
    AVStream *st;
    AVCodecContext *enc;
    AVFrame *frame;
    AVPacket *pkt;
    struct SwsContext *sws;
    uint8_t *padded; /* the frame being converted, see rgbpad.h */
    int64_t next_pts; /* the earliest time the next frame may have */
    int started;      /* a frame was encoded (the first may have any time) */
};

static int av_fail(struct vl_error *err, const char *path, const char *what, int code)
{
    char buf[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(code, buf, sizeof buf);
    return vl_error_set(err, "%s: %s (%s)", path, what, buf);
}

static void release(struct vl_videowriter *w)
{
    sws_freeContext(w->sws);
    free(w->padded);
    av_frame_free(&w->frame);
    av_packet_free(&w->pkt);
    avcodec_free_context(&w->enc);
    if (w->oc) {
        if (w->oc->pb) avio_closep(&w->oc->pb);
        avformat_free_context(w->oc);
    }
    free(w->path);
    free(w->tmp);
    free(w);
}

void vl_videowriter_abort(struct vl_videowriter *w)
{
    if (!w) return;
    if (w->oc && w->oc->pb) avio_closep(&w->oc->pb);
    unlink(w->tmp);
    release(w);
}

/* Encoder settings that matter for small synthetic clips. */
static void tune(AVCodecContext *c, const char *name, const struct vl_videowriter_opts *o)
{
    if (!strcmp(name, "libx264")) {
        av_opt_set(c->priv_data, "preset", o->preset ? o->preset : "fast", 0);
        if (o->crf >= 0) av_opt_set_int(c->priv_data, "crf", o->crf, 0);
    } else if (!strncmp(name, "libvpx", 6)) {
        av_opt_set(c->priv_data, "deadline", "realtime", 0);
        av_opt_set_int(c->priv_data, "cpu-used", 8, 0);
        c->bit_rate = 1000000;
        if (o->crf >= 0) av_opt_set_int(c->priv_data, "crf", o->crf, 0);
    } else if (!strcmp(name, "ffv1")) {
        c->level = 3;
        av_opt_set_int(c->priv_data, "slicecrc", 1, 0);
    } else if (!strcmp(name, "mpeg4") || !strcmp(name, "mjpeg")) {
        c->flags |= AV_CODEC_FLAG_QSCALE;
        c->global_quality = FF_QP2LAMBDA * 3;
        if (!strcmp(name, "mjpeg")) c->strict_std_compliance = FF_COMPLIANCE_UNOFFICIAL;
    }
}

/* 1 when name is a tag: not NULL and not "unknown" (libavutil's untagged). */
static int tagged(const char *name)
{
    return name && *name && strcmp(name, "unknown");
}

/* Puts the colour tags asked for on the encoder (and so the stream). */
static int set_tags(AVCodecContext *c, const struct vl_videowriter_opts *o, const char *path,
                    struct vl_error *err)
{
    int v;
    if (tagged(o->matrix)) {
        if ((v = av_color_space_from_name(o->matrix)) < 0)
            return vl_error_set(err, "%s: unknown colour matrix %s", path, o->matrix);
        c->colorspace = (enum AVColorSpace)v;
    }
    if (tagged(o->range)) {
        if ((v = av_color_range_from_name(o->range)) < 0)
            return vl_error_set(err, "%s: unknown colour range %s", path, o->range);
        c->color_range = (enum AVColorRange)v;
    }
    if (tagged(o->primaries)) {
        if ((v = av_color_primaries_from_name(o->primaries)) < 0)
            return vl_error_set(err, "%s: unknown colour primaries %s", path, o->primaries);
        c->color_primaries = (enum AVColorPrimaries)v;
    }
    if (tagged(o->transfer)) {
        if ((v = av_color_transfer_from_name(o->transfer)) < 0)
            return vl_error_set(err, "%s: unknown transfer %s", path, o->transfer);
        c->color_trc = (enum AVColorTransferCharacteristic)v;
    }
    return 0;
}

/* RGB to YUV by the encoder's tagged matrix and range; untagged keeps
 * swscale's defaults (BT.601, limited range for yuv formats). */
static void convert_by_tags(struct SwsContext *sws, const AVCodecContext *c)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(c->pix_fmt);
    if ((d->flags & AV_PIX_FMT_FLAG_RGB) ||
        (c->colorspace == AVCOL_SPC_UNSPECIFIED && c->color_range == AVCOL_RANGE_UNSPECIFIED))
        return;
    int *inv, *table, src_full, dst_full, bright, contrast, sat;
    sws_getColorspaceDetails(sws, &inv, &src_full, &table, &dst_full, &bright, &contrast, &sat);
    if (c->colorspace != AVCOL_SPC_UNSPECIFIED) table = (int *)sws_getCoefficients(c->colorspace);
    if (c->color_range != AVCOL_RANGE_UNSPECIFIED) dst_full = c->color_range == AVCOL_RANGE_JPEG;
    sws_setColorspaceDetails(sws, inv, src_full, table, dst_full, bright, contrast, sat);
}

int vl_videowriter_open(const char *path, const struct vl_videowriter_opts *o,
                        struct vl_videowriter **out, struct vl_error *err)
{
    *out = NULL;
    const AVOutputFormat *fmt = av_guess_format(o->format, o->format ? NULL : path, NULL);
    if (!fmt) return vl_error_set(err, "%s: no container for this file extension", path);
    const AVCodec *codec = avcodec_find_encoder_by_name(o->codec);
    if (!codec)
        return vl_error_set(err, "%s: encoder %s is not in this FFmpeg build%s", path, o->codec,
                            strcmp(o->codec, "ffv1") ? " (ffv1 always is)" : "");
    if (avformat_query_codec(fmt, codec->id, FF_COMPLIANCE_NORMAL) == 0)
        return vl_error_set(err, "%s: container %s cannot hold %s", path, fmt->name, o->codec);
    if (o->width <= 0 || o->height <= 0)
        return vl_error_set(err, "%s: bad picture size %dx%d", path, o->width, o->height);
    if (vl_mkdir_parents(path, err) < 0) return -1;
    struct vl_videowriter *w = calloc(1, sizeof *w);
    if (!w) abort();
    w->path = strdup(path);
    struct vl_strbuf tmp = VL_STRBUF_INIT;
    vl_temp_name(path, 1, &tmp);
    w->tmp = vl_strbuf_detach(&tmp, NULL);
    int e = avformat_alloc_output_context2(&w->oc, fmt, NULL, w->tmp);
    if (e < 0 || !w->oc) {
        av_fail(err, path, "cannot set up the muxer", e);
        goto fail;
    }
    w->oc->flags |= AVFMT_FLAG_BITEXACT; /* no random UIDs: same frames, same bytes */
    w->st = avformat_new_stream(w->oc, NULL);
    w->enc = avcodec_alloc_context3(codec);
    w->frame = av_frame_alloc();
    w->pkt = av_packet_alloc();
    if (!w->st || !w->enc || !w->frame || !w->pkt) abort();
    AVCodecContext *c = w->enc;
    int fps = o->fps > 0 ? o->fps : 25, fps_den = o->fps > 0 && o->fps_den > 0 ? o->fps_den : 1;
    int odd = (o->width | o->height) & 1;
    c->width = o->width;
    c->height = o->height;
    c->pix_fmt = o->pix_fmt                                   ? av_get_pix_fmt(o->pix_fmt)
                 : o->lossless_rgb && !strcmp(o->codec, "ffv1") ? AV_PIX_FMT_0RGB32
                 : odd && (!strcmp(o->codec, "libx264") ||
                           !strcmp(o->codec, "ffv1"))         ? AV_PIX_FMT_YUV444P
                 : codec->pix_fmts                            ? codec->pix_fmts[0]
                                                              : AV_PIX_FMT_YUV420P;
    if (c->pix_fmt == AV_PIX_FMT_NONE) {
        vl_error_set(err, "%s: unknown pixel format %s", path, o->pix_fmt);
        goto fail;
    }
    c->framerate = (AVRational){fps, fps_den};
    c->time_base = o->time_base_num > 0 && o->time_base_den > 0
                       ? (AVRational){o->time_base_num, o->time_base_den}
                       : av_inv_q(c->framerate);
    c->thread_count = o->threads > 0 ? o->threads : 1;
    c->flags |= AV_CODEC_FLAG_BITEXACT;
    if (o->gop > 0) c->gop_size = o->gop;
    if (set_tags(c, o, path, err) < 0) goto fail;
    tune(c, o->codec, o);
    if (w->oc->oformat->flags & AVFMT_GLOBALHEADER) c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if ((e = avcodec_open2(c, codec, NULL)) < 0) {
        av_fail(err, path, "cannot open the encoder", e);
        goto fail;
    }
    avcodec_parameters_from_context(w->st->codecpar, c);
    w->st->time_base = c->time_base;
    w->st->avg_frame_rate = c->framerate;
    w->frame->format = c->pix_fmt;
    w->frame->width = c->width;
    w->frame->height = c->height;
    if (av_frame_get_buffer(w->frame, 0) < 0) abort();
    w->sws = sws_getContext(c->width, c->height, AV_PIX_FMT_RGB24, c->width, c->height, c->pix_fmt,
                            SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, NULL, NULL, NULL);
    if (!w->sws) {
        vl_error_set(err, "%s: cannot convert RGB for the encoder", path);
        goto fail;
    }
    convert_by_tags(w->sws, c);
    if ((e = avio_open(&w->oc->pb, w->tmp, AVIO_FLAG_WRITE)) < 0) {
        av_fail(err, w->tmp, "cannot create", e);
        goto fail;
    }
    if ((e = avformat_write_header(w->oc, NULL)) < 0) {
        av_fail(err, path, "cannot write the header", e);
        goto fail;
    }
    *out = w;
    return 0;
fail:
    vl_videowriter_abort(w);
    return -1;
}

static int drain(struct vl_videowriter *w, AVFrame *frame, struct vl_error *err)
{
    int e = avcodec_send_frame(w->enc, frame);
    if (e < 0) return av_fail(err, w->path, "cannot encode", e);
    for (;;) {
        e = avcodec_receive_packet(w->enc, w->pkt);
        if (e == AVERROR(EAGAIN) || e == AVERROR_EOF) return 0;
        if (e < 0) return av_fail(err, w->path, "cannot encode", e);
        av_packet_rescale_ts(w->pkt, w->enc->time_base, w->st->time_base);
        w->pkt->stream_index = w->st->index;
        if ((e = av_interleaved_write_frame(w->oc, w->pkt)) < 0)
            return av_fail(err, w->path, "cannot write", e);
    }
}

/* Stamps the frame with pts and encodes it; times must increase, since
 * encoders and muxers refuse (or reorder) frames that go back. */
static int encode_at(struct vl_videowriter *w, int64_t pts, struct vl_error *err)
{
    if (w->started && pts < w->next_pts)
        return vl_error_set(err, "%s: frame time %lld is not after the previous frame's (%lld)",
                            w->path, (long long)pts, (long long)w->next_pts - 1);
    w->frame->pts = pts;
    w->next_pts = pts + 1, w->started = 1;
    return drain(w, w->frame, err);
}

int vl_videowriter_write_at(struct vl_videowriter *w, const uint8_t *rgb, int64_t pts,
                            struct vl_error *err)
{
    if (av_frame_make_writable(w->frame) < 0) abort();
    size_t bytes = (size_t)w->enc->width * w->enc->height * 3;
    const uint8_t *src[4] = {vl_rgb_padded(&w->padded, rgb, bytes)};
    int stride[4] = {w->enc->width * 3};
    sws_scale(w->sws, src, stride, 0, w->enc->height, w->frame->data, w->frame->linesize);
    return encode_at(w, pts, err);
}

int vl_videowriter_write(struct vl_videowriter *w, const uint8_t *rgb, struct vl_error *err)
{
    return vl_videowriter_write_at(w, rgb, w->next_pts, err);
}

int vl_videowriter_next_planes(struct vl_videowriter *w, uint8_t *plane[3], int stride[3],
                               struct vl_error *err)
{
    enum AVPixelFormat f = w->enc->pix_fmt;
    if (f != AV_PIX_FMT_YUV420P && f != AV_PIX_FMT_YUV422P && f != AV_PIX_FMT_YUV420P10LE &&
        f != AV_PIX_FMT_YUV422P10LE)
        return vl_error_set(err,
                            "%s: the encoder takes %s, not yuv420p, yuv422p, yuv420p10le or "
                            "yuv422p10le planes",
                            w->path, av_get_pix_fmt_name(f));
    if (av_frame_make_writable(w->frame) < 0) abort();
    for (int p = 0; p < 3; p++) plane[p] = w->frame->data[p], stride[p] = w->frame->linesize[p];
    return 0;
}

int vl_videowriter_submit_at(struct vl_videowriter *w, int64_t pts, struct vl_error *err)
{
    return encode_at(w, pts, err);
}

int vl_videowriter_close(struct vl_videowriter *w, struct vl_error *err)
{
    int rc = drain(w, NULL, err), e;
    if (rc == 0 && (e = av_write_trailer(w->oc)) < 0) rc = av_fail(err, w->path, "cannot finish", e);
    if (rc == 0 && (e = avio_closep(&w->oc->pb)) < 0) rc = av_fail(err, w->path, "cannot write", e);
    if (rc == 0 && rename(w->tmp, w->path) != 0)
        rc = vl_error_set(err, "cannot rename %s to %s: %s", w->tmp, w->path, strerror(errno));
    if (rc < 0) {
        vl_videowriter_abort(w);
        return -1;
    }
    release(w);
    return 0;
}
