/* params.c - validation of `name=value` parameters against an action's specs. */
#include "actions/action.h"
#include "util/size.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_number(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

static int in_choices(const char *choices, const char *word, size_t n)
{
    const char *p = choices;
    while (*p) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, word, n) == 0) return 1;
        if (!bar) break;
        p = bar + 1;
    }
    return 0;
}

/* Formats a number canonically, in the shortest form that reads back to the
 * same double, so that "0.50" and "0.5" give the same action key. */
static void add_number(struct vl_strbuf *sb, double v)
{
    if (v == floor(v) && fabs(v) < 1e15) {
        vl_strbuf_addf(sb, "%lld", (long long)v);
        return;
    }
    char buf[64];
    for (int digits = 6; digits <= 17; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, v);
        if (strtod(buf, NULL) == v) break;
    }
    vl_strbuf_adds(sb, buf);
}

static int check_range(const struct vl_param_spec *s, double v, struct vl_error *err)
{
    if (v < s->min || v > s->max) {
        struct vl_strbuf lo = VL_STRBUF_INIT, hi = VL_STRBUF_INIT;
        add_number(&lo, s->min);
        add_number(&hi, s->max);
        vl_error_set(err, "parameter %s: value out of range (expected %s to %s)", s->name, lo.buf,
                     hi.buf);
        vl_strbuf_release(&lo);
        vl_strbuf_release(&hi);
        return -1;
    }
    return 0;
}

/* Validates one value of spec s; fills v (text allocated with malloc). */
static int parse_value(const struct vl_param_spec *s, const char *text, struct vl_param_value *v,
                       struct vl_error *err)
{
    struct vl_strbuf canon = VL_STRBUF_INIT;
    v->spec = s;
    switch (s->type) {
    case VL_PARAM_INT:
    case VL_PARAM_FLOAT:
        if (parse_number(text, &v->num) < 0)
            return vl_error_set(err, "parameter %s: expected a number, got '%s'", s->name, text);
        if (s->type == VL_PARAM_INT && v->num != floor(v->num))
            return vl_error_set(err, "parameter %s: expected an integer, got '%s'", s->name, text);
        if (check_range(s, v->num, err) < 0) return -1;
        add_number(&canon, v->num);
        break;
    case VL_PARAM_BOOL:
        if (!strcmp(text, "true") || !strcmp(text, "1") || !strcmp(text, "yes"))
            v->num = 1;
        else if (!strcmp(text, "false") || !strcmp(text, "0") || !strcmp(text, "no"))
            v->num = 0;
        else
            return vl_error_set(err, "parameter %s: expected true or false, got '%s'", s->name,
                                text);
        vl_strbuf_adds(&canon, v->num ? "true" : "false");
        break;
    case VL_PARAM_STRING:
        vl_strbuf_adds(&canon, text);
        break;
    case VL_PARAM_ENUM:
        if (!in_choices(s->choices, text, strlen(text)))
            return vl_error_set(err, "parameter %s: expected one of %s, got '%s'", s->name,
                                s->choices, text);
        vl_strbuf_adds(&canon, text);
        break;
    case VL_PARAM_LIST: {
        const char *p = text;
        for (;;) {
            const char *comma = strchr(p, ',');
            size_t n = comma ? (size_t)(comma - p) : strlen(p);
            if (!in_choices(s->choices, p, n)) {
                vl_strbuf_release(&canon);
                return vl_error_set(err, "parameter %s: '%.*s' is not one of %s", s->name, (int)n,
                                    p, s->choices);
            }
            for (const char *q = text; q < p;) { /* the words before this one */
                size_t m = strcspn(q, ",");
                if (m == n && !strncmp(q, p, n)) {
                    vl_strbuf_release(&canon);
                    return vl_error_set(err, "parameter %s: '%.*s' listed twice", s->name, (int)n,
                                        p);
                }
                q += m + 1;
            }
            if (!comma) break;
            p = comma + 1;
        }
        vl_strbuf_adds(&canon, text);
        break;
    }
    case VL_PARAM_SIZE: {
        const char *x = strchr(text, 'x');
        char a[64], b[64];
        if (!x || (size_t)(x - text) >= sizeof a || strlen(x + 1) >= sizeof b)
            return vl_error_set(err, "parameter %s: expected WIDTHxHEIGHT, got '%s'", s->name,
                                text);
        memcpy(a, text, (size_t)(x - text));
        a[x - text] = '\0';
        strcpy(b, x + 1);
        if (parse_number(a, &v->num) < 0 || parse_number(b, &v->num2) < 0 ||
            v->num != floor(v->num) || v->num2 != floor(v->num2))
            return vl_error_set(err, "parameter %s: expected WIDTHxHEIGHT, got '%s'", s->name,
                                text);
        if (check_range(s, v->num, err) < 0 || check_range(s, v->num2, err) < 0) return -1;
        vl_strbuf_addf(&canon, "%lldx%lld", (long long)v->num, (long long)v->num2);
        break;
    }
    case VL_PARAM_RANGE: {
        const char *colon = strchr(text, ':');
        char a[64];
        if (colon) {
            if ((size_t)(colon - text) >= sizeof a)
                return vl_error_set(err, "parameter %s: expected LOW:HIGH, got '%s'", s->name,
                                    text);
            memcpy(a, text, (size_t)(colon - text));
            a[colon - text] = '\0';
            if (parse_number(a, &v->num) < 0 || parse_number(colon + 1, &v->num2) < 0)
                return vl_error_set(err, "parameter %s: expected LOW:HIGH, got '%s'", s->name,
                                    text);
        } else {
            if (parse_number(text, &v->num) < 0)
                return vl_error_set(err, "parameter %s: expected LOW:HIGH, got '%s'", s->name,
                                    text);
            v->num2 = v->num;
        }
        if (v->num > v->num2)
            return vl_error_set(err, "parameter %s: low end %s is above high end", s->name, text);
        if (check_range(s, v->num, err) < 0 || check_range(s, v->num2, err) < 0) return -1;
        add_number(&canon, v->num);
        vl_strbuf_addch(&canon, ':');
        add_number(&canon, v->num2);
        break;
    }
    case VL_PARAM_BYTES: {
        uint64_t bytes;
        if (vl_parse_size(text, &bytes) < 0)
            return vl_error_set(err, "parameter %s: expected a size such as 256M, got '%s'",
                                s->name, text);
        v->num = (double)bytes;
        if (check_range(s, v->num, err) < 0) return -1;
        add_number(&canon, v->num);
        break;
    }
    }
    v->text = vl_strbuf_detach(&canon, NULL);
    return 0;
}

