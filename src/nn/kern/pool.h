/* pool.h - the per-output and per-input bodies of 2-D pooling (max,
 * average with PyTorch's padding divisor, adaptive average) and of pooling
 * over each frame's content area (struct vl_nn_area_geom), for a device that
 * computes one output or one input gradient per thread.
 *
 * The CPU's forward runs through vl_nn_kern_pool_window and
 * vl_nn_kern_pool_at itself (nn/pool.c); the host test test_nn_kern_rows
 * checks the gathers below against the CPU table's entries bit for bit.  The CPU's backward scatters each output's gradient into its window
 * in output order; a device cannot scatter without float atomics, so the
 * bodies here gather instead: input element (iy, ix) visits the outputs
 * whose window holds it, in the same (oy, ox) order, and adds the same
 * float shares, which gives the CPU's bits. */
#ifndef VL_NN_KERN_POOL_H
#define VL_NN_KERN_POOL_H

#include <math.h>

#include "nn/backend.h"
#include "ops/kern/hd.h"

/* The input window [y0, y1) x [x0, x1) of output (oy, ox) and its divisor
 * (the CPU's too); the plane's geometry is g's h, w, oh, ow and
 * the kind's kernel, stride, padding (n and c unused). */
VL_HD static inline void vl_nn_kern_pool_window(const struct vl_nn_pool_geom *g, int oy, int ox,
                                                int *y0, int *y1, int *x0, int *x1, int *div)
{
    if (g->kind == VL_NN_POOL_ADAPTIVE_AVG) {
        *y0 = oy * g->h / g->oh;
        *y1 = ((oy + 1) * g->h + g->oh - 1) / g->oh;
        *x0 = ox * g->w / g->ow;
        *x1 = ((ox + 1) * g->w + g->ow - 1) / g->ow;
        *div = (*y1 - *y0) * (*x1 - *x0);
        return;
    }
    int ys = oy * g->stride - g->padding, xs = ox * g->stride - g->padding;
    int ye = ys + g->kernel, xe = xs + g->kernel;
    int yp = ye < g->h + g->padding ? ye : g->h + g->padding;
    int xp = xe < g->w + g->padding ? xe : g->w + g->padding;
    *div = (yp - ys) * (xp - xs);
    *y0 = ys < 0 ? 0 : ys;
    *x0 = xs < 0 ? 0 : xs;
    *y1 = ye < g->h ? ye : g->h;
    *x1 = xe < g->w ? xe : g->w;
}

/* Output (oy, ox) of the plane xp: the window's largest value (a NaN wins,
 * the first of equals wins) and, in *at, its flat index in the plane; or
 * the window's mean (summed in row order in double over the divisor). */
VL_HD static inline float vl_nn_kern_pool_at(const struct vl_nn_pool_geom *g, const float *xp,
                                             int oy, int ox, int *at)
{
    int y0, y1, x0, x1, div;
    vl_nn_kern_pool_window(g, oy, ox, &y0, &y1, &x0, &x1, &div);
    if (g->kind == VL_NN_POOL_MAX) {
        float best = -INFINITY;
        int a = y0 * g->w + x0;
        for (int i = y0; i < y1; i++)
            for (int j = x0; j < x1; j++)
                if (xp[i * g->w + j] > best || isnan(xp[i * g->w + j])) {
                    best = xp[i * g->w + j];
                    a = i * g->w + j;
                }
        *at = a;
        return best;
    }
    double s = 0.0;
    for (int i = y0; i < y1; i++)
        for (int j = x0; j < x1; j++)
            s += xp[i * g->w + j];
    *at = 0;
    return (float)(s / div);
}

/* The cells [*lo, *hi] (inclusive; empty when lo > hi) of n cells over an
 * extent v, cell k covering [floor(k v / n), ceil((k + 1) v / n)), that can
 * hold index i (adaptive pooling's and the content area's cells). */
VL_HD static inline void vl_nn_kern_cells_over(int i, int n, int v, int *lo, int *hi)
{
    *lo = i * n / v;
    *hi = ((i + 1) * n + v - 1) / v - 1;
    if (*hi > n - 1) *hi = n - 1;
}

