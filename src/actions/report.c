/* report.c - the `report` built-in: one self-contained HTML file (inline SVG,
 * no scripts, no external resources) about the dataset, the models and the
 * build, from the outputs of earlier rules:
 *
 *   *.json   video metadata written by `probe` (clips, durations, sizes)
 *   *.json   evaluate's metrics ("format": "vlbuild.metrics"): an Evaluation
 *            section with accuracy, top-k, per class and the confusion
 *   *.csv, *.tsv, *.txt   the annotations, one set (train/labels.h,
 *            docs/datasets.md)
 *   *.jsonl  metrics logs written by `train` (one JSON object per epoch;
 *            the last may hold "confusion" and "classes")
 *
 * Other inputs are listed but not read.  The build section comes from the
 * state database: every action's last run, those of this build on a timeline
 * by worker, and the time spent per rule. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions/action.h"
#include "actions/media.h"
#include "report/svg.h"
#include "state/state.h"
#include "train/labels.h"
#include "util/json.h"
#include "util/map.h"
#include "util/vec.h"

struct clip {
    const char *origin, *label;
    double duration;
    int width, height;
    long frames;
};

struct model_log {
    const char *name;
    double *train_loss, *val_loss, *val_acc;
    size_t n, cap;
    const struct vl_json *last;
};

struct run {
    const char *output, *rule;
    double start, end; /* seconds since the build started */
    int lane;
};

struct report {
    struct vl_arena arena;
    struct clip *clips;
    size_t n_clips, cap_clips;
    struct vl_labels labels; /* the annotations (train/labels.h), when have_labels */
    int have_labels;
    const struct vl_json **scores; /* evaluate's metrics */
    const char **score_paths;
    size_t n_scores, cap_scores, cap_score_paths;
    struct model_log *models;
    size_t n_models, cap_models;
    struct run *runs;
    size_t n_runs, cap_runs;
    struct vl_map up_to_date; /* rule -> count (as a pointer-sized integer) */
    const char **rules_seen;
    size_t n_rules_seen, cap_rules_seen;
    int64_t build_start;
    const char **other;
    size_t n_other, cap_other;
};

static const char *ext_of(const char *path)
{
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    return dot && (!slash || dot > slash) ? dot + 1 : "";
}

static const char *base_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* The label of the video at origin in the annotations, or NULL. */
static const char *label_of(struct report *r, const char *origin)
{
    const struct vl_label_row *row;
    struct vl_error ignored;
    if (!r->have_labels || vl_labels_find(&r->labels, origin, &row, &ignored) != 1) return NULL;
    return row->label;
}

static int read_json_file(struct report *r, const char *path, struct vl_json **out,
                          struct vl_error *err)
{
    char *text;
    size_t n;
    if (vl_read_file(path, &text, &n, err) < 0) return -1;
    int rc = vl_json_parse(&r->arena, path, text, n, out, err);
    free(text);
    return rc;
}

static double first_number(const struct vl_json *v, const char *const *keys)
{
    for (; *keys; keys++) {
        double x = vl_json_number(v, *keys, NAN);
        if (!isnan(x)) return x;
    }
    return NAN;
}

/* Accuracy is charted on a 0..1 axis.  train logs fractions; a log in percent
 * (any value above 1) is scaled down whole, so that one series never mixes
 * the two scales. */
static void accuracy_as_fraction(struct model_log *m)
{
    int percent = 0;
    for (size_t i = 0; i < m->n; i++) percent |= m->val_acc[i] > 1;
    for (size_t i = 0; percent && i < m->n; i++) m->val_acc[i] /= 100;
}

