/* scale.c - the `scale` built-in: a video to a NumPy clip, uint8
 * [T, H, W, 3], optionally with a JSON sidecar.
 *
 * Geometry (all inside the reader's one swscale pass from the decoded
 * format to RGB, by the stream's colour tags, so no frame is converted
 * twice); every mode but stretch keeps the display aspect (the sample
 * aspect ratio applied):
 *   stretch    the whole picture to size, aspect ratio not kept
 *   crop       scaled to cover size, the overflow cut evenly off both sides
 *   letterbox  scaled to fit inside size, centred, black bars
 *   var        (or fit=S) the aspect ratio kept, the longer side S, the
 *              picture at the top-left corner of a frame whose sides are
 *              padded with black to a multiple of `pad`; the true size goes
 *              into the sidecar, which this mode therefore requires
 *
 * Time: frames=0 keeps every frame, T = the frame count of the metadata
 * cache (a decode that finds fewer repeats the last frame; more are
 * dropped).  frames=T samples slot k from frame floor(k (N - 1) / (T - 1))
 * (T = 1: frame 0), as pytorchvideo's UniformTemporalSubsample does, and
 * only those frames are converted; a clip of fewer than T frames repeats
 * frames (the same formula), so the output always has T frames.
 *
 * Sidecar JSON (second output, version 1), one object:
 *   version, shape [T,H,W,3], mode, interp, width, height (of each frame),
 *   content {x, y, width, height}: where the picture lies in the frame
 *     (var: 0, 0 and the true size; letterbox: inside the bars),
 *   frames: the source index of each slot, pts: its time in seconds,
 *   repeated: slots that repeat an earlier frame because the decode ended
 *     early, source {width, height, rotation, frames, fps, start_time,
 *     duration}.  The source file's name is not in it (outputs depend on
 *     content, so that caches can share them). */
#include "actions/action.h"
#include "actions/media.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops/ops.h"
#include "video/metacache.h"
#include "video/npy.h"
#include "video/probe.h"
#include "video/reader.h"

#define CHUNK_FRAMES 4

struct plan {
    int width, height;            /* of each output frame */
    int content[4];               /* x, y, w, h of the picture in the frame */
    int64_t n_slots;              /* T */
    int64_t *slot_index;          /* source frame of each slot (non-decreasing) */
    double *slot_pts;
    int64_t *unique;              /* slot_index without repeats: what the reader delivers */
    size_t n_unique;
    struct vl_reader_opts opts;
};

/* The cached metadata of the job's input (probing on a miss). */
static int input_meta(struct vl_action_job *job, struct vl_video_meta *meta, struct vl_error *err)
{
    return vl_video_meta_get(job->state_path, job->inputs[0], &job->input_hashes[0], meta, err);
}

static int64_t round_up(int64_t v, int64_t m)
{
    return (v + m - 1) / m * m;
}

/* Output geometry and the frames to sample, from the parameters and meta. */
static int make_plan(struct vl_action_job *job, const struct vl_video_meta *meta, struct plan *p,
                     struct vl_error *err)
{
    const struct vl_params *params = job->params;
    const char *mode = vl_params_get(params, "mode")->text;
    const char *interp = vl_params_get(params, "interp")->text;
    int fit = (int)vl_params_get(params, "fit")->num;
    int64_t want = (int64_t)vl_params_get(params, "frames")->num;
    if (meta->frames <= 0 || meta->width <= 0 || meta->height <= 0)
        return vl_error_set(err, "%s: no video frames to scale", job->inputs[0]);
    p->opts.memory_budget = job->memory_budget;
    p->opts.overlap = 1; /* decode ahead on a second thread: every frame's run is decode-bound */
    p->opts.interp = !strcmp(interp, "area")       ? VL_READER_AREA
                     : !strcmp(interp, "bilinear") ? VL_READER_BILINEAR
                                                   : VL_READER_BICUBIC;
    if (fit > 0 || !strcmp(mode, "var")) {
        int pad = (int)vl_params_get(params, "pad")->num;
        int64_t sw = meta->width, sh = meta->height;
        int64_t tw = sw >= sh ? fit : (sw * fit + sh / 2) / sh;
        int64_t th = sw >= sh ? (sh * fit + sw / 2) / sw : fit;
        tw = tw < 1 ? 1 : tw, th = th < 1 ? 1 : th;
        p->width = (int)round_up(tw, pad), p->height = (int)round_up(th, pad);
        p->content[0] = p->content[1] = 0, p->content[2] = (int)tw, p->content[3] = (int)th;
        p->opts.fit = VL_READER_STRETCH;
        p->opts.place_w = (int)tw, p->opts.place_h = (int)th;
        if (job->n_outputs < 2)
            return vl_error_set(err, "%s: mode=var records the true size in a JSON sidecar: "
                                     "give the rule a second output (.json)", job->outputs[0]);
    } else {
        const struct vl_param_value *size = vl_params_get(params, "size");
        p->width = (int)size->num, p->height = (int)size->num2;
        p->opts.fit = !strcmp(mode, "crop")        ? VL_READER_CROP
                      : !strcmp(mode, "letterbox") ? VL_READER_LETTERBOX
                                                   : VL_READER_STRETCH;
        p->content[0] = p->content[1] = 0, p->content[2] = p->width, p->content[3] = p->height;
    }
    p->opts.width = p->width, p->opts.height = p->height;
    /* Frames go to the writer one at a time, so a big chunk buys nothing
     * and costs: a fresh page fault for every 4 KiB of it, and frames that
     * have left the cache by the time they are written.  Four frames a
     * chunk stay in L2 at the usual sizes (4 x 224x224 RGB is 600 KiB). */
    uint64_t few = (uint64_t)CHUNK_FRAMES * p->width * p->height * 3;
    if (!p->opts.memory_budget || p->opts.memory_budget > few) p->opts.memory_budget = few;
    p->n_slots = want > 0 ? want : meta->frames;
    p->slot_index = malloc((size_t)p->n_slots * sizeof *p->slot_index);
    p->slot_pts = calloc((size_t)p->n_slots, sizeof *p->slot_pts);
    if (!p->slot_index || !p->slot_pts) abort();
    for (int64_t k = 0; k < p->n_slots; k++)
        p->slot_index[k] = want <= 0 ? k : want == 1 ? 0 : k * (meta->frames - 1) / (want - 1);
    if (want > 0) { /* only these are converted */
        if (!(p->unique = malloc((size_t)p->n_slots * sizeof *p->unique))) abort();
        for (int64_t k = 0; k < p->n_slots; k++)
            if (!p->n_unique || p->unique[p->n_unique - 1] != p->slot_index[k])
                p->unique[p->n_unique++] = p->slot_index[k];
        p->opts.indices = p->unique;
        p->opts.n_indices = p->n_unique;
    }
    return 0;
}