/* The outputs [*lo, *hi] of n strided windows (o stride - padding, kernel
 * long) that can hold index i. */
VL_HD static inline void vl_nn_kern_windows_over(int i, int n, int kernel, int stride, int padding,
                                                 int *lo, int *hi)
{
    int t = i + padding - kernel; /* o stride > t */
    *lo = t < 0 ? 0 : t / stride + 1;
    *hi = (i + padding) / stride;
    if (*hi > n - 1) *hi = n - 1;
}

/* The gradient of input (iy, ix) of one plane from the plane's output
 * gradient dyp (and, for max, its argmax ap): the CPU's scatter of every
 * output whose window holds (iy, ix), gathered in (oy, ox) order. */
VL_HD static inline float vl_nn_kern_pool_grad_at(const struct vl_nn_pool_geom *g, const float *dyp,
                                                  const int *ap, int iy, int ix)
{
    int oy0, oy1, ox0, ox1;
    if (g->kind == VL_NN_POOL_ADAPTIVE_AVG) {
        vl_nn_kern_cells_over(iy, g->oh, g->h, &oy0, &oy1);
        vl_nn_kern_cells_over(ix, g->ow, g->w, &ox0, &ox1);
    } else {
        vl_nn_kern_windows_over(iy, g->oh, g->kernel, g->stride, g->padding, &oy0, &oy1);
        vl_nn_kern_windows_over(ix, g->ow, g->kernel, g->stride, g->padding, &ox0, &ox1);
    }
    float acc = 0.0f;
    int self = iy * g->w + ix;
    for (int oy = oy0; oy <= oy1; oy++)
        for (int ox = ox0; ox <= ox1; ox++) {
            int o = oy * g->ow + ox;
            if (g->kind == VL_NN_POOL_MAX) {
                if (ap[o] == self) acc += dyp[o];
                continue;
            }
            int y0, y1, x0, x1, div;
            vl_nn_kern_pool_window(g, oy, ox, &y0, &y1, &x0, &x1, &div);
            if (iy >= y0 && iy < y1 && ix >= x0 && ix < x1) acc += dyp[o] / (float)div;
        }
    return acc;
}

/* Cell (i, j) of a grid x grid content-area pooling of one plane src of row
 * length w with valid extent vh x vw: the cell's mean, summed in row order
 * in double (nn/pool.c's area pooling). */
VL_HD static inline float vl_nn_kern_area_mean_at(const float *src, int w, int grid, int vh, int vw,
                                                  int i, int j)
{
    int y0 = i * vh / grid, y1 = ((i + 1) * vh + grid - 1) / grid;
    int x0 = j * vw / grid, x1 = ((j + 1) * vw + grid - 1) / grid;
    double s = 0;
    for (int yy = y0; yy < y1; yy++)
        for (int xx = x0; xx < x1; xx++)
            s += src[(size_t)yy * w + xx];
    return (float)(s / ((y1 - y0) * (x1 - x0)));
}

/* The gradient of element (yy, xx) of one plane from its cells' gradient gr
 * [grid, grid]: zero outside the valid extent, else the shares of the cells
 * that hold it, in (i, j) order as the CPU's scatter adds them. */
VL_HD static inline float vl_nn_kern_area_grad_at(const float *gr, int grid, int vh, int vw, int yy,
                                                  int xx)
{
    if (yy >= vh || xx >= vw) return 0.0f;
    int i0, i1, j0, j1;
    vl_nn_kern_cells_over(yy, grid, vh, &i0, &i1);
    vl_nn_kern_cells_over(xx, grid, vw, &j0, &j1);
    float acc = 0.0f;
    for (int i = i0; i <= i1; i++)
        for (int j = j0; j <= j1; j++) {
            int y0 = i * vh / grid, y1 = ((i + 1) * vh + grid - 1) / grid;
            int x0 = j * vw / grid, x1 = ((j + 1) * vw + grid - 1) / grid;
            if (yy < y0 || yy >= y1 || xx < x0 || xx >= x1) continue;
            acc += gr[i * grid + j] / (float)((y1 - y0) * (x1 - x0));
        }
    return acc;
}

#endif