static int read_metrics(struct report *r, const char *path, struct vl_error *err)
{
    char *text;
    size_t len;
    if (vl_read_file(path, &text, &len, err) < 0) return -1;
    struct model_log m = {0};
    const char *base = base_of(path);
    m.name = vl_arena_strndup(&r->arena, base, strcspn(base, "."));
    static const char *const train_keys[] = {"train_loss", "loss", NULL};
    static const char *const val_keys[] = {"val_loss", NULL};
    static const char *const acc_keys[] = {"val_accuracy", "val_acc", "accuracy", NULL};
    int rc = 0, line_no = 0;
    for (char *line = text; *line && rc == 0;) {
        char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        line_no++;
        if (n > 0) {
            struct vl_json *v;
            char name[4200];
            snprintf(name, sizeof name, "%s (line %d)", path, line_no);
            rc = vl_json_parse(&r->arena, name, line, n, &v, err);
            if (rc == 0) {
                double a = first_number(v, train_keys), b = first_number(v, val_keys),
                       c = first_number(v, acc_keys);
                if (m.n == m.cap) {
                    m.cap = m.cap ? m.cap * 2 : 16;
                    m.train_loss = realloc(m.train_loss, m.cap * sizeof(double));
                    m.val_loss = realloc(m.val_loss, m.cap * sizeof(double));
                    m.val_acc = realloc(m.val_acc, m.cap * sizeof(double));
                    if (!m.train_loss || !m.val_loss || !m.val_acc) abort();
                }
                m.train_loss[m.n] = a;
                m.val_loss[m.n] = b;
                m.val_acc[m.n] = c;
                m.n++;
                m.last = v;
                const char *model = vl_json_string(v, "model", NULL);
                if (model) m.name = model;
            }
        }
        line = nl ? nl + 1 : line + n;
    }
    free(text);
    accuracy_as_fraction(&m);
    VL_PUSH(r->models, r->n_models, r->cap_models, m);
    return rc;
}

/* Collects one recorded action: a run of this build, or one up to date.
 * up_to_date holds 1 + the count, so that a rule seen is never NULL. */
static void on_action(void *ctx, const char *output, const char *rule, int64_t start_ns,
                      int64_t end_ns)
{
    struct report *r = ctx;
    const char *known = NULL;
    for (size_t i = 0; i < r->n_rules_seen && !known; i++)
        if (!strcmp(r->rules_seen[i], rule ? rule : "?")) known = r->rules_seen[i];
    if (!known) {
        known = vl_arena_strdup(&r->arena, rule ? rule : "?");
        VL_PUSH(r->rules_seen, r->n_rules_seen, r->cap_rules_seen, known);
        vl_map_put(&r->up_to_date, known, (void *)(intptr_t)1);
    }
    if (r->build_start > 0 && start_ns >= r->build_start) {
        struct run run = {vl_arena_strdup(&r->arena, output), known,
                          (double)(start_ns - r->build_start) / 1e9,
                          (double)(end_ns - r->build_start) / 1e9, 0};
        VL_PUSH(r->runs, r->n_runs, r->cap_runs, run);
    } else {
        intptr_t n = (intptr_t)vl_map_get(&r->up_to_date, known);
        vl_map_put(&r->up_to_date, known, (void *)(n + 1));
    }
}

static size_t rule_index(const struct report *r, const char *rule)
{
    for (size_t i = 0; i < r->n_rules_seen; i++)
        if (!strcmp(r->rules_seen[i], rule)) return i;
    return 0;
}

/* Puts each run of this build in the first lane free at its start. */
static int assign_lanes(struct report *r)
{
    double lane_end[64];
    int lanes = 0;
    for (size_t i = 0; i < r->n_runs; i++) {
        struct run *run = &r->runs[i];
        int l = 0;
        while (l < lanes && lane_end[l] > run->start + 1e-6) l++;
        if (l == lanes && lanes < 64) lanes++;
        if (l >= 64) l = 63;
        run->lane = l;
        lane_end[l] = run->end;
    }
    return lanes;
}

static const char style[] =
    "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:980px;color:#1f2937}"
    "h1{font-size:1.6em}h2{border-bottom:1px solid #e5e7eb;padding-bottom:.2em;margin-top:1.6em}"
    "table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #e5e7eb;padding:.25em .6em;"
    "text-align:right}th{background:#f9fafb}td:first-child,th:first-child{text-align:left}"
    ".chart{display:block;margin:.6em 0}.title{font-weight:600;font-size:13px}"
    ".label,.value,.tick{font-size:11px;fill:#374151}.grid{stroke:#e5e7eb}"
    ".line{fill:none;stroke-width:2}.cell{font-size:11px;fill:#1f2937}"
    ".cell-dark{font-size:11px;fill:#fff}.models{display:flex;flex-wrap:wrap;gap:1em}"
    ".models>div{flex:1 1 440px}";

