/* svg.c - chart drawing.  Coordinates are computed here; styling lives in
 * the report's <style> block (classes axis, grid, bar, line-N, span-N). */
#include "report/svg.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define PALETTE 8

void vl_html_escape(struct vl_strbuf *out, const char *text)
{
    for (; text && *text; text++) {
        switch (*text) {
        case '&': vl_strbuf_adds(out, "&amp;"); break;
        case '<': vl_strbuf_adds(out, "&lt;"); break;
        case '>': vl_strbuf_adds(out, "&gt;"); break;
        case '"': vl_strbuf_adds(out, "&quot;"); break;
        case '\'': vl_strbuf_adds(out, "&#39;"); break;
        default: vl_strbuf_addch(out, *text);
        }
    }
}

static void open_svg(struct vl_strbuf *out, int w, int h, const char *title)
{
    vl_strbuf_addf(out, "<svg class=\"chart\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
                        "role=\"img\" aria-label=\"", w, h, w, h);
    vl_html_escape(out, title);
    vl_strbuf_adds(out, "\"><title>");
    vl_html_escape(out, title);
    vl_strbuf_addf(out, "</title><text class=\"title\" x=\"%d\" y=\"16\">", 8);
    vl_html_escape(out, title);
    vl_strbuf_adds(out, "</text>\n");
}

/* A "nice" upper bound for an axis: 1, 2 or 5 times a power of ten. */
static double nice_max(double v)
{
    if (!(v > 0)) return 1;
    static const double steps[] = {1, 2, 5, 10};
    double p = pow(10, floor(log10(v)));
    for (size_t i = 0; i < 4; i++)
        if (v <= steps[i] * p) return steps[i] * p;
    return 10 * p;
}

/* "3 clips", "1 clip", "2.50 s": whole numbers plain, others with 2 decimals. */
static void format_value(char *buf, size_t n, double v, const char *unit)
{
    int whole = v == floor(v) && fabs(v) < 1e12;
    size_t ulen = unit ? strlen(unit) : 0;
    int singular = v == 1 && ulen > 1 && unit[ulen - 1] == 's';
    if (whole)
        snprintf(buf, n, "%.0f%s%.*s", v, ulen ? " " : "", (int)(ulen - (size_t)singular),
                 unit ? unit : "");
    else
        snprintf(buf, n, "%.2f%s%s", v, ulen ? " " : "", unit ? unit : "");
}

void vl_svg_bars(struct vl_strbuf *out, const char *title, const char *const *labels,
                 const double *values, size_t n, const char *unit)
{
    const int left = 150, width = 560, row = 22, top = 28;
    int h = top + (int)n * row + 10;
    double max = 0;
    for (size_t i = 0; i < n; i++)
        if (values[i] > max) max = values[i];
    max = nice_max(max);
    open_svg(out, left + width + 90, h, title);
    for (size_t i = 0; i < n; i++) {
        int y = top + (int)i * row;
        double w = values[i] / max * width;
        vl_strbuf_addf(out, "<text class=\"label\" x=\"%d\" y=\"%d\" text-anchor=\"end\">",
                       left - 6, y + 14);
        vl_html_escape(out, labels[i]);
        vl_strbuf_addf(out, "</text><rect class=\"bar span-%zu\" x=\"%d\" y=\"%d\" width=\"%.1f\" "
                            "height=\"%d\"><title>",
                       i % PALETTE, left, y + 2, w < 1 && values[i] > 0 ? 1 : w, row - 6);
        vl_html_escape(out, labels[i]);
        char value[64];
        format_value(value, sizeof value, values[i], unit);
        vl_strbuf_addf(out, ": %s</title></rect><text class=\"value\" x=\"%.1f\" y=\"%d\">%s"
                            "</text>\n",
                       value, left + w + 4, y + 14, value);
    }
    vl_strbuf_adds(out, "</svg>\n");
}

/* The one palette: span-N and line-N both take colour N. */
static const char *const palette[PALETTE] = {"#2563eb", "#16a34a", "#ea580c", "#9333ea",
                                             "#0891b2", "#db2777", "#65a30d", "#78716c"};