int vl_params_parse(const struct vl_action_def *def, const char *const *words, size_t n_words,
                    struct vl_params *out, int *bad_index, struct vl_error *err)
{
    size_t n_specs = 0;
    while (def->params && def->params[n_specs].name) n_specs++;
    const char **given = calloc(n_specs + 1, sizeof *given);
    int *given_at = calloc(n_specs + 1, sizeof *given_at);
    if (!given || !given_at) abort();
    *bad_index = -1;
    out->values = NULL;
    out->len = 0;
    int rc = 0;
    for (size_t w = 0; w < n_words && rc == 0; w++) {
        const char *eq = strchr(words[w], '=');
        *bad_index = (int)w;
        if (!eq || eq == words[w]) {
            rc = vl_error_set(err, "expected name=value, got '%s'", words[w]);
            break;
        }
        size_t n = (size_t)(eq - words[w]);
        size_t i;
        for (i = 0; i < n_specs; i++)
            if (strlen(def->params[i].name) == n && !strncmp(def->params[i].name, words[w], n))
                break;
        if (i == n_specs) {
            struct vl_strbuf known = VL_STRBUF_INIT;
            for (size_t k = 0; k < n_specs; k++)
                vl_strbuf_addf(&known, "%s%s", k ? ", " : "", def->params[k].name);
            rc = vl_error_set(err, "action %s has no parameter '%.*s' (it takes: %s)", def->name,
                              (int)n, words[w], n_specs ? known.buf : "none");
            vl_strbuf_release(&known);
            break;
        }
        if (given[i]) {
            rc = vl_error_set(err, "parameter %s given twice", def->params[i].name);
            break;
        }
        given[i] = eq + 1;
        given_at[i] = (int)w;
    }
    if (rc == 0) {
        out->values = calloc(n_specs + 1, sizeof *out->values);
        if (!out->values) abort();
        for (size_t i = 0; i < n_specs && rc == 0; i++) {
            const struct vl_param_spec *s = &def->params[i];
            const char *text = given[i] ? given[i] : s->default_value;
            *bad_index = given[i] ? given_at[i] : -1;
            if (!text) {
                rc = vl_error_set(err, "action %s needs parameter %s (%s)", def->name, s->name,
                                  s->help ? s->help : "required");
                break;
            }
            rc = parse_value(s, text, &out->values[i], err);
            if (rc == 0) out->len++;
        }
        if (rc == 0 && def->check) {
            *bad_index = -1;
            rc = def->check(out, err);
        }
    }
    free(given);
    free(given_at);
    if (rc < 0) vl_params_release(out);
    else *bad_index = -1;
    return rc;
}

void vl_params_release(struct vl_params *p)
{
    for (size_t i = 0; i < p->len; i++) free((char *)p->values[i].text);
    free(p->values);
    p->values = NULL;
    p->len = 0;
}

const struct vl_param_value *vl_params_get(const struct vl_params *p, const char *name)
{
    for (size_t i = 0; i < p->len; i++)
        if (!strcmp(p->values[i].spec->name, name)) return &p->values[i];
    fprintf(stderr, "vlbuild: internal error: no parameter %s\n", name);
    abort();
}

int vl_param_in_key(const struct vl_param_value *v)
{
    return !v->spec->key_omit || !in_choices(v->spec->key_omit, v->text, strlen(v->text));
}

void vl_params_canonical(const struct vl_params *p, struct vl_strbuf *out)
{
    size_t n = 0;
    for (size_t i = 0; i < p->len; i++) {
        if (!vl_param_in_key(&p->values[i])) continue;
        vl_strbuf_addf(out, "%s%s=%s", n++ ? " " : "", p->values[i].spec->name,
                       p->values[i].text);
    }
}
