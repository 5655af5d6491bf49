/* probe.c - video metadata without decoding, and its JSON form.
 *
 * The JSON object (version 2), one line, fields in this order:
 *   version            2 (1 had no colour fields and a display size without the SAR)
 *   container          libavformat demuxer name ("mov,mp4,m4a,3gp,3g2,mj2")
 *   codec, profile     codec name and profile name ("" when none)
 *   pix_fmt, bit_depth pixel format name and bits per sample
 *   coded_width, coded_height   size of the decoded picture
 *   width, height      display size: coded width times the sample aspect ratio (rounded),
 *                      coded height, turned by `rotation`
 *   rotation           clockwise degrees to turn the picture for display (0/90/180/270)
 *   sample_aspect_ratio  "num:den" ("0:1" when unknown)
 *   matrix, primaries, transfer, range  the stream's colour tags, libavutil's names
 *                      ("bt709", "bt2020nc", "smpte2084", "tv", "pc"...; "unknown" untagged)
 *   rgb_matrix, rgb_range  what conversion to RGB uses: the tagged matrix, or "bt470bg"
 *                      (BT.601) as ffmpeg's scale filter picks for untagged streams; the
 *                      tagged range, or "pc" for yuvj formats and "tv" otherwise
 *                      ("gbr"/"pc" for RGB formats)
 *   hdr                true for a PQ or HLG transfer: RGB is converted as is, never tone mapped
 *   avg_frame_rate, r_frame_rate  "num/den" (average and nominal, as libavformat gives them)
 *   fps                average frame rate as a number
 *   vfr                true when the frame durations vary
 *   start_time, duration  seconds
 *   frames             frame count: demuxed packets of the stream that yield a frame
 *   keyframes, max_keyframe_interval  keyframe count, longest run of frames per keyframe
 *   has_b_frames       presentation order differs from decode order
 *   audio_streams, video_streams, stream_index  stream counts and the stream chosen
 *   frames_corrected   true when a decode pass found another count and corrected `frames`
 *
 * Frame counting: every packet of the chosen stream is read with
 * av_read_frame() and counted, except packets flagged AV_PKT_FLAG_DISCARD
 * (the mov demuxer flags the packets that an edit list cuts off but that
 * must still be decoded as references; libavcodec drops their frames) and
 * empty packets (AVI "drop frames", which decode to nothing).  Packets of
 * other streams are discarded by the demuxer, so audio is never read. */
#include "video/probe.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/pixdesc.h>

static void copy_name(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

int vl_probe_rotation(const struct AVStream *st)
{
    size_t size = 0;
    const uint8_t *m = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &size);
    if (!m || size < 9 * sizeof(int32_t)) return 0;
    double theta = av_display_rotation_get((const int32_t *)m);
    if (isnan(theta)) return 0;
    /* av_display_rotation_get gives the counter-clockwise angle; as in
     * ffmpeg's autorotate, snap to a multiple of 90 clockwise */
    long deg = lround(-theta);
    deg = ((deg % 360) + 360) % 360;
    return (int)(((deg + 45) / 90 % 4) * 90);
}

int vl_probe_rgb_matrix(int cs)
{
    /* vf_scale.c's parse_yuv_type with in_color_matrix=auto; swscale's
     * table gives unspecified and reserved the BT.601 coefficients too */
    if (cs < AVCOL_SPC_BT709 || cs > AVCOL_SPC_BT2020_CL || cs == AVCOL_SPC_YCGCO ||
        cs == AVCOL_SPC_UNSPECIFIED || cs == AVCOL_SPC_RESERVED)
        return AVCOL_SPC_BT470BG;
    return cs;
}

void vl_meta_pixel_size(const struct vl_video_meta *m, int *width, int *height)
{
    int swap = m->rotation == 90 || m->rotation == 270;
    *width = swap ? m->coded_height : m->coded_width;
    *height = swap ? m->coded_width : m->coded_height;
}