void vl_svg_style(struct vl_strbuf *out)
{
    for (size_t i = 0; i < PALETTE; i++)
        vl_strbuf_addf(out, ".span-%zu{fill:%s;stroke:%s}", i, palette[i], palette[i]);
    for (size_t i = 0; i < PALETTE; i++)
        vl_strbuf_addf(out, ".line-%zu{stroke:%s}", i, palette[i]);
}

/* The plot's y coordinate of value v on an axis from lo to hi. */
static double plot_y(double v, double lo, double hi, int top, int height)
{
    return top + height - (v - lo) / (hi - lo) * height;
}

void vl_svg_lines(struct vl_strbuf *out, const char *title, const char *x_label,
                  const struct vl_series *series, size_t n_series)
{
    const int left = 50, top = 28, width = 520, height = 200, legend_x = left + width + 48;
    size_t n = 0;
    int fractions = 0;
    double ymin = INFINITY, ymax = -INFINITY;
    for (size_t s = 0; s < n_series; s++) {
        if (series[s].n > n) n = series[s].n;
        if (series[s].axis == VL_AXIS_FRACTION) {
            fractions = 1;
            continue;
        }
        for (size_t i = 0; i < series[s].n; i++) {
            double y = series[s].y[i];
            if (isnan(y)) continue;
            if (y < ymin) ymin = y;
            if (y > ymax) ymax = y;
        }
    }
    if (!isfinite(ymin)) ymin = 0, ymax = 1;
    if (ymin > 0) ymin = 0;
    ymax = nice_max(ymax);
    open_svg(out, legend_x + 150, top + height + 40, title);
    for (int t = 0; t <= 4; t++) {
        double v = ymin + (ymax - ymin) * t / 4;
        double y = plot_y(v, ymin, ymax, top, height);
        vl_strbuf_addf(out, "<line class=\"grid\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>"
                            "<text class=\"tick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.3g</text>\n",
                       left, left + width, y, y, left - 4, y + 4, v);
        if (fractions)
            vl_strbuf_addf(out, "<text class=\"tick\" x=\"%d\" y=\"%.1f\">%d%%</text>\n",
                           left + width + 4, plot_y(t / 4.0, 0, 1, top, height) + 4, t * 25);
    }
    vl_strbuf_addf(out, "<text class=\"tick\" x=\"%d\" y=\"%d\">%s 1..%zu</text>\n", left,
                   top + height + 18, x_label, n);
    for (size_t s = 0; s < n_series; s++) {
        int fraction = series[s].axis == VL_AXIS_FRACTION;
        double lo = fraction ? 0 : ymin, hi = fraction ? 1 : ymax;
        vl_strbuf_addf(out, "<polyline class=\"line line-%zu\" points=\"", s % PALETTE);
        for (size_t i = 0; i < series[s].n; i++) {
            double v = series[s].y[i];
            if (isnan(v)) continue;
            if (fraction) v = v < 0 ? 0 : v > 1 ? 1 : v;
            double x = left + (n > 1 ? (double)i / (double)(n - 1) * width : width / 2.0);
            vl_strbuf_addf(out, "%.1f,%.1f ", x, plot_y(v, lo, hi, top, height));
        }
        vl_strbuf_adds(out, "\"><title>");
        vl_html_escape(out, series[s].name);
        vl_strbuf_adds(out, "</title></polyline>\n");
        int ly = top + 12 + (int)s * 18;
        vl_strbuf_addf(out, "<rect class=\"span-%zu\" x=\"%d\" y=\"%d\" width=\"12\" height=\"4\"/>"
                            "<text class=\"label\" x=\"%d\" y=\"%d\">",
                       s % PALETTE, legend_x, ly - 4, legend_x + 16, ly);
        vl_html_escape(out, series[s].name);
        vl_strbuf_adds(out, fraction ? " (right axis)</text>\n" : "</text>\n");
    }
    vl_strbuf_adds(out, "</svg>\n");
}

