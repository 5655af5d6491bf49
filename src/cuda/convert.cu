/* convert.cu - the CUDA table's converter entries (ops.h, "decoded
 * pictures to RGB24"): a picture in yuv420p, yuv420p10le, NV12 or P010/P016
 * (host memory, staged; or device memory, NVDEC's frames used in place) to
 * full-range RGB24 by its matrix and range, its crop window scaled into the
 * placement rectangle of a black frame.
 *
 * The steps of kern/picture.h, as swscale orders them (the crop window's
 * luma and chroma planes resized, luma to the placement size and chroma
 * to vl_kern_chroma_target's, then converted), fused into one launch: one
 * thread per output pixel of the placement computes its luma and chroma
 * from the picture's samples with the resize entry's taps and roundings
 * (vl_kern_convert_pixel) and writes the RGB bytes; a memset makes the
 * black around the placement.  No intermediate planes, no allocation per
 * frame (the taps are rebuilt only when the geometry changes).  Within a
 * tolerance of the CPU table's converter, not equal (test_cuda_convert_host
 * measures it on the host and checks the fused body against the unfused
 * steps bit for bit; docs/gpu.md has the figures).  Never run on a GPU
 * yet. */
#include <stdlib.h>

#include "cuda/ops_cuda.h"

extern "C" {
#include "ops/kern/picture.h"
}

#define THREADS 256

struct vl_ops_convert {
    int out_w, out_h;
    enum vl_interp interp;
};

/* one thread per pixel of the pw x ph placement at (px, py) of an out_w
 * wide frame: the window at (x0, y0) (chroma window at (cx0, cy0))
 * resampled and converted */
__global__ static void k_convert(struct vl_kern_yuv_coeffs c, int format, const uint8_t *p0,
                                 const uint8_t *p1, const uint8_t *p2, int s0, int s1, int s2,
                                 int x0, int y0, int cx0, int cy0, struct vl_kern_plane_taps tl,
                                 struct vl_kern_plane_taps tc, uint8_t *out, int out_w, int px,
                                 int py)
{
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)tl.dw * tl.dh) return;
    const uint8_t *p[3] = {p0, p1, p2};
    const int s[3] = {s0, s1, s2};
    int x = (int)(i % tl.dw), y = (int)(i / tl.dw);
    vl_kern_convert_pixel(&c, format, p, s, x0, y0, cx0, cy0, &tl, &tc, x, y,
                          out + ((size_t)(py + y) * out_w + px + x) * 3);
}

static unsigned blocks_for(size_t n)
{
    return (unsigned)((n + THREADS - 1) / THREADS);
}

int vl_cuda_convert_new(struct vl_ops_ctx *ctx, int out_w, int out_h, enum vl_interp interp,
                        struct vl_ops_convert **out, struct vl_error *err)
{
    (void)ctx;
    if (out_w < 1 || out_h < 1)
        return vl_cuda_fail(err, "convert: bad output size %dx%d", out_w, out_h);
    struct vl_ops_convert *c = (struct vl_ops_convert *)calloc(1, sizeof *c);
    if (!c) abort();
    c->out_w = out_w, c->out_h = out_h, c->interp = interp;
    *out = c;
    return 0;
}

int vl_cuda_convert_takes(struct vl_ops_ctx *ctx, enum vl_picture_format format, enum vl_mem mem)
{
    (void)ctx;
    (void)mem;
    return format == VL_PICTURE_YUV420P || format == VL_PICTURE_YUV420P10 ||
           format == VL_PICTURE_NV12 || format == VL_PICTURE_P016;
}

/* 1 when rect (x, y, w, h) is a non-empty part of a w_max x h_max area */
static int inside(const int r[4], int w_max, int h_max)
{
    return r[0] >= 0 && r[1] >= 0 && r[2] >= 1 && r[3] >= 1 && r[0] + r[2] <= w_max &&
           r[1] + r[3] <= h_max;
}

