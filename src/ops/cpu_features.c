/* cpu_features.c - per-frame features on the CPU.
 *
 * Definitions (docs/transforms.md, "## features", has the same in prose):
 * - grey: ITU-R BT.601 luma in integers, Y = (4899 R + 9617 G + 1868 B +
 *   8192) >> 14 (OpenCV's COLOR_RGB2GRAY), so white is exactly 255.
 * - HSV histogram: V = max(R,G,B), S = (max - min) / max, H in sextants as
 *   OpenCV/colorsys define it; bin = floor(value * bins) over each channel's
 *   range, computed in integers so a pure colour lands in a known bin.
 *   Greys have H = 0 and S = 0.  Each channel's bins sum to 1.
 * - Laplacian variance: population variance of the 4-neighbour Laplacian
 *   (0 1 0 / 1 -4 1 / 0 1 0) of the grey image over its interior pixels.
 * - edge density: share of interior pixels whose 3x3 Sobel gradient
 *   magnitude sqrt(gx^2 + gy^2) exceeds the threshold (a 0-to-255 step gives
 *   1020 on the two columns beside it).
 * - DCT high-frequency ratio: orthonormal 8x8 DCT-II of every whole block of
 *   the grey image; energy of the coefficients with u + v >= 8 over the
 *   energy of all AC coefficients (DC excluded), summed over blocks before
 *   dividing.  A flat image gives 0, a one-pixel checkerboard 0.987, white
 *   noise about 28/63.
 * - motion: d = |grey(b) - grey(a)|; mean and standard deviation of d over
 *   all pixels; the signed components are the least-squares global
 *   translation (Lucas-Kanade over the whole frame) in pixels per frame,
 *   + rightwards and downwards: the (u, v) minimising the sum over interior
 *   pixels of (Ix u + Iy v + It)^2, with Ix, Iy central differences of
 *   (a + b) / 2 and It = b - a, lightly regularised so that an edge seen
 *   through an aperture gives its normal motion instead of nothing.  Close
 *   for shifts of a pixel or two on smooth content (a hard-edged square
 *   moved 1 px reads 1.3); for large ones the magnitude shrinks, the sign
 *   holds while moving structures overlap between frames.
 *
 * Frames smaller than 3x3 (8x8 for the DCT) have no interior and give 0. */
#include "ops/cpu.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/kern/features.h"

#define MAX_BINS 256

struct vl_cpu_feature_state {
    uint8_t *grey_a, *grey_b; /* grey images, capacity pixels each */
    size_t capacity;
    float cosines[8][8];      /* orthonormal DCT-II basis: cosines[u][x] */
};

static struct vl_cpu_feature_state *state(struct vl_ops_ctx *ctx, size_t pixels)
{
    struct vl_cpu_feature_state *s = ctx->feature;
    if (!s) {
        if (!(s = ctx->feature = calloc(1, sizeof *s))) abort();
        vl_kern_dct_cosines(s->cosines);
    }
    if (pixels > s->capacity) { /* grows with the largest frame seen, not per frame */
        free(s->grey_a);
        free(s->grey_b);
        if (!(s->grey_a = malloc(pixels)) || !(s->grey_b = malloc(pixels))) abort();
        s->capacity = pixels;
    }
    return s;
}

static void to_grey(const struct vl_frame *f, uint8_t *grey)
{
    size_t n = (size_t)f->width * f->height;
    const uint8_t *p = f->rgb;
    for (size_t i = 0; i < n; i++, p += 3)
        grey[i] = vl_kern_grey(p);
}

void vl_cpu_hsv_histogram(const struct vl_frame *f, int bins, float *out)
{
    uint32_t counts[3 * MAX_BINS] = {0};
    size_t n = (size_t)f->width * f->height;
    if (bins < 1 || bins > MAX_BINS) return;
    memset(out, 0, 3 * (size_t)bins * sizeof *out);
    if (n == 0) return;
    const uint8_t *p = f->rgb;
    for (size_t i = 0; i < n; i++, p += 3) {
        int bin[3];
        vl_kern_hsv_bins(p[0], p[1], p[2], bins, bin);
        counts[bin[0]]++, counts[bins + bin[1]]++, counts[2 * bins + bin[2]]++;
    }
    for (int c = 0; c < 3 * bins; c++) out[c] = (float)((double)counts[c] / (double)n);
}