void vl_svg_heatmap(struct vl_strbuf *out, const char *title, const char *const *labels,
                    const double *counts, size_t n)
{
    const int left = 90, top = 40, cell = 40;
    double max = 0;
    for (size_t i = 0; i < n * n; i++)
        if (counts[i] > max) max = counts[i];
    int w = left + (int)n * cell + 20;
    open_svg(out, w < 420 ? 420 : w, top + (int)n * cell + 30, title);
    for (size_t c = 0; c < n; c++) {
        vl_strbuf_addf(out, "<text class=\"tick\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">",
                       left + (int)c * cell + cell / 2, top - 6);
        vl_html_escape(out, labels[c]);
        vl_strbuf_adds(out, "</text>");
    }
    for (size_t r = 0; r < n; r++) {
        vl_strbuf_addf(out, "<text class=\"tick\" x=\"%d\" y=\"%d\" text-anchor=\"end\">",
                       left - 6, top + (int)r * cell + cell / 2 + 4);
        vl_html_escape(out, labels[r]);
        vl_strbuf_adds(out, "</text>");
        for (size_t c = 0; c < n; c++) {
            double v = counts[r * n + c];
            double a = max > 0 ? 0.08 + 0.92 * v / max : 0.08;
            vl_strbuf_addf(out, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
                                "fill=\"rgba(37,99,235,%.2f)\"/><text class=\"%s\" x=\"%d\" y=\"%d\" "
                                "text-anchor=\"middle\">%g</text>\n",
                           left + (int)c * cell, top + (int)r * cell, cell - 2, cell - 2, a,
                           a > 0.5 ? "cell-dark" : "cell", left + (int)c * cell + cell / 2 - 1,
                           top + (int)r * cell + cell / 2 + 4, v);
        }
    }
    vl_strbuf_addf(out, "<text class=\"tick\" x=\"%d\" y=\"%d\">rows: truth, columns: predicted"
                        "</text></svg>\n", left, top + (int)n * cell + 20);
}

void vl_svg_timeline(struct vl_strbuf *out, const char *title, const struct vl_span *spans,
                     size_t n, int lanes, const char *const *legend, size_t n_legend)
{
    const int left = 70, top = 28, width = 620, lane_h = 20;
    double end = 0;
    for (size_t i = 0; i < n; i++)
        if (spans[i].end > end) end = spans[i].end;
    end = nice_max(end);
    int h = top + lanes * lane_h + 40 + ((int)n_legend + 5) / 6 * 16;
    open_svg(out, left + width + 20, h, title);
    for (int l = 0; l < lanes; l++)
        vl_strbuf_addf(out, "<text class=\"tick\" x=\"%d\" y=\"%d\" text-anchor=\"end\">worker %d"
                            "</text>\n", left - 6, top + l * lane_h + 14, l + 1);
    for (int t = 0; t <= 5; t++) {
        double x = left + width * t / 5.0;
        vl_strbuf_addf(out, "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\"/>"
                            "<text class=\"tick\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.3gs"
                            "</text>\n",
                       x, x, top, top + lanes * lane_h, x, top + lanes * lane_h + 14, end * t / 5);
    }
    for (size_t i = 0; i < n; i++) {
        double x = left + spans[i].start / end * width;
        double w = (spans[i].end - spans[i].start) / end * width;
        vl_strbuf_addf(out, "<rect class=\"span span-%d\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" "
                            "height=\"%d\"><title>",
                       spans[i].color % PALETTE, x, top + spans[i].lane * lane_h + 2,
                       w < 1 ? 1 : w, lane_h - 4);
        vl_html_escape(out, spans[i].label);
        vl_strbuf_addf(out, " (%.2f s)</title></rect>\n", spans[i].end - spans[i].start);
    }
    for (size_t i = 0; i < n_legend; i++) {
        int x = left + (int)(i % 6) * 105, y = top + lanes * lane_h + 28 + (int)(i / 6) * 16;
        vl_strbuf_addf(out, "<rect class=\"span-%zu\" x=\"%d\" y=\"%d\" width=\"10\" height=\"10\"/>"
                            "<text class=\"label\" x=\"%d\" y=\"%d\">",
                       i % PALETTE, x, y, x + 14, y + 9);
        vl_html_escape(out, legend[i]);
        vl_strbuf_adds(out, "</text>\n");
    }
    vl_strbuf_adds(out, "</svg>\n");
}
