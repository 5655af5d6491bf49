/* svg.h - small inline-SVG charts for the HTML report: bars, lines, a
 * heatmap and a timeline.  Each appends one <svg> element to a strbuf; all
 * text is escaped. */
#ifndef VL_SVG_H
#define VL_SVG_H

#include <stddef.h>

#include "util/strbuf.h"

/* Which y axis a series is drawn against in vl_svg_lines. */
enum vl_series_axis {
    VL_AXIS_VALUE = 0,    /* left axis, scaled to the values of all such series */
    VL_AXIS_FRACTION = 1, /* right axis, fixed 0..1 shown as 0..100% (accuracy) */
};

struct vl_series {
    const char *name;
    const double *y; /* one value per x = 1..n (NaN: no point) */
    size_t n;
    enum vl_series_axis axis;
};

struct vl_span {
    int lane;           /* timeline row */
    double start, end;  /* seconds */
    const char *label;  /* tooltip */
    int color;          /* palette index */
};

/* Appends text with &, <, > and quotes escaped for HTML. */
void vl_html_escape(struct vl_strbuf *out, const char *text);
/* A horizontal bar chart: one bar per label, value printed at its end. */
void vl_svg_bars(struct vl_strbuf *out, const char *title, const char *const *labels,
                 const double *values, size_t n, const char *unit);
/* Appends the CSS rules of the chart palette (.span-N fills and .line-N strokes,
 * N = 0..7); colour N is the same in both, so a legend swatch matches its line. */
void vl_svg_style(struct vl_strbuf *out);
/* A line chart of several series over x = 1..n, with a legend.  VALUE series
 * share the left axis; FRACTION series get a right axis of 0..100%, their
 * points clamped to it, so a loss of 4 does not flatten an accuracy of 0.9. */
void vl_svg_lines(struct vl_strbuf *out, const char *title, const char *x_label,
                  const struct vl_series *series, size_t n_series);
/* A confusion matrix heatmap: counts[row * n + col], rows = truth. */
void vl_svg_heatmap(struct vl_strbuf *out, const char *title, const char *const *labels,
                    const double *counts, size_t n);
/* A timeline of spans in lanes (worker slots), with a seconds axis. */
void vl_svg_timeline(struct vl_strbuf *out, const char *title, const struct vl_span *spans,
                     size_t n, int lanes, const char *const *legend, size_t n_legend);

#endif