void vl_cpu_motion(struct vl_ops_ctx *ctx, const struct vl_frame *a, const struct vl_frame *b,
                   struct vl_motion *out)
{
    memset(out, 0, sizeof *out);
    int w = a->width, h = a->height;
    size_t n = (size_t)w * h;
    if (n == 0 || b->width != w || b->height != h) return;
    struct vl_cpu_feature_state *s = state(ctx, n);
    to_grey(a, s->grey_a);
    to_grey(b, s->grey_b);
    uint64_t sum = 0, sum_sq = 0;
    for (size_t i = 0; i < n; i++) {
        int d = abs((int)s->grey_b[i] - (int)s->grey_a[i]);
        sum += (uint64_t)d;
        sum_sq += (uint64_t)(d * d);
    }
    out->mean = (double)sum / (double)n;
    double var = (double)sum_sq / (double)n - out->mean * out->mean;
    out->spread = var > 0 ? sqrt(var) : 0;
    if (w < 3 || h < 3) return;
    /* ix = 4 Ix and iy = 4 Iy in integers; the scale comes out at the end */
    int64_t sxx = 0, sxy = 0, syy = 0, sxt = 0, syt = 0;
    for (int y = 1; y < h - 1; y++) {
        const uint8_t *pa = s->grey_a + (size_t)y * w, *pb = s->grey_b + (size_t)y * w;
        for (int x = 1; x < w - 1; x++) {
            int ix = pa[x + 1] + pb[x + 1] - pa[x - 1] - pb[x - 1];
            int iy = pa[x + w] + pb[x + w] - pa[x - w] - pb[x - w];
            int it = pb[x] - pa[x];
            sxx += ix * ix, sxy += ix * iy, syy += iy * iy;
            sxt += ix * it, syt += iy * it;
        }
    }
    double a11 = sxx / 16.0, a12 = sxy / 16.0, a22 = syy / 16.0;
    double b1 = -sxt / 4.0, b2 = -syt / 4.0;
    double lambda = 1e-3 * (a11 + a22) + 1e-9;
    a11 += lambda, a22 += lambda;
    double det = a11 * a22 - a12 * a12;
    if (det <= 0) return;
    out->horizontal = (a22 * b1 - a12 * b2) / det;
    out->vertical = (a11 * b2 - a12 * b1) / det;
}

double vl_cpu_laplacian_variance(struct vl_ops_ctx *ctx, const struct vl_frame *f)
{
    int w = f->width, h = f->height;
    if (w < 3 || h < 3) return 0;
    struct vl_cpu_feature_state *s = state(ctx, (size_t)w * h);
    to_grey(f, s->grey_a);
    int64_t sum = 0, sum_sq = 0;
    for (int y = 1; y < h - 1; y++) {
        const uint8_t *p = s->grey_a + (size_t)y * w;
        for (int x = 1; x < w - 1; x++) {
            int l = p[x - 1] + p[x + 1] + p[x - w] + p[x + w] - 4 * p[x];
            sum += l;
            sum_sq += l * l;
        }
    }
    double n = (double)(w - 2) * (h - 2), mean = (double)sum / n;
    double var = (double)sum_sq / n - mean * mean;
    return var > 0 ? var : 0;
}

double vl_cpu_edge_density(struct vl_ops_ctx *ctx, const struct vl_frame *f, double threshold)
{
    int w = f->width, h = f->height;
    if (w < 3 || h < 3) return 0;
    struct vl_cpu_feature_state *s = state(ctx, (size_t)w * h);
    to_grey(f, s->grey_a);
    double limit = threshold > 0 ? threshold * threshold : 0;
    int64_t edges = 0;
    for (int y = 1; y < h - 1; y++) {
        const uint8_t *up = s->grey_a + (size_t)(y - 1) * w, *mid = up + w, *down = mid + w;
        for (int x = 1; x < w - 1; x++) {
            int gx = (up[x + 1] + 2 * mid[x + 1] + down[x + 1]) - (up[x - 1] + 2 * mid[x - 1] +
                                                                  down[x - 1]);
            int gy = (down[x - 1] + 2 * down[x] + down[x + 1]) - (up[x - 1] + 2 * up[x] +
                                                                 up[x + 1]);
            edges += (double)(gx * gx + gy * gy) > limit;
        }
    }
    return (double)edges / ((double)(w - 2) * (h - 2));
}

double vl_cpu_dct_high_ratio(struct vl_ops_ctx *ctx, const struct vl_frame *f)
{
    int w = f->width, h = f->height;
    if (w < 8 || h < 8) return 0;
    struct vl_cpu_feature_state *s = state(ctx, (size_t)w * h);
    to_grey(f, s->grey_a);
    double high = 0, total = 0;
    for (int by = 0; by + 8 <= h; by += 8) {
        for (int bx = 0; bx + 8 <= w; bx += 8) {
            /* the block's arithmetic is the one a device runs (kern/features.h) */
            int64_t ac64 = vl_kern_dct_block(s->grey_a + (size_t)by * w + bx, (size_t)w,
                                             (const float(*)[8])s->cosines, &high);
            if (ac64 == 0) continue;
            total += (double)ac64 / 64; /* 64 x the AC energy */
        }
    }
    if (total <= 0) return 0;
    return high < total ? high / total : 1;
}

void vl_cpu_feature_free(struct vl_cpu_feature_state *s)
{
    if (!s) return;
    free(s->grey_a);
    free(s->grey_b);
    free(s);
}
