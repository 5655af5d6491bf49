/* testgen.c - synthetic test videos.
 *
 * The pattern: a diagonal gradient that shifts with the frame index and a
 * 1/4-size white square moving one pixel right and down a frame, so that
 * frames differ and rotations and flips are visible.  Colour tags and the
 * sample aspect ratio go into the encoder's context (and so the bitstream's
 * VUI or the container's colour elements); the pattern is converted to YUV
 * with the tagged matrix and range through swscale. */
#include "video/testgen.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/display.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

struct gen {
    const char *path;
    AVFormatContext *oc;
    AVCodecContext *venc, *aenc;
    AVStream *vst, *ast;
    AVPacket *pkt;
};

static int av_fail(struct vl_error *err, const char *path, const char *what, int code)
{
    char buf[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(code, buf, sizeof buf);
    return vl_error_set(err, "%s: %s (%s)", path, what, buf);
}

void vl_testgen_pattern(int index, int width, int height, uint8_t *rgb)
{
    int side = (width < height ? width : height) / 4;
    if (side < 1) side = 1;
    int sx = width > side ? index % (width - side + 1) : 0;
    int sy = height > side ? index % (height - side + 1) : 0;
    for (int y = 0; y < height; y++) {
        uint8_t *row = rgb + (size_t)y * width * 3;
        for (int x = 0; x < width; x++) {
            int in = x >= sx && x < sx + side && y >= sy && y < sy + side;
            row[3 * x + 0] = in ? 255 : (uint8_t)(x * 255 / (width > 1 ? width - 1 : 1));
            row[3 * x + 1] = in ? 255 : (uint8_t)(y * 255 / (height > 1 ? height - 1 : 1));
            row[3 * x + 2] = in ? 255 : (uint8_t)((x + y + index * 4) & 0xff);
        }
    }
}

void vl_testgen_bars(int index, int width, int height, uint8_t *rgb)
{
    static const uint8_t bars[7][3] = {{255, 255, 255}, {255, 255, 0}, {0, 255, 255}, {0, 255, 0},
                                       {255, 0, 255},   {255, 0, 0},   {0, 0, 255}};
    vl_testgen_pattern(index, width, height, rgb);
    for (int y = 0; y < height * 2 / 3; y++)
        for (int x = 0; x < width; x++) {
            const uint8_t *c = bars[x * 7 / width];
            memcpy(rgb + ((size_t)y * width + x) * 3, c, 3);
        }
}

int vl_testgen_have_encoder(const char *name)
{
    return avcodec_find_encoder_by_name(name) != NULL;
}

/* Sends frame (NULL: flush) to enc and writes every packet it gives. */
static int encode(struct gen *g, AVCodecContext *enc, AVStream *st, AVFrame *frame,
                  struct vl_error *err)
{
    int r = avcodec_send_frame(enc, frame);
    if (r < 0) return av_fail(err, g->path, "cannot encode", r);
    for (;;) {
        r = avcodec_receive_packet(enc, g->pkt);
        if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return 0;
        if (r < 0) return av_fail(err, g->path, "cannot encode", r);
        av_packet_rescale_ts(g->pkt, enc->time_base, st->time_base);
        g->pkt->stream_index = st->index;
        r = av_interleaved_write_frame(g->oc, g->pkt);
        if (r < 0) return av_fail(err, g->path, "cannot write packet", r);
    }
}

/* Sets the colour tags and the sample aspect ratio that opts asks for. */
static int color_tags(struct gen *g, const struct vl_testgen_opts *o, AVCodecContext *c,
                      struct vl_error *err)
{
    int v;
    if (o->matrix) {
        if ((v = av_color_space_from_name(o->matrix)) < 0)
            return vl_error_set(err, "%s: unknown colour matrix %s", g->path, o->matrix);
        c->colorspace = (enum AVColorSpace)v;
    }
    if (o->range) {
        if ((v = av_color_range_from_name(o->range)) < 0)
            return vl_error_set(err, "%s: unknown colour range %s", g->path, o->range);
        c->color_range = (enum AVColorRange)v;
    }
    if (o->primaries) {
        if ((v = av_color_primaries_from_name(o->primaries)) < 0)
            return vl_error_set(err, "%s: unknown colour primaries %s", g->path, o->primaries);
        c->color_primaries = (enum AVColorPrimaries)v;
    }
    if (o->transfer) {
        if ((v = av_color_transfer_from_name(o->transfer)) < 0)
            return vl_error_set(err, "%s: unknown transfer %s", g->path, o->transfer);
        c->color_trc = (enum AVColorTransferCharacteristic)v;
    }
    if (o->sar_num > 0 && o->sar_den > 0) c->sample_aspect_ratio = (AVRational){o->sar_num, o->sar_den};
    return 0;
}

static int add_video(struct gen *g, const struct vl_testgen_opts *o, struct vl_error *err)
{
    const char *name = o->codec ? o->codec : "libx264";
    const AVCodec *codec = avcodec_find_encoder_by_name(name);
    if (!codec) return vl_error_set(err, "%s: encoder %s is not in this FFmpeg build", g->path, name);
    int fps = o->fps ? o->fps : 25;
    g->vst = avformat_new_stream(g->oc, NULL);
    g->venc = avcodec_alloc_context3(codec);
    if (!g->vst || !g->venc) abort();
    AVCodecContext *c = g->venc;
    c->width = o->width;
    c->height = o->height;
    c->time_base = o->vfr ? (AVRational){1, 1000} : (AVRational){1, fps};
    c->framerate = (AVRational){fps, 1};
    c->gop_size = o->gop ? o->gop : 12;
    c->max_b_frames = o->bframes;
    c->thread_count = o->threads ? o->threads : 1;
    c->pix_fmt = o->pix_fmt ? av_get_pix_fmt(o->pix_fmt)
                 : codec->pix_fmts ? codec->pix_fmts[0] : AV_PIX_FMT_YUV420P;
    if (c->pix_fmt == AV_PIX_FMT_NONE)
        return vl_error_set(err, "%s: unknown pixel format %s", g->path, o->pix_fmt);
    if (codec->id == AV_CODEC_ID_MJPEG) c->strict_std_compliance = FF_COMPLIANCE_UNOFFICIAL;
    if (color_tags(g, o, c, err) < 0) return -1;
    if (!strcmp(name, "libx264"))
        av_opt_set(c->priv_data, "preset", o->preset ? o->preset : "ultrafast", 0);
    if (!strcmp(name, "libvpx") || !strcmp(name, "libvpx-vp9")) {
        av_opt_set(c->priv_data, "deadline", "realtime", 0);
        av_opt_set_int(c->priv_data, "cpu-used", 8, 0);
        c->bit_rate = 500000;
    }
    if (g->oc->oformat->flags & AVFMT_GLOBALHEADER) c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    int r = avcodec_open2(c, codec, NULL);
    if (r < 0) return av_fail(err, g->path, "cannot open the video encoder", r);
    r = avcodec_parameters_from_context(g->vst->codecpar, c);
    if (r < 0) return av_fail(err, g->path, "cannot set stream parameters", r);
    g->vst->time_base = c->time_base;
    g->vst->sample_aspect_ratio = c->sample_aspect_ratio;
    g->vst->avg_frame_rate = o->vfr ? (AVRational){0, 1} : c->framerate;
    if (o->rotation) {
        int32_t *m = (int32_t *)av_stream_new_side_data(g->vst, AV_PKT_DATA_DISPLAYMATRIX,
                                                        9 * sizeof(int32_t));
        if (!m) abort();
        /* av_display_rotation_set takes the clockwise angle */
        av_display_rotation_set(m, (double)o->rotation);
    }
    return 0;
}

static int add_audio(struct gen *g, struct vl_error *err)
{
    const AVCodec *codec = avcodec_find_encoder_by_name("aac");
    if (!codec) codec = avcodec_find_encoder_by_name("mp2");
    if (!codec) return vl_error_set(err, "%s: no aac or mp2 audio encoder in this FFmpeg build", g->path);
    g->ast = avformat_new_stream(g->oc, NULL);
    g->aenc = avcodec_alloc_context3(codec);
    if (!g->ast || !g->aenc) abort();
    AVCodecContext *c = g->aenc;
    c->sample_fmt = codec->sample_fmts ? codec->sample_fmts[0] : AV_SAMPLE_FMT_S16;
    c->sample_rate = 44100;
    c->bit_rate = 64000;
    av_channel_layout_default(&c->ch_layout, 1);
    c->time_base = (AVRational){1, c->sample_rate};
    if (g->oc->oformat->flags & AVFMT_GLOBALHEADER) c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    int r = avcodec_open2(c, codec, NULL);
    if (r < 0) return av_fail(err, g->path, "cannot open the audio encoder", r);
    avcodec_parameters_from_context(g->ast->codecpar, c);
    g->ast->time_base = c->time_base;
    return 0;
}

static int write_video(struct gen *g, const struct vl_testgen_opts *o, struct vl_error *err)
{
    AVCodecContext *c = g->venc;
    int fps = o->fps ? o->fps : 25;
    uint8_t *rgb = malloc((size_t)o->width * o->height * 3);
    AVFrame *f = av_frame_alloc();
    if (!rgb || !f) abort();
    f->format = c->pix_fmt;
    f->width = c->width;
    f->height = c->height;
    int rc = av_frame_get_buffer(f, 0) < 0 ? vl_error_set(err, "%s: out of memory", g->path) : 0;
    struct SwsContext *sws = sws_getContext(o->width, o->height, AV_PIX_FMT_RGB24, o->width,
                                            o->height, c->pix_fmt, SWS_BICUBIC, NULL, NULL, NULL);
    if (!sws && rc == 0)
        rc = vl_error_set(err, "%s: cannot convert RGB to %s", g->path,
                          av_get_pix_fmt_name(c->pix_fmt));
    if (sws && (o->matrix || o->range)) { /* RGB to YUV as the tags say */
        int *inv, *table, src_full, dst_full, bright, contrast, sat;
        sws_getColorspaceDetails(sws, &inv, &src_full, &table, &dst_full, &bright, &contrast, &sat);
        if (o->matrix) table = (int *)sws_getCoefficients(c->colorspace);
        if (o->range) dst_full = c->color_range == AVCOL_RANGE_JPEG;
        sws_setColorspaceDetails(sws, inv, src_full, table, dst_full, bright, contrast, sat);
    }
    int64_t pts = llround(o->start / av_q2d(c->time_base));
    for (int i = 0; i < o->frames && rc == 0; i++) {
        (o->bars ? vl_testgen_bars : vl_testgen_pattern)(i, o->width, o->height, rgb);
        if (av_frame_make_writable(f) < 0) abort();
        const uint8_t *src[1] = {rgb};
        int stride[1] = {o->width * 3};
        sws_scale(sws, src, stride, 0, o->height, f->data, f->linesize);
        f->pts = pts;
        pts += o->vfr ? (i % 3 == 2 ? 2000 : 1000) / fps : 1;
        rc = encode(g, c, g->vst, f, err);
    }
    if (rc == 0) rc = encode(g, c, g->vst, NULL, err);
    sws_freeContext(sws);
    av_frame_free(&f);
    free(rgb);
    return rc;
}

static int write_audio(struct gen *g, double seconds, struct vl_error *err)
{
    AVCodecContext *c = g->aenc;
    AVFrame *f = av_frame_alloc();
    if (!f) abort();
    f->format = c->sample_fmt;
    f->nb_samples = c->frame_size ? c->frame_size : 1024;
    f->sample_rate = c->sample_rate;
    av_channel_layout_copy(&f->ch_layout, &c->ch_layout);
    int rc = av_frame_get_buffer(f, 0) < 0 ? vl_error_set(err, "%s: out of memory", g->path) : 0;
    int64_t total = (int64_t)(seconds * c->sample_rate), t = 0;
    while (t < total && rc == 0) {
        if (av_frame_make_writable(f) < 0) abort();
        for (int i = 0; i < f->nb_samples; i++) {
            double v = 0.3 * sin(2 * M_PI * 440.0 * (double)(t + i) / c->sample_rate);
            if (c->sample_fmt == AV_SAMPLE_FMT_FLTP) ((float *)f->data[0])[i] = (float)v;
            else ((int16_t *)f->data[0])[i] = (int16_t)(v * 32767);
        }
        f->pts = t;
        t += f->nb_samples;
        rc = encode(g, c, g->ast, f, err);
    }
    if (rc == 0) rc = encode(g, c, g->ast, NULL, err);
    av_frame_free(&f);
    return rc;
}

int vl_testgen_write(const char *path, const struct vl_testgen_opts *o, struct vl_error *err)
{
    struct gen g = {.path = path};
    if (o->frames > 0 && (o->width <= 0 || o->height <= 0))
        return vl_error_set(err, "%s: bad picture size %dx%d", path, o->width, o->height);
    if (o->frames <= 0 && !o->audio)
        return vl_error_set(err, "%s: neither frames nor audio asked for", path);
    int r = avformat_alloc_output_context2(&g.oc, NULL, o->format, path);
    if (r < 0 || !g.oc) return av_fail(err, path, "no muxer for this format", r);
    if (o->bitexact) g.oc->flags |= AVFMT_FLAG_BITEXACT;
    int rc = 0;
    if (o->frames > 0) rc = add_video(&g, o, err);
    if (rc == 0 && o->audio) rc = add_audio(&g, err);
    if (rc == 0 && (r = avio_open(&g.oc->pb, path, AVIO_FLAG_WRITE)) < 0)
        rc = av_fail(err, path, "cannot create", r);
    if (rc == 0 && (r = avformat_write_header(g.oc, NULL)) < 0)
        rc = av_fail(err, path, "cannot write the header", r);
    g.pkt = av_packet_alloc();
    if (!g.pkt) abort();
    if (rc == 0 && o->frames > 0) rc = write_video(&g, o, err);
    if (rc == 0 && o->audio) {
        double seconds = o->frames > 0 ? (double)o->frames / (o->fps ? o->fps : 25) : 1.0;
        rc = write_audio(&g, seconds, err);
    }
    if (rc == 0 && (r = av_write_trailer(g.oc)) < 0) rc = av_fail(err, path, "cannot finish", r);
    av_packet_free(&g.pkt);
    avcodec_free_context(&g.venc);
    avcodec_free_context(&g.aenc);
    if (g.oc->pb) avio_closep(&g.oc->pb);
    avformat_free_context(g.oc);
    return rc;
}