/* Fills the colour fields from the stream parameters. */
static void probe_colour(const AVCodecParameters *par, const AVPixFmtDescriptor *desc,
                         struct vl_video_meta *m)
{
    const char *n;
    copy_name(m->matrix, sizeof m->matrix, (n = av_color_space_name(par->color_space)) ? n : "unknown");
    copy_name(m->primaries, sizeof m->primaries,
              (n = av_color_primaries_name(par->color_primaries)) ? n : "unknown");
    copy_name(m->transfer, sizeof m->transfer, (n = av_color_transfer_name(par->color_trc)) ? n : "unknown");
    copy_name(m->range, sizeof m->range, (n = av_color_range_name(par->color_range)) ? n : "unknown");
    int rgb = desc && (desc->flags & AV_PIX_FMT_FLAG_RGB);
    int yuvj = desc && !strncmp(desc->name, "yuvj", 4);
    copy_name(m->rgb_matrix, sizeof m->rgb_matrix,
              rgb ? "gbr" : av_color_space_name(vl_probe_rgb_matrix(par->color_space)));
    int full = par->color_range == AVCOL_RANGE_JPEG ||
               (par->color_range == AVCOL_RANGE_UNSPECIFIED && yuvj);
    copy_name(m->rgb_range, sizeof m->rgb_range, rgb || full ? "pc" : "tv");
    m->hdr = par->color_trc == AVCOL_TRC_SMPTE2084 || par->color_trc == AVCOL_TRC_ARIB_STD_B67;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Frame durations vary when the gaps between sorted timestamps differ by
 * more than one tick (timestamp rounding, e.g. 33/34 ms) and more than 1%. */
static int is_vfr(int64_t *pts, size_t n)
{
    if (n < 3) return 0;
    qsort(pts, n, sizeof *pts, cmp_i64);
    int64_t lo = INT64_MAX, hi = 0;
    for (size_t i = 1; i < n; i++) {
        int64_t d = pts[i] - pts[i - 1];
        if (d <= 0) continue;
        if (d < lo) lo = d;
        if (d > hi) hi = d;
    }
    if (hi == 0) return 0;
    return hi - lo > 1 && (double)(hi - lo) > 0.01 * (double)lo;
}

static int av_fail(struct vl_error *err, const char *path, const char *what, int code)
{
    char buf[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(code, buf, sizeof buf);
    return vl_error_set(err, "%s: %s (%s)", path, what, buf);
}

/* Counts the packets of the chosen stream; fills frames, keyframes, the
 * keyframe interval, B-frame reordering and the VFR flag. */
static int count_packets(AVFormatContext *fmt, AVStream *st, const char *path,
                         struct vl_video_meta *meta, struct vl_error *err)
{
    AVPacket *pkt = av_packet_alloc();
    if (!pkt) abort();
    size_t cap = 1024, n_pts = 0;
    int64_t *pts = malloc(cap * sizeof *pts);
    if (!pts) abort();
    int64_t since_key = 0, max_pts = INT64_MIN;
    int rc = 0, seen_key = 0;
    for (;;) {
        int r = av_read_frame(fmt, pkt);
        if (r == AVERROR_EOF) break;
        if (r < 0) {
            rc = av_fail(err, path, "cannot read packets, the file is truncated or corrupt", r);
            break;
        }
        if (pkt->stream_index == st->index && pkt->size > 0 && !(pkt->flags & AV_PKT_FLAG_DISCARD)) {
            meta->frames++;
            if (pkt->flags & AV_PKT_FLAG_KEY) {
                meta->keyframes++;
                seen_key = 1;
                since_key = 0;
            }
            since_key++;
            if (seen_key && since_key > meta->max_keyframe_interval)
                meta->max_keyframe_interval = since_key;
            if (pkt->pts != AV_NOPTS_VALUE) {
                if (pkt->pts < max_pts) meta->has_b_frames = 1;
                if (pkt->pts > max_pts) max_pts = pkt->pts;
                if (n_pts == cap) {
                    cap *= 2;
                    pts = realloc(pts, cap * sizeof *pts);
                    if (!pts) abort();
                }
                pts[n_pts++] = pkt->pts;
            }
        }
        av_packet_unref(pkt);
    }
    if (rc == 0) meta->vfr = is_vfr(pts, n_pts);
    free(pts);
    av_packet_free(&pkt);
    return rc;
}

int vl_probe_file(const char *path, struct vl_video_meta *meta, struct vl_error *err)
{
    memset(meta, 0, sizeof *meta);
    struct stat sb;
    if (stat(path, &sb) != 0) return vl_error_set(err, "%s: no such file", path);
    if (!S_ISREG(sb.st_mode)) return vl_error_set(err, "%s: not a regular file", path);
    if (sb.st_size == 0) return vl_error_set(err, "%s: empty file (0 bytes), not a video", path);

    AVFormatContext *fmt = NULL;
    int r = avformat_open_input(&fmt, path, NULL, NULL);
    if (r < 0) return av_fail(err, path, "not a readable media file", r);
    int rc = 0;
    r = avformat_find_stream_info(fmt, NULL);
    if (r < 0) {
        rc = av_fail(err, path, "cannot read stream parameters", r);
        goto out;
    }
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        const AVStream *s = fmt->streams[i];
        if (s->codecpar->codec_type == AVMEDIA_TYPE_AUDIO) meta->audio_streams++;
        if (s->codecpar->codec_type == AVMEDIA_TYPE_VIDEO &&
            !(s->disposition & AV_DISPOSITION_ATTACHED_PIC))
            meta->video_streams++;
    }
    int idx = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (idx < 0 || meta->video_streams == 0) {
        if (meta->audio_streams)
            rc = vl_error_set(err, "%s: no video stream (audio only, %d audio stream%s)", path,
                              meta->audio_streams, meta->audio_streams == 1 ? "" : "s");
        else
            rc = vl_error_set(err, "%s: no video stream (%u stream%s in the file)", path,
                              fmt->nb_streams, fmt->nb_streams == 1 ? "" : "s");
        goto out;
    }
    AVStream *st = fmt->streams[idx];
    const AVCodecParameters *par = st->codecpar;
    if (par->width <= 0 || par->height <= 0) {
        rc = vl_error_set(err, "%s: video stream %d has no picture size (corrupt header)", path,
                          idx);
        goto out;
    }
    meta->stream_index = idx;
    copy_name(meta->container, sizeof meta->container, fmt->iformat->name);
    copy_name(meta->codec, sizeof meta->codec, avcodec_get_name(par->codec_id));
    copy_name(meta->profile, sizeof meta->profile, avcodec_profile_name(par->codec_id, par->profile));
    const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get((enum AVPixelFormat)par->format);
    copy_name(meta->pix_fmt, sizeof meta->pix_fmt, desc ? desc->name : "unknown");
    meta->bit_depth = desc ? desc->comp[0].depth : 0;
    meta->coded_width = par->width;
    meta->coded_height = par->height;
    meta->rotation = vl_probe_rotation(st);
    /* as the reader: av_guess_sample_aspect_ratio, the stream's over the codec's */
    AVRational sar = av_guess_sample_aspect_ratio(fmt, st, NULL);
    if (sar.num <= 0 || sar.den <= 0) sar = (AVRational){0, 1};
    meta->sar_num = sar.num;
    meta->sar_den = sar.den;
    int64_t shown_w = sar.num ? ((int64_t)par->width * sar.num * 2 + sar.den) / (2 * sar.den)
                              : par->width;
    if (shown_w < 1 || shown_w > INT_MAX) shown_w = par->width;
    int swap = meta->rotation == 90 || meta->rotation == 270;
    meta->width = swap ? par->height : (int)shown_w;
    meta->height = swap ? (int)shown_w : par->height;
    probe_colour(par, desc, meta);
    meta->avg_fps_num = st->avg_frame_rate.num;
    meta->avg_fps_den = st->avg_frame_rate.den;
    meta->r_fps_num = st->r_frame_rate.num;
    meta->r_fps_den = st->r_frame_rate.den;
    if (st->start_time != AV_NOPTS_VALUE)
        meta->start_time = (double)st->start_time * av_q2d(st->time_base);
    else if (fmt->start_time != AV_NOPTS_VALUE)
        meta->start_time = (double)fmt->start_time / AV_TIME_BASE;
    if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
        meta->duration = (double)st->duration * av_q2d(st->time_base);
    else if (fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0)
        meta->duration = (double)fmt->duration / AV_TIME_BASE;
    meta->has_b_frames = par->video_delay > 0;

    for (unsigned i = 0; i < fmt->nb_streams; i++)
        if ((int)i != idx) fmt->streams[i]->discard = AVDISCARD_ALL;
    rc = count_packets(fmt, st, path, meta, err);
    if (rc == 0 && meta->frames == 0)
        rc = vl_error_set(err, "%s: video stream %d holds no frames", path, idx);
    if (rc == 0) {
        if (meta->avg_fps_num > 0 && meta->avg_fps_den > 0)
            meta->fps = av_q2d(st->avg_frame_rate);
        else if (meta->duration > 0)
            meta->fps = (double)meta->frames / meta->duration;
        if (meta->avg_fps_den == 0) meta->avg_fps_den = 1;
        if (meta->r_fps_den == 0) meta->r_fps_den = 1;
    }
out:
    avformat_close_input(&fmt);
    return rc;
}

void vl_meta_to_json(const struct vl_video_meta *m, struct vl_strbuf *out)
{
    vl_strbuf_addf(out, "{\"version\": %d, \"container\": ", VL_META_VERSION);
    vl_strbuf_add_json_string(out, m->container);
    vl_strbuf_adds(out, ", \"codec\": ");
    vl_strbuf_add_json_string(out, m->codec);
    vl_strbuf_adds(out, ", \"profile\": ");
    vl_strbuf_add_json_string(out, m->profile);
    vl_strbuf_adds(out, ", \"pix_fmt\": ");
    vl_strbuf_add_json_string(out, m->pix_fmt);
    vl_strbuf_addf(out,
                   ", \"bit_depth\": %d, \"coded_width\": %d, \"coded_height\": %d, \"width\": %d, "
                   "\"height\": %d, \"rotation\": %d, \"sample_aspect_ratio\": \"%d:%d\", ",
                   m->bit_depth, m->coded_width, m->coded_height, m->width, m->height, m->rotation,
                   m->sar_num, m->sar_den);
    struct { const char *key, *value; } colour[] = {
        {"matrix", m->matrix}, {"primaries", m->primaries}, {"transfer", m->transfer},
        {"range", m->range}, {"rgb_matrix", m->rgb_matrix}, {"rgb_range", m->rgb_range},
    };
    for (size_t i = 0; i < sizeof colour / sizeof colour[0]; i++) {
        vl_strbuf_addf(out, "\"%s\": ", colour[i].key);
        vl_strbuf_add_json_string(out, colour[i].value);
        vl_strbuf_adds(out, ", ");
    }
    vl_strbuf_addf(out,
                   "\"hdr\": %s, \"avg_frame_rate\": \"%d/%d\", \"r_frame_rate\": \"%d/%d\", \"fps\": %.6g, "
                   "\"vfr\": %s, \"start_time\": %.6f, \"duration\": %.6f, \"frames\": %lld, "
                   "\"keyframes\": %lld, \"max_keyframe_interval\": %lld, \"has_b_frames\": %s, "
                   "\"audio_streams\": %d, \"video_streams\": %d, \"stream_index\": %d, "
                   "\"frames_corrected\": %s}\n",
                   m->hdr ? "true" : "false", m->avg_fps_num, m->avg_fps_den, m->r_fps_num,
                   m->r_fps_den, m->fps, m->vfr ? "true" : "false", m->start_time, m->duration,
                   (long long)m->frames, (long long)m->keyframes,
                   (long long)m->max_keyframe_interval, m->has_b_frames ? "true" : "false",
                   m->audio_streams, m->video_streams, m->stream_index,
                   m->frames_corrected ? "true" : "false");
}

/* --- reading the JSON back: a flat object of strings, numbers and booleans */

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') p++;
    return p;
}