static void dataset_section(struct report *r, struct vl_strbuf *h)
{
    vl_strbuf_addf(h, "<h2>Dataset</h2>\n<p>%zu clips", r->n_clips);
    double total = 0;
    for (size_t i = 0; i < r->n_clips; i++) total += r->clips[i].duration;
    vl_strbuf_addf(h, ", %.1f s of video in all.</p>\n", total);
    if (!r->n_clips) return;
    /* clips per class */
    const char *classes[64];
    double counts[64];
    size_t n_classes = 0;
    for (size_t i = 0; i < r->n_clips; i++) {
        const char *l = r->clips[i].label ? r->clips[i].label : "(unlabelled)";
        size_t k = 0;
        while (k < n_classes && strcmp(classes[k], l)) k++;
        if (k == n_classes && n_classes < 64) classes[n_classes] = l, counts[n_classes++] = 0;
        if (k < 64) counts[k]++;
    }
    vl_svg_bars(h, "Clips per class", classes, counts, n_classes, "clips");
    /* durations, in buckets of one second */
    const char *bucket_names[12];
    double bucket_counts[12] = {0};
    char names[12][24];
    for (int b = 0; b < 12; b++) {
        snprintf(names[b], sizeof names[b], b == 11 ? "%d s or more" : "%d-%d s", b, b + 1);
        bucket_names[b] = names[b];
    }
    int last = 0;
    for (size_t i = 0; i < r->n_clips; i++) {
        int b = (int)r->clips[i].duration;
        if (b > 11) b = 11;
        if (b < 0) b = 0;
        bucket_counts[b]++;
        if (b > last) last = b;
    }
    vl_svg_bars(h, "Clip durations", bucket_names, bucket_counts, (size_t)last + 1, "clips");
    /* frame sizes */
    vl_strbuf_adds(h, "<table><tr><th>frame size</th><th>clips</th></tr>\n");
    for (size_t i = 0; i < r->n_clips; i++) {
        int seen = 0;
        for (size_t k = 0; k < i; k++)
            seen |= r->clips[k].width == r->clips[i].width && r->clips[k].height == r->clips[i].height;
        if (seen) continue;
        int n = 0;
        for (size_t k = i; k < r->n_clips; k++)
            n += r->clips[k].width == r->clips[i].width && r->clips[k].height == r->clips[i].height;
        vl_strbuf_addf(h, "<tr><td>%dx%d</td><td>%d</td></tr>\n", r->clips[i].width,
                       r->clips[i].height, n);
    }
    vl_strbuf_adds(h, "</table>\n");
}

/* A confusion heatmap from a JSON [true][predicted] array, named by classes. */
static void confusion_chart(struct vl_strbuf *h, const char *name, const struct vl_json *conf,
                            const struct vl_json *classes, const char *split)
{
    char title[256];
    if (conf && conf->type == VL_JSON_ARRAY && conf->len > 0 && conf->len <= 32) {
        size_t n = conf->len;
        double *counts = calloc(n * n, sizeof *counts);
        const char **labels = calloc(n, sizeof *labels);
        char (*names)[16] = calloc(n, sizeof *names);
        if (!counts || !labels || !names) abort();
        for (size_t row = 0; row < n; row++) {
            const struct vl_json *rv = conf->items[row];
            for (size_t col = 0; rv->type == VL_JSON_ARRAY && col < rv->len && col < n; col++)
                counts[row * n + col] = rv->items[col]->number;
            const struct vl_json *cn =
                classes && classes->type == VL_JSON_ARRAY && row < classes->len
                    ? classes->items[row] : NULL;
            snprintf(names[row], sizeof names[row], "%zu", row);
            labels[row] = cn && cn->type == VL_JSON_STRING ? cn->string : names[row];
        }
        snprintf(title, sizeof title, "%s: confusion matrix (%s)", name, split);
        vl_svg_heatmap(h, title, labels, counts, n);
        free(counts);
        free(labels);
        free(names);
    }
}