static void plan_release(struct plan *p)
{
    free(p->slot_index);
    free(p->slot_pts);
    free(p->unique);
}

static void add_json_array_i64(struct vl_strbuf *sb, const int64_t *v, int64_t n)
{
    vl_strbuf_addch(sb, '[');
    for (int64_t i = 0; i < n; i++) vl_strbuf_addf(sb, "%s%lld", i ? "," : "", (long long)v[i]);
    vl_strbuf_addch(sb, ']');
}

static void sidecar_json(struct vl_action_job *job, const struct vl_video_meta *meta,
                         const struct plan *p, int64_t repeated, struct vl_strbuf *sb)
{
    int fit = (int)vl_params_get(job->params, "fit")->num;
    const char *mode = fit > 0 ? "var" : vl_params_get(job->params, "mode")->text;
    vl_strbuf_addf(sb, "{\"version\":1,\"shape\":[%lld,%d,%d,3],\"mode\":\"%s\",\"interp\":\"%s\"",
                   (long long)p->n_slots, p->height, p->width, mode,
                   vl_params_get(job->params, "interp")->text);
    vl_strbuf_addf(sb, ",\"width\":%d,\"height\":%d", p->width, p->height);
    vl_strbuf_addf(sb, ",\"content\":{\"x\":%d,\"y\":%d,\"width\":%d,\"height\":%d}",
                   p->content[0], p->content[1], p->content[2], p->content[3]);
    vl_strbuf_adds(sb, ",\"frames\":");
    add_json_array_i64(sb, p->slot_index, p->n_slots);
    vl_strbuf_adds(sb, ",\"pts\":[");
    for (int64_t i = 0; i < p->n_slots; i++)
        vl_strbuf_addf(sb, "%s%.6f", i ? "," : "", p->slot_pts[i]);
    vl_strbuf_addf(sb, "],\"repeated\":%lld", (long long)repeated);
    vl_strbuf_addf(sb, ",\"source\":{\"width\":%d,\"height\":%d,\"rotation\":%d,\"frames\":%lld,"
                       "\"fps\":%.6f,\"start_time\":%.6f,\"duration\":%.6f}}\n",
                   meta->width, meta->height, meta->rotation, (long long)meta->frames, meta->fps,
                   meta->start_time, meta->duration);
}

