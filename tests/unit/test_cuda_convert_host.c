/* test_cuda_convert_host.c - the CUDA table's converter (src/cuda/convert.cu:
 * each pixel of the crop window through kern/picture.h, then the resize
 * arithmetic of kern/resample.h into the placement rectangle of a black
 * frame) emulated on the host against the CPU table's convert entry
 * (swscale, src/ops/cpu_convert.c) on the same pictures: yuv420p, NV12
 * and yuv420p10le, BT.709 limited and BT.601 full range, odd and 1080p
 * sizes, stretched, cropped and letterboxed.  The mean, largest and
 * 99.9th-percentile absolute differences stay within the tolerance
 * docs/gpu.md states.  The device's fused body (vl_kern_convert_pixel, one
 * call per output pixel) gives the unfused steps' bytes exactly.  It also
 * checks the CPU entry itself: its output equals video/convert.h's for the
 * same plan.  Runs everywhere. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert_emulate.h"
#include "test.h"
#include "video/convert.h"

struct geometry {
    int sw, sh, dw, dh;
    int crop[4], place[4]; /* crop w 0: the whole picture; place w 0: the whole output */
};

int main(void)
{
    static const struct geometry geoms[] = {
        {1920, 1080, 224, 224, {0}, {0}},                     /* stretch, downscale 8.6x */
        {1920, 1080, 224, 224, {420, 0, 1080, 1080}, {0}},    /* centre crop */
        {1920, 1080, 224, 224, {0}, {0, 49, 224, 126}},       /* letterbox */
        {641, 359, 224, 126, {0}, {0}},                       /* odd size */
        {37, 23, 64, 48, {3, 1, 33, 21}, {0}},                /* odd crop corner, upscale */
        {320, 240, 320, 240, {0}, {0}},                       /* unscaled */
    };
    static const struct {
        enum AVPixelFormat av;
        enum vl_picture_format pic;
        const char *name;
    } formats[] = {
        {AV_PIX_FMT_YUV420P, VL_PICTURE_YUV420P, "yuv420p"},
        {AV_PIX_FMT_NV12, VL_PICTURE_NV12, "nv12"},
        {AV_PIX_FMT_YUV420P10LE, VL_PICTURE_YUV420P10, "yuv420p10le"},
    };
    static const struct {
        enum AVColorSpace cs;
        enum AVColorRange range;
    } tags[] = {{AVCOL_SPC_BT709, AVCOL_RANGE_MPEG}, {AVCOL_SPC_SMPTE170M, AVCOL_RANGE_JPEG}};
    const struct vl_ops *cpu = vl_ops_cpu();
    struct vl_ops_ctx *ctx;
    struct vl_error err = {{0}};
    CHECK(cpu->ctx_new(&(struct vl_ops_ctx_opts){.device = -1}, &ctx, &err) == 0);
    int out_of_tolerance = 0;
    size_t g0 = 0;
#ifdef __SANITIZE_THREAD__
    /* one thread only: ThreadSanitizer has nothing to find here and runs the
     * per-pixel loops ~50x slower, past the suite's timeout at 1080p */
    g0 = 3;
    printf("(ThreadSanitizer: the sizes below 1080p only)\n");
#endif
    for (size_t g = g0; g < sizeof geoms / sizeof *geoms; g++)
        for (size_t fi = 0; fi < sizeof formats / sizeof *formats; fi++)
            for (size_t ti = 0; ti < sizeof tags / sizeof *tags; ti++) {
                const struct geometry *G = &geoms[g];
                AVFrame *f = av_frame_alloc();
                if (!f) abort();
                f->format = formats[fi].av, f->width = G->sw, f->height = G->sh;
                f->colorspace = tags[ti].cs, f->color_range = tags[ti].range;
                if (av_frame_get_buffer(f, 0) < 0) abort();
                vl_test_fill_picture(f, g * 7 + fi * 3 + ti + 1);
                int crop[4] = {0, 0, G->sw, G->sh}, place[4] = {0, 0, G->dw, G->dh};
                if (G->crop[2]) memcpy(crop, G->crop, sizeof crop);
                if (G->place[2]) memcpy(place, G->place, sizeof place);
                struct vl_picture pic = {
                    .format = formats[fi].pic,
                    .plane = {f->data[0], f->data[1], f->data[2]},
                    .stride = {f->linesize[0], f->linesize[1], f->linesize[2]},
                    .width = G->sw,
                    .height = G->sh,
                    .matrix = tags[ti].cs == AVCOL_SPC_BT709 ? 1 : 5,
                    .full_range = tags[ti].range == AVCOL_RANGE_JPEG,
                    .decoded = f,
                };
                size_t bytes = (size_t)G->dw * G->dh * 3;
                struct vl_frame want = {malloc(bytes + VL_OPS_CONVERT_SLACK(G->dw)), G->dw, G->dh,
                                        VL_MEM_HOST};
                struct vl_frame got = {malloc(bytes), G->dw, G->dh, VL_MEM_HOST};
                struct vl_frame fused = {malloc(bytes), G->dw, G->dh, VL_MEM_HOST};
                uint8_t *direct = malloc(bytes + VL_CONVERT_SLACK(G->dw));
                if (!want.rgb || !got.rgb || !fused.rgb || !direct) abort();
                for (int interp = 0; interp < 3; interp++) {
                    struct vl_ops_convert *conv;
                    CHECK(cpu->convert_new(ctx, G->dw, G->dh, (enum vl_interp)interp, &conv,
                                           &err) == 0);
                    CHECK(cpu->convert(ctx, conv, &pic, crop, place, &want, &err) == 0);
                    cpu->convert_free(ctx, conv);
                    /* the entry is video/convert.h's converter: the same bytes */
                    struct vl_convert *vc;
                    enum vl_convert_interp ci = interp == VL_INTERP_AREA ? VL_CONVERT_AREA
                                                : interp == VL_INTERP_BILINEAR
                                                    ? VL_CONVERT_BILINEAR
                                                    : VL_CONVERT_BICUBIC;
                    CHECK(vl_convert_create(G->dw, G->dh, ci, &vc, &err) == 0);
                    vl_convert_plan(vc, f, crop, place);
                    CHECK(vl_convert_frame(vc, f, direct, "picture", &err) == 0);
                    vl_convert_free(vc);
                    CHECK(memcmp(direct, want.rgb, bytes) == 0);

                    vl_test_convert_emulate(&pic, crop, place, (enum vl_interp)interp, &got);
                    /* the device's fused body gives the steps' bytes */
                    vl_test_convert_fused(&pic, crop, place, (enum vl_interp)interp, &fused);
                    CHECK(memcmp(fused.rgb, got.rgb, bytes) == 0);
                    double mean;
                    int max, p999;
                    vl_test_diff_stats(want.rgb, got.rgb, bytes, &mean, &max, &p999);
                    /* docs/gpu.md, "The converter": scaled, every layout; unscaled,
                     * yuv420p (swscale's own unscaled converter) and the others with
                     * bicubic; unscaled NV12 and 10-bit with area or bilinear, where
                     * swscale's vertical chroma placement on that path is not matched
                     * (it differs only at hard chroma edges) */
                    int scaled = crop[2] != place[2] || crop[3] != place[3];
                    int loose = !scaled && formats[fi].pic != VL_PICTURE_YUV420P &&
                                interp != VL_INTERP_BICUBIC;
                    double tol_mean = scaled ? 1.0 : 2.0;
                    int tol_p999 = scaled ? 3 : loose ? 40 : 6, tol_max = scaled ? 4 : loose ? 48 : 8;
                    int ok = mean <= tol_mean && p999 <= tol_p999 && max <= tol_max;
                    static const char *interps[] = {"area", "bilinear", "bicubic"};
                    printf("%-11s %-9s %4dx%-4d -> %3dx%-3d %-8s mean %.3f max %3d p99.9 %3d %s\n",
                           formats[fi].name, ti ? "601/full" : "709/lim", G->sw, G->sh, G->dw,
                           G->dh, interps[interp], mean, max, p999,
                           ok ? "ok" : "OUT OF TOLERANCE");
                    out_of_tolerance += !ok;
                }
                free(want.rgb), free(got.rgb), free(fused.rgb), free(direct);
                av_frame_free(&f);
            }
    cpu->ctx_free(ctx);
    CHECK(out_of_tolerance == 0);
    return vl_test_failures != 0;
}