static void models_section(struct report *r, struct vl_strbuf *h)
{
    vl_strbuf_addf(h, "<h2>Models</h2>\n");
    if (!r->n_models) {
        vl_strbuf_adds(h, "<p>No metrics logs among the inputs.</p>\n");
        return;
    }
    vl_strbuf_adds(h, "<table><tr><th>model</th><th>epochs</th><th>final train loss</th>"
                      "<th>final val loss</th><th>val accuracy</th></tr>\n");
    for (size_t i = 0; i < r->n_models; i++) {
        struct model_log *m = &r->models[i];
        vl_strbuf_adds(h, "<tr><td>");
        vl_html_escape(h, m->name);
        double acc = m->n ? m->val_acc[m->n - 1] : NAN;
        vl_strbuf_addf(h, "</td><td>%zu</td><td>%.4f</td><td>%.4f</td><td>%.1f%%</td></tr>\n",
                       m->n, m->n ? m->train_loss[m->n - 1] : NAN,
                       m->n ? m->val_loss[m->n - 1] : NAN, acc * 100);
    }
    vl_strbuf_adds(h, "</table>\n<div class=\"models\">\n");
    for (size_t i = 0; i < r->n_models; i++) {
        struct model_log *m = &r->models[i];
        vl_strbuf_adds(h, "<div>\n");
        struct vl_series s[3] = {{"train loss", m->train_loss, m->n, VL_AXIS_VALUE},
                                 {"val loss", m->val_loss, m->n, VL_AXIS_VALUE},
                                 {"val accuracy", m->val_acc, m->n, VL_AXIS_FRACTION}};
        char title[256];
        snprintf(title, sizeof title, "%s: training curves", m->name);
        vl_svg_lines(h, title, "epoch", s, 3);
        confusion_chart(h, m->name, vl_json_get(m->last, "confusion"),
                        vl_json_get(m->last, "classes"), "validation");
        vl_strbuf_adds(h, "</div>\n");
    }
    vl_strbuf_adds(h, "</div>\n");
}

static void build_section(struct report *r, struct vl_strbuf *h)
{
    int lanes = assign_lanes(r);
    size_t up = 0;
    for (size_t i = 0; i < r->n_rules_seen; i++)
        up += (size_t)(intptr_t)vl_map_get(&r->up_to_date, r->rules_seen[i]) - 1;
    vl_strbuf_addf(h, "<h2>Build</h2>\n<p>This build ran %zu actions before the report; %zu "
                      "were up to date.</p>\n", r->n_runs, up);
    struct vl_span *spans = calloc(r->n_runs + 1, sizeof *spans);
    if (!spans) abort();
    for (size_t i = 0; i < r->n_runs; i++)
        spans[i] = (struct vl_span){r->runs[i].lane, r->runs[i].start, r->runs[i].end,
                                    r->runs[i].output, (int)rule_index(r, r->runs[i].rule)};
    if (r->n_runs)
        vl_svg_timeline(h, "Timeline of this build, by worker", spans, r->n_runs,
                        lanes ? lanes : 1, r->rules_seen, r->n_rules_seen);
    free(spans);
    double *seconds = calloc(r->n_rules_seen + 1, sizeof *seconds);
    if (!seconds) abort();
    for (size_t i = 0; i < r->n_runs; i++)
        seconds[rule_index(r, r->runs[i].rule)] += r->runs[i].end - r->runs[i].start;
    if (r->n_runs) vl_svg_bars(h, "Time per rule in this build", r->rules_seen, seconds,
                               r->n_rules_seen, "s");
    vl_strbuf_adds(h, "<table><tr><th>rule</th><th>ran in this build</th><th>up to date</th>"
                      "<th>seconds</th></tr>\n");
    for (size_t k = 0; k < r->n_rules_seen; k++) {
        size_t ran = 0;
        for (size_t i = 0; i < r->n_runs; i++) ran += !strcmp(r->runs[i].rule, r->rules_seen[k]);
        vl_strbuf_adds(h, "<tr><td>");
        vl_html_escape(h, r->rules_seen[k]);
        vl_strbuf_addf(h, "</td><td>%zu</td><td>%zu</td><td>%.2f</td></tr>\n", ran,
                       (size_t)(intptr_t)vl_map_get(&r->up_to_date, r->rules_seen[k]) - 1,
                       seconds[k]);
    }
    vl_strbuf_adds(h, "</table>\n");
    free(seconds);
}