/* Reads a JSON string at p (at the opening quote) into dst; returns the
 * position after the closing quote or NULL. */
static const char *read_string(const char *p, char *dst, size_t n)
{
    size_t len = 0;
    if (*p++ != '"') return NULL;
    while (*p && *p != '"') {
        char c = *p++;
        if (c == '\\') {
            c = *p++;
            if (c == 'n') c = '\n';
            else if (c == 't') c = '\t';
            else if (c == 'u') { /* only ASCII escapes occur in names we write */
                char hex[5] = {0};
                for (int i = 0; i < 4; i++)
                    if (!(hex[i] = *p++)) return NULL;
                c = (char)strtol(hex, NULL, 16);
            } else if (!c) return NULL;
        }
        if (len + 1 < n) dst[len++] = c;
    }
    if (*p != '"') return NULL;
    if (n) dst[len] = '\0';
    return p + 1;
}

static void set_field(struct vl_video_meta *m, const char *key, const char *s, double v, int *version)
{
    struct { const char *name; char *dst; size_t n; } strs[] = {
        {"container", m->container, sizeof m->container}, {"codec", m->codec, sizeof m->codec},
        {"profile", m->profile, sizeof m->profile}, {"pix_fmt", m->pix_fmt, sizeof m->pix_fmt},
        {"matrix", m->matrix, sizeof m->matrix}, {"primaries", m->primaries, sizeof m->primaries},
        {"transfer", m->transfer, sizeof m->transfer}, {"range", m->range, sizeof m->range},
        {"rgb_matrix", m->rgb_matrix, sizeof m->rgb_matrix},
        {"rgb_range", m->rgb_range, sizeof m->rgb_range},
    };
    struct { const char *name; int *dst; } ints[] = {
        {"bit_depth", &m->bit_depth}, {"coded_width", &m->coded_width},
        {"coded_height", &m->coded_height}, {"width", &m->width}, {"height", &m->height},
        {"rotation", &m->rotation}, {"vfr", &m->vfr}, {"has_b_frames", &m->has_b_frames},
        {"audio_streams", &m->audio_streams}, {"video_streams", &m->video_streams},
        {"stream_index", &m->stream_index}, {"frames_corrected", &m->frames_corrected}, {"hdr", &m->hdr},
        {"version", version},
    };
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        if (s && !strcmp(key, strs[i].name)) copy_name(strs[i].dst, strs[i].n, s);
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        if (!s && !strcmp(key, ints[i].name)) *ints[i].dst = (int)v;
    if (s && !strcmp(key, "sample_aspect_ratio")) sscanf(s, "%d:%d", &m->sar_num, &m->sar_den);
    if (s && !strcmp(key, "avg_frame_rate")) sscanf(s, "%d/%d", &m->avg_fps_num, &m->avg_fps_den);
    if (s && !strcmp(key, "r_frame_rate")) sscanf(s, "%d/%d", &m->r_fps_num, &m->r_fps_den);
    if (!s && !strcmp(key, "fps")) m->fps = v;
    if (!s && !strcmp(key, "start_time")) m->start_time = v;
    if (!s && !strcmp(key, "duration")) m->duration = v;
    if (!s && !strcmp(key, "frames")) m->frames = (int64_t)v;
    if (!s && !strcmp(key, "keyframes")) m->keyframes = (int64_t)v;
    if (!s && !strcmp(key, "max_keyframe_interval")) m->max_keyframe_interval = (int64_t)v;
}

