/* test_report_charts.c - the report's line chart, read back from the SVG it
 * writes: each legend swatch has its line's colour (through the palette CSS
 * of vl_svg_style), and accuracy is drawn on its own 0..100% axis, so a loss
 * that starts at 4 leaves it readable. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/svg.h"
#include "test.h"

/* The colour the CSS gives `prop` in the rule for `selector` ("" when none). */
static const char *css_colour(const char *css, const char *selector, const char *prop, char out[16])
{
    char want[64];
    snprintf(want, sizeof want, "%s{", selector);
    const char *rule = strstr(css, want);
    out[0] = '\0';
    if (!rule) return out;
    const char *end = strchr(rule, '}');
    char key[32];
    snprintf(key, sizeof key, "%s:", prop);
    const char *at = strstr(rule, key);
    if (!at || at > end) return out;
    at += strlen(key);
    size_t n = strcspn(at, ";}");
    if (n >= 16) n = 15;
    memcpy(out, at, n);
    out[n] = '\0';
    return out;
}

/* The last `class="PREFIX<digits>` before `before`; -1 when none. */
static int last_class_index(const char *from, const char *before, const char *prefix)
{
    int found = -1;
    size_t len = strlen(prefix);
    for (const char *p = strstr(from, prefix); p && p < before; p = strstr(p + 1, prefix))
        found = atoi(p + len);
    return found;
}

struct drawn {
    int line_class, swatch_class;
    double ys[16];
    size_t n_points;
};

/* Finds the polyline titled `name` and the legend swatch beside the legend text
 * `name`; fills in their palette classes and the polyline's y coordinates. */
static int find_series(const char *svg, const char *name, struct drawn *d)
{
    char title[128], legend[128];
    snprintf(title, sizeof title, "<title>%s</title></polyline>", name);
    snprintf(legend, sizeof legend, "\">%s", name);
    const char *t = strstr(svg, title);
    if (!t) return -1;
    const char *poly = t;
    while (poly > svg && strncmp(poly, "<polyline", 9))
        poly--;
    d->line_class = last_class_index(poly, t, "class=\"line line-");
    const char *pts = strstr(poly, "points=\"") + 8;
    d->n_points = 0;
    while (*pts != '"' && d->n_points < 16) {
        double x, y;
        int used;
        if (sscanf(pts, "%lf,%lf %n", &x, &y, &used) != 2) break;
        d->ys[d->n_points++] = y;
        pts += used;
    }
    const char *text = strstr(t, legend);
    if (!text) return -1;
    d->swatch_class = last_class_index(t, text, "<rect class=\"span-");
    return 0;
}

/* The y of the gridline that the tick labelled `label` marks (its text sits 4 below). */
static double tick_y(const char *svg, const char *label)
{
    char want[32];
    snprintf(want, sizeof want, "\">%s</text>", label);
    const char *at = strstr(svg, want);
    if (!at) return NAN;
    while (at > svg && strncmp(at, " y=\"", 4))
        at--;
    return atof(at + 4) - 4;
}

static void check_swatch_matches_line(const char *css, const char *svg, const char *name)
{
    struct drawn d;
    CHECK(find_series(svg, name, &d) == 0);
    CHECK(d.line_class >= 0 && d.swatch_class >= 0);
    char sel[32], stroke[16], fill[16];
    snprintf(sel, sizeof sel, ".line-%d", d.line_class);
    css_colour(css, sel, "stroke", stroke);
    snprintf(sel, sizeof sel, ".span-%d", d.swatch_class);
    css_colour(css, sel, "fill", fill);
    CHECK(stroke[0] == '#');
    CHECK_STR(fill, stroke);
}

int main(void)
{
    const double train[] = {4.0, 2.3, 1.5, 0.8, 0.5};
    const double val[] = {6.1, 7.2, 7.7, 7.5, 7.6};
    const double acc[] = {0.25, 0.5, NAN, 0.9, 1.5}; /* 1.5: out of range, clamped */
    const struct vl_series series[] = {{"train loss", train, 5, VL_AXIS_VALUE},
                                       {"val loss", val, 5, VL_AXIS_VALUE},
                                       {"val accuracy", acc, 5, VL_AXIS_FRACTION}};
    struct vl_strbuf css = VL_STRBUF_INIT, svg = VL_STRBUF_INIT;
    vl_svg_style(&css);
    vl_svg_lines(&svg, "svm: training curves", "epoch", series, 3);

    /* every legend swatch shows its own line's colour */
    for (size_t i = 0; i < 3; i++)
        check_swatch_matches_line(css.buf, svg.buf, series[i].name);
    /* and the palette has distinct colours, so a swap would show */
    char a[16], b[16];
    CHECK(strcmp(css_colour(css.buf, ".line-1", "stroke", a),
                 css_colour(css.buf, ".line-2", "stroke", b)) != 0);

    /* accuracy lies on its own axis, 0% at the bottom and 100% at the top */
    double y0 = tick_y(svg.buf, "0%"), y100 = tick_y(svg.buf, "100%");
    CHECK(isfinite(y0) && isfinite(y100) && y100 < y0);
    struct drawn d;
    CHECK(find_series(svg.buf, "val accuracy", &d) == 0);
    CHECK(d.n_points == 4); /* the NaN epoch draws no point */
    const double want[] = {0.25, 0.5, 0.9, 1.0};
    for (size_t i = 0; i < d.n_points && i < 4; i++) {
        CHECK(d.ys[i] >= y100 - 0.05 && d.ys[i] <= y0 + 0.05);
        CHECK(fabs(d.ys[i] - (y0 - want[i] * (y0 - y100))) < 0.11);
    }
    /* the losses keep the left axis, scaled to them: 7.7 is near its top */
    CHECK_CONTAINS(svg.buf, ">10</text>");
    CHECK(find_series(svg.buf, "val loss", &d) == 0);
    CHECK(d.n_points == 5 && d.ys[2] < d.ys[0]);

    /* a chart with no fraction series has no percent axis */
    struct vl_strbuf plain = VL_STRBUF_INIT;
    vl_svg_lines(&plain, "losses", "epoch", series, 2);
    CHECK(!strstr(plain.buf, "100%"));

    vl_strbuf_release(&css);
    vl_strbuf_release(&svg);
    vl_strbuf_release(&plain);
    TEST_DONE();
}