/* Decodes the planned frames into the open writer, slot by slot. */
static int fill_slots(struct vl_action_job *job, struct plan *p, struct vl_reader *r,
                      struct vl_npy_writer *w, int64_t *repeated, struct vl_error *err)
{
    size_t frame_bytes = (size_t)p->width * p->height * 3;
    uint8_t *last = malloc(frame_bytes); /* the last frame written, for repeats */
    if (!last) abort();
    int64_t slot = 0;
    double last_pts = 0;
    int have_last = 0, n, rc = 0;
    struct vl_chunk c;
    while (rc == 0 && slot < p->n_slots && (n = vl_reader_next_chunk(r, &c, err)) > 0) {
        for (int i = 0; i < n && rc == 0 && slot < p->n_slots; i++) {
            const uint8_t *frame = c.data + (size_t)i * c.frame_bytes;
            /* linear reads take frames in order; sampled slots take the
             * frame of their index (or the next one, after a late seek) */
            int64_t take = p->unique ? c.index[i] : slot;
            while (rc == 0 && slot < p->n_slots && p->slot_index[slot] <= take) {
                p->slot_pts[slot] = c.pts[i];
                if (p->unique) p->slot_index[slot] = c.index[i];
                rc = vl_npy_append(w, frame, frame_bytes, err);
                slot++;
            }
        }
        if (n > 0 && rc == 0) {
            memcpy(last, c.data + (size_t)(n - 1) * c.frame_bytes, frame_bytes);
            last_pts = c.pts[n - 1];
            have_last = 1;
        }
        if (vl_action_cancelled(job)) rc = vl_error_set(err, "%s: cancelled", job->inputs[0]);
    }
    if (rc == 0 && n < 0) rc = -1;
    if (rc == 0 && !have_last)
        rc = vl_error_set(err, "%s: no frame could be decoded", job->inputs[0]);
    *repeated = p->n_slots - slot;
    /* every frame, by the metadata's count: a decode that fell far short
     * means the count is wrong; correct it rather than pad with copies */
    if (rc == 0 && !p->unique && *repeated > 0)
        rc = vl_video_meta_check_decoded(job->state_path, job->inputs[0], &job->input_hashes[0],
                                         p->n_slots, slot, err);
    for (; rc == 0 && slot < p->n_slots; slot++) {
        p->slot_pts[slot] = last_pts;
        rc = vl_npy_append(w, last, frame_bytes, err);
    }
    free(last);
    return rc;
}

int vl_action_scale_run(struct vl_action_job *job, struct vl_error *err)
{
    struct vl_video_meta meta;
    struct plan p = {0};
    struct vl_reader *r = NULL;
    struct vl_npy_writer *w = NULL;
    int64_t repeated = 0;
    /* the job's table converts: the CPU's is the reader's own converter;
     * on a GPU, NVDEC decodes and the CUDA table converts on the device */
    struct vl_ops_ctx_opts ctx_opts;
    struct vl_ops_ctx *ops_ctx = NULL;
    const struct vl_ops *ops = vl_ops_for_job(job, &ctx_opts, err);
    if (!ops) return -1;
    int on_device = ops != vl_ops_cpu();
    if (on_device && ops->ctx_new(&ctx_opts, &ops_ctx, err) < 0)
        return vl_error_prefix(err, "scale: %s", job->inputs[0]);
    int rc = input_meta(job, &meta, err);
    if (rc == 0) rc = make_plan(job, &meta, &p, err);
    if (rc == 0 && on_device) {
        /* VLBUILD_NVDEC=0 (a diagnostic): CPU decoding, the GPU converting */
        const char *nvdec = getenv("VLBUILD_NVDEC");
        p.opts.ops = ops, p.opts.ops_ctx = ops_ctx;
        p.opts.hw_decode = !(nvdec && !strcmp(nvdec, "0")), p.opts.hw_device = ctx_opts.device;
    }
    if (rc == 0) rc = vl_reader_open(job->inputs[0], &p.opts, &r, err);
    if (rc == 0) {
        uint64_t shape[4] = {(uint64_t)p.n_slots, (uint64_t)p.height, (uint64_t)p.width, 3};
        rc = vl_npy_open(job->outputs[0], VL_NPY_U8, shape, 4, &w, err);
    }
    if (rc == 0) rc = fill_slots(job, &p, r, w, &repeated, err);
    if (rc == 0 && p.opts.fit == VL_READER_LETTERBOX) vl_reader_placement(r, p.content);
    if (rc == 0) {
        struct vl_reader_stats st;
        vl_reader_stats(r, &st);
        if (repeated)
            vl_strbuf_addf(job->log, "%s: decoded %lld of %lld frames; the last one is repeated\n",
                           job->inputs[0], (long long)(p.n_slots - repeated),
                           (long long)p.n_slots);
        if (on_device && st.hw_note[0])
            vl_strbuf_addf(job->log, "%s: %s\n", job->inputs[0], st.hw_note);
        if (st.hw_frames)
            vl_strbuf_addf(job->log, "%s: %lld frames decoded with NVDEC\n", job->inputs[0],
                           (long long)st.hw_frames);
        if (st.cpu_converted)
            vl_strbuf_addf(job->log, "%s: %lld frames converted on the CPU (the cuda table has "
                                     "no converter for their pixel format)\n",
                           job->inputs[0], (long long)st.cpu_converted);
        if (st.lost) /* known on linear reads; after a seek, errors are expected */
            vl_strbuf_addf(job->log, "%s: %lld frames lost to damaged data\n", job->inputs[0],
                           (long long)st.lost);
    }
    if (rc == 0) {
        rc = vl_npy_close(w, err);
        w = NULL;
    }
    if (rc == 0 && job->n_outputs > 1) {
        struct vl_strbuf json = VL_STRBUF_INIT;
        sidecar_json(job, &meta, &p, repeated, &json);
        rc = vl_write_file_atomic(job->outputs[1], json.buf, json.len, err);
        vl_strbuf_release(&json);
        if (rc < 0) unlink(job->outputs[0]);
    }
    vl_npy_abort(w);
    vl_reader_close(r);
    if (ops_ctx) ops->ctx_free(ops_ctx);
    plan_release(&p);
    return rc;
}