/* 1 for the annotation files the report reads: text files (.csv, .tsv, .txt). */
static int is_annotation(const char *ext)
{
    return !strcmp(ext, "csv") || !strcmp(ext, "tsv") || !strcmp(ext, "txt");
}

static int gather(struct report *r, struct vl_action_job *job, struct vl_error *err)
{
    const char **files = calloc(job->n_inputs + 1, sizeof *files);
    if (!files) abort();
    size_t n_files = 0;
    for (size_t i = 0; i < job->n_inputs; i++)
        if (is_annotation(ext_of(job->inputs[i]))) files[n_files++] = job->inputs[i];
    int rc = n_files ? vl_labels_read_set(files, n_files, VL_LABELS_AUTO, &r->labels, err) : 0;
    free(files);
    if (rc < 0) return -1;
    r->have_labels = n_files > 0;
    for (size_t i = 0; i < job->n_inputs; i++) {
        const char *path = job->inputs[i], *ext = ext_of(path);
        if (!strcmp(ext, "jsonl")) {
            if (read_metrics(r, path, err) < 0) return -1;
        } else if (!strcmp(ext, "json")) {
            struct vl_json *v;
            if (read_json_file(r, path, &v, err) < 0) return -1;
            if (!strcmp(vl_json_string(v, "format", ""), "vlbuild.metrics")) {
                if (vl_json_number(v, "version", 0) != 1)
                    return vl_error_set(err, "%s: metrics version %g is not 1", path,
                                        vl_json_number(v, "version", 0));
                VL_PUSH(r->scores, r->n_scores, r->cap_scores, v);
                size_t n = r->n_scores - 1;
                VL_PUSH(r->score_paths, n, r->cap_score_paths, path);
                continue;
            }
            if (!vl_json_get(v, "codec") || !vl_json_get(v, "frames")) continue;
            const char *origin = job->input_origins ? job->input_origins[i] : path;
            struct clip c = {origin, label_of(r, origin), vl_json_number(v, "duration", 0),
                             (int)vl_json_number(v, "width", 0), (int)vl_json_number(v, "height", 0),
                             (long)vl_json_number(v, "frames", 0)};
            VL_PUSH(r->clips, r->n_clips, r->cap_clips, c);
        } else if (!is_annotation(ext)) {
            VL_PUSH(r->other, r->n_other, r->cap_other, path);
        }
        if (vl_action_cancelled(job)) return vl_error_set(err, "cancelled");
    }
    return 0;
}

/* A ratio of a metrics JSON as a percentage, or a dash for null. */
static void add_percent(struct vl_strbuf *h, const struct vl_json *v)
{
    if (v && v->type == VL_JSON_NUMBER) vl_strbuf_addf(h, "%.1f%%", v->number * 100);
    else vl_strbuf_adds(h, "-");
}