int vl_cuda_convert(struct vl_ops_ctx *ctx, struct vl_ops_convert *c, const struct vl_picture *pic,
                    const int crop[4], const int place[4], struct vl_frame *dst,
                    struct vl_error *err)
{
    if (vl_cuda_enter(ctx, err) < 0) return -1;
    if (!vl_cuda_convert_takes(ctx, pic->format, pic->mem))
        return vl_cuda_fail(err, "convert: the cuda table has no converter for this picture "
                                 "layout (%d)", (int)pic->format);
    if (dst->width != c->out_w || dst->height != c->out_h)
        return vl_cuda_fail(err, "convert: a %dx%d frame for a %dx%d converter", dst->width,
                            dst->height, c->out_w, c->out_h);
    /* the crop's corner on the chroma grid, as libavfilter's crop does */
    int win[4] = {crop[0] & ~1, crop[1] & ~1, crop[2], crop[3]};
    if (!inside(win, pic->width, pic->height) || !inside(place, c->out_w, c->out_h))
        return vl_cuda_fail(err, "convert: the crop %d,%d %dx%d of a %dx%d picture or the place "
                                 "%d,%d %dx%d in %dx%d is out of bounds",
                            win[0], win[1], win[2], win[3], pic->width, pic->height, place[0],
                            place[1], place[2], place[3], c->out_w, c->out_h);
    /* NVDEC's frames are copied out by FFmpeg on the legacy default stream,
     * which the non-blocking compute stream does not wait for by itself */
    if (pic->mem == VL_MEM_DEVICE &&
        (vl_cuda_check(cudaEventRecord(ctx->decoded, cudaStreamLegacy), "convert", err) < 0 ||
         vl_cuda_check(cudaStreamWaitEvent(ctx->compute, ctx->decoded, 0), "convert", err) < 0))
        return -1;
    /* the planes on the device: a device picture's own, a host one's staged */
    const uint8_t *plane[3] = {NULL, NULL, NULL};
    int stride[3] = {0, 0, 0};
    static const enum vl_cuda_scratch slot[3] = {VL_SCRATCH_PLANE0, VL_SCRATCH_PLANE1,
                                                 VL_SCRATCH_PLANE2};
    for (int i = 0; i < 3; i++) {
        size_t rows, row_bytes;
        vl_kern_picture_plane((int)pic->format, i, pic->width, pic->height, &rows, &row_bytes);
        if (!rows) continue;
        if (pic->mem == VL_MEM_DEVICE) {
            plane[i] = pic->plane[i], stride[i] = pic->stride[i];
            continue;
        }
        plane[i] = (const uint8_t *)vl_cuda_stage_in(ctx, pic->plane[i], VL_MEM_HOST,
                                                     (size_t)pic->stride[i], row_bytes, rows,
                                                     slot[i], "convert", err);
        if (!plane[i]) return -1;
        stride[i] = (int)row_bytes;
    }
    int f = (int)pic->format, w = win[2], h = win[3], pw = place[2], ph = place[3], cwin[4], tw,
        th;
    vl_kern_chroma_window(win[0], win[1], w, h, pic->width, pic->height, cwin);
    vl_kern_chroma_target(f, w != pw || h != ph, pw, ph, cwin[2], cwin[3], &tw, &th);
    struct vl_kern_plane_taps tl, tc;
    uint8_t *out = vl_cuda_frame_in(ctx, dst, 0, VL_SCRATCH_OUT, "convert", err);
    if (!out ||
        vl_cuda_taps(ctx, VL_TAPS_LUMA, c->interp, w, h, pw, ph, &tl, "convert", err) < 0 ||
        vl_cuda_taps(ctx, VL_TAPS_CHROMA, c->interp, cwin[2], cwin[3], tw, th, &tc, "convert",
                     err) < 0)
        return -1;
    int whole = place[0] == 0 && place[1] == 0 && pw == c->out_w && ph == c->out_h;
    if (!whole && vl_cuda_check(cudaMemsetAsync(out, 0, (size_t)c->out_w * c->out_h * 3,
                                                ctx->compute),
                                "convert", err) < 0)
        return -1;
    struct vl_kern_yuv_coeffs k;
    vl_kern_yuv_coeffs(pic->matrix, pic->full_range, &k);
    k_convert<<<blocks_for((size_t)pw * ph), THREADS, 0, ctx->compute>>>(
        k, f, plane[0], plane[1], plane[2], stride[0], stride[1], stride[2], win[0], win[1],
        cwin[0], cwin[1], tl, tc, out, c->out_w, place[0], place[1]);
    if (vl_cuda_check(cudaGetLastError(), "convert", err) < 0) return -1;
    return vl_cuda_frame_out(ctx, out, dst, err);
}

void vl_cuda_convert_free(struct vl_ops_ctx *ctx, struct vl_ops_convert *c)
{
    (void)ctx;
    free(c);
}