int vl_meta_from_json(const char *json, struct vl_video_meta *m, struct vl_error *err)
{
    memset(m, 0, sizeof *m);
    int version = 0;
    const char *p = skip_ws(json);
    if (*p++ != '{') return vl_error_set(err, "video metadata: not a JSON object");
    for (;;) {
        char key[64], sval[128];
        p = skip_ws(p);
        if (*p == '}') break;
        if (!(p = read_string(p, key, sizeof key))) goto bad;
        p = skip_ws(p);
        if (*p++ != ':') goto bad;
        p = skip_ws(p);
        if (*p == '"') {
            if (!(p = read_string(p, sval, sizeof sval))) goto bad;
            set_field(m, key, sval, 0, &version);
        } else if (!strncmp(p, "true", 4) || !strncmp(p, "false", 5)) {
            set_field(m, key, NULL, *p == 't', &version);
            p += *p == 't' ? 4 : 5;
        } else {
            char *end;
            double v = strtod(p, &end);
            if (end == p || !(fabs(v) <= INT_MAX)) goto bad; /* NaN, inf, past any field */
            set_field(m, key, NULL, v, &version);
            p = end;
        }
        p = skip_ws(p);
        if (*p == ',') p++;
        else if (*p != '}') goto bad;
    }
    if (version != VL_META_VERSION)
        return vl_error_set(err, "video metadata: version %d, expected %d", version,
                            VL_META_VERSION);
    return 0;
bad:
    return vl_error_set(err, "video metadata: malformed JSON");
}