/* evaluate's metrics (format in actions/evaluate.c): scores, per class, confusion. */
static void scores_section(struct report *r, struct vl_strbuf *h)
{
    if (!r->n_scores) return;
    vl_strbuf_adds(h, "<h2>Evaluation</h2>\n<table><tr><th>metrics</th><th>videos</th>"
                      "<th>accuracy</th><th>top-k accuracy</th></tr>\n");
    for (size_t i = 0; i < r->n_scores; i++) {
        const struct vl_json *m = r->scores[i];
        vl_strbuf_adds(h, "<tr><td>");
        vl_html_escape(h, r->score_paths[i]);
        vl_strbuf_addf(h, "</td><td>%.0f</td><td class=\"accuracy\">",
                       vl_json_number(m, "videos", 0));
        add_percent(h, vl_json_get(m, "accuracy"));
        vl_strbuf_addf(h, "</td><td>top-%.0f: ", vl_json_number(m, "top_k", 0));
        add_percent(h, vl_json_get(m, "top_k_accuracy"));
        vl_strbuf_adds(h, "</td></tr>\n");
    }
    vl_strbuf_adds(h, "</table>\n");
    for (size_t i = 0; i < r->n_scores; i++) {
        const struct vl_json *per = vl_json_get(r->scores[i], "per_class");
        if (!per || per->type != VL_JSON_ARRAY) continue;
        vl_strbuf_adds(h, "<table><tr><th>class</th><th>videos</th><th>predicted</th>"
                          "<th>precision</th><th>recall</th></tr>\n");
        for (size_t c = 0; c < per->len; c++) {
            const struct vl_json *pc = per->items[c];
            vl_strbuf_adds(h, "<tr><td>");
            vl_html_escape(h, vl_json_string(pc, "class", "?"));
            vl_strbuf_addf(h, "</td><td>%.0f</td><td>%.0f</td><td>", vl_json_number(pc, "support", 0),
                           vl_json_number(pc, "predicted", 0));
            add_percent(h, vl_json_get(pc, "precision"));
            vl_strbuf_adds(h, "</td><td>");
            add_percent(h, vl_json_get(pc, "recall"));
            vl_strbuf_adds(h, "</td></tr>\n");
        }
        vl_strbuf_adds(h, "</table>\n");
        confusion_chart(h, r->score_paths[i], vl_json_get(r->scores[i], "confusion"),
                        vl_json_get(r->scores[i], "classes"), "test");
    }
}

int vl_action_report_run(struct vl_action_job *job, struct vl_error *err)
{
    struct report r = {0};
    r.build_start = job->build_start_ns;
    int rc = gather(&r, job, err);
    if (rc == 0 && job->state_path) {
        struct vl_error ignored;
        if (vl_state_read_actions(job->state_path, on_action, &r, &ignored) < 0)
            vl_strbuf_addf(job->log, "report: no build history (%s)\n", ignored.msg);
    }
    if (rc == 0) {
        struct vl_strbuf h = VL_STRBUF_INIT;
        const char *title = vl_params_get(job->params, "title")->text;
        vl_strbuf_adds(&h, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                           "<title>");
        vl_html_escape(&h, title);
        vl_strbuf_addf(&h, "</title><style>%s", style);
        vl_svg_style(&h);
        vl_strbuf_adds(&h, "</style></head><body>\n<h1>");
        vl_html_escape(&h, title);
        vl_strbuf_adds(&h, "</h1>\n");
        dataset_section(&r, &h);
        models_section(&r, &h);
        scores_section(&r, &h);
        build_section(&r, &h);
        if (r.n_other) {
            vl_strbuf_addf(&h, "<h2>Other inputs</h2><p>%zu files, such as ", r.n_other);
            vl_html_escape(&h, r.other[0]);
            vl_strbuf_adds(&h, ".</p>\n");
        }
        vl_strbuf_adds(&h, "<footer><p>Written by vlbuild.</p></footer></body></html>\n");
        rc = vl_write_file_atomic(job->outputs[0], h.buf, h.len, err);
        vl_strbuf_release(&h);
    }
    for (size_t i = 0; i < r.n_models; i++) {
        free(r.models[i].train_loss);
        free(r.models[i].val_loss);
        free(r.models[i].val_acc);
    }
    free(r.models);
    free(r.clips);
    free(r.runs);
    free(r.rules_seen);
    free(r.other);
    if (r.have_labels) vl_labels_free(&r.labels);
    free(r.scores);
    free(r.score_paths);
    vl_map_release(&r.up_to_date);
    vl_arena_release(&r.arena);
    return rc;
}
