/* json.c - a recursive-descent JSON parser with a depth limit. */
#include "util/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strbuf.h"

#define MAX_DEPTH 64

struct parser {
    struct vl_arena *arena;
    const char *name, *s, *end, *start;
    struct vl_error *err;
};

static int fail(struct parser *p, const char *what)
{
    int line = 1, col = 1;
    for (const char *c = p->start; c < p->s && c < p->end; c++) {
        if (*c == '\n') line++, col = 1;
        else col++;
    }
    return vl_error_set(p->err, "%s:%d:%d: %s", p->name, line, col, what);
}

static void skip_space(struct parser *p)
{
    while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r'))
        p->s++;
}

static int literal(struct parser *p, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(p->end - p->s) < n || memcmp(p->s, word, n) != 0) return fail(p, "invalid literal");
    p->s += n;
    return 0;
}

static int hex4(struct parser *p, unsigned *out)
{
    if (p->end - p->s < 4) return fail(p, "truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p->s[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return fail(p, "bad \\u escape");
    }
    p->s += 4;
    *out = v;
    return 0;
}

static void add_utf8(struct vl_strbuf *sb, unsigned cp)
{
    if (cp < 0x80) {
        vl_strbuf_addch(sb, (char)cp);
    } else if (cp < 0x800) {
        vl_strbuf_addch(sb, (char)(0xc0 | cp >> 6));
        vl_strbuf_addch(sb, (char)(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        vl_strbuf_addch(sb, (char)(0xe0 | cp >> 12));
        vl_strbuf_addch(sb, (char)(0x80 | ((cp >> 6) & 0x3f)));
        vl_strbuf_addch(sb, (char)(0x80 | (cp & 0x3f)));
    } else {
        vl_strbuf_addch(sb, (char)(0xf0 | cp >> 18));
        vl_strbuf_addch(sb, (char)(0x80 | ((cp >> 12) & 0x3f)));
        vl_strbuf_addch(sb, (char)(0x80 | ((cp >> 6) & 0x3f)));
        vl_strbuf_addch(sb, (char)(0x80 | (cp & 0x3f)));
    }
}

static int parse_string(struct parser *p, const char **out)
{
    struct vl_strbuf sb = VL_STRBUF_INIT;
    p->s++; /* the opening quote */
    for (;;) {
        if (p->s >= p->end) {
            vl_strbuf_release(&sb);
            return fail(p, "unterminated string");
        }
        char c = *p->s++;
        if (c == '"') break;
        if ((unsigned char)c < 0x20) {
            vl_strbuf_release(&sb);
            return fail(p, "control character in string");
        }
        if (c != '\\') {
            vl_strbuf_addch(&sb, c);
            continue;
        }
        if (p->s >= p->end) break;
        c = *p->s++;
        unsigned cp;
        switch (c) {
        case '"': case '\\': case '/': vl_strbuf_addch(&sb, c); break;
        case 'b': vl_strbuf_addch(&sb, '\b'); break;
        case 'f': vl_strbuf_addch(&sb, '\f'); break;
        case 'n': vl_strbuf_addch(&sb, '\n'); break;
        case 'r': vl_strbuf_addch(&sb, '\r'); break;
        case 't': vl_strbuf_addch(&sb, '\t'); break;
        case 'u':
            if (hex4(p, &cp) < 0) {
                vl_strbuf_release(&sb);
                return -1;
            }
            if (cp >= 0xd800 && cp < 0xdc00 && p->end - p->s >= 6 && p->s[0] == '\\' &&
                p->s[1] == 'u') {
                unsigned lo;
                p->s += 2;
                if (hex4(p, &lo) < 0) {
                    vl_strbuf_release(&sb);
                    return -1;
                }
                if (lo >= 0xdc00 && lo < 0xe000) cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            add_utf8(&sb, cp);
            break;
        default:
            vl_strbuf_release(&sb);
            return fail(p, "bad escape in string");
        }
    }
    *out = vl_arena_strndup(p->arena, sb.buf, sb.len);
    vl_strbuf_release(&sb);
    return 0;
}

static int parse_value(struct parser *p, struct vl_json **out, int depth);

static int push(struct parser *p, struct vl_json *v, struct vl_json *item, const char *key,
                size_t *cap)
{
    if (v->len == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        struct vl_json **items = VL_ARENA_ARRAY(p->arena, struct vl_json *, ncap);
        const char **keys = VL_ARENA_ARRAY(p->arena, const char *, ncap);
        if (v->len) {
            memcpy(items, v->items, v->len * sizeof *items);
            memcpy(keys, v->keys, v->len * sizeof *keys);
        }
        v->items = items;
        v->keys = keys;
        *cap = ncap;
    }
    v->items[v->len] = item;
    v->keys[v->len] = key;
    v->len++;
    return 0;
}

static int parse_container(struct parser *p, struct vl_json *v, int depth)
{
    int object = v->type == VL_JSON_OBJECT;
    char close = object ? '}' : ']';
    size_t cap = 0;
    p->s++;
    skip_space(p);
    if (p->s < p->end && *p->s == close) {
        p->s++;
        return 0;
    }
    for (;;) {
        const char *key = NULL;
        skip_space(p);
        if (object) {
            if (p->s >= p->end || *p->s != '"') return fail(p, "expected a string key");
            if (parse_string(p, &key) < 0) return -1;
            skip_space(p);
            if (p->s >= p->end || *p->s != ':') return fail(p, "expected ':'");
            p->s++;
        }
        struct vl_json *item;
        if (parse_value(p, &item, depth + 1) < 0) return -1;
        push(p, v, item, key, &cap);
        skip_space(p);
        if (p->s < p->end && *p->s == ',') {
            p->s++;
            continue;
        }
        if (p->s < p->end && *p->s == close) {
            p->s++;
            return 0;
        }
        return fail(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static int parse_value(struct parser *p, struct vl_json **out, int depth)
{
    if (depth > MAX_DEPTH) return fail(p, "nested too deeply");
    skip_space(p);
    if (p->s >= p->end) return fail(p, "unexpected end of input");
    struct vl_json *v = VL_ARENA_NEW(p->arena, struct vl_json);
    *out = v;
    switch (*p->s) {
    case '{': v->type = VL_JSON_OBJECT; return parse_container(p, v, depth);
    case '[': v->type = VL_JSON_ARRAY; return parse_container(p, v, depth);
    case '"': v->type = VL_JSON_STRING; return parse_string(p, &v->string);
    case 't': v->type = VL_JSON_BOOL; v->number = 1; return literal(p, "true");
    case 'f': v->type = VL_JSON_BOOL; return literal(p, "false");
    case 'n': v->type = VL_JSON_NULL; return literal(p, "null");
    default: break;
    }
    /* a number: copy it out so strtod cannot run past the end of the input */
    char buf[64];
    size_t n = 0;
    while (p->s + n < p->end && n < sizeof buf - 1 && strchr("+-0123456789.eE", p->s[n])) n++;
    memcpy(buf, p->s, n);
    buf[n] = '\0';
    char *end;
    v->type = VL_JSON_NUMBER;
    v->number = strtod(buf, &end);
    if (n == 0 || end != buf + n || !isfinite(v->number)) return fail(p, "expected a value");
    p->s += n;
    return 0;
}

int vl_json_parse(struct vl_arena *arena, const char *name, const char *text, size_t n,
                  struct vl_json **out, struct vl_error *err)
{
    struct parser p = {arena, name, text, text + n, text, err};
    if (parse_value(&p, out, 0) < 0) return -1;
    skip_space(&p);
    if (p.s != p.end) return fail(&p, "unexpected text after the value");
    return 0;
}

const struct vl_json *vl_json_get(const struct vl_json *v, const char *key)
{
    if (!v || v->type != VL_JSON_OBJECT) return NULL;
    for (size_t i = 0; i < v->len; i++)
        if (!strcmp(v->keys[i], key)) return v->items[i];
    return NULL;
}

double vl_json_number(const struct vl_json *v, const char *key, double fallback)
{
    const struct vl_json *m = vl_json_get(v, key);
    return m && (m->type == VL_JSON_NUMBER || m->type == VL_JSON_BOOL) ? m->number : fallback;
}

const char *vl_json_string(const struct vl_json *v, const char *key, const char *fallback)
{
    const struct vl_json *m = vl_json_get(v, key);
    return m && m->type == VL_JSON_STRING ? m->string : fallback;
}
