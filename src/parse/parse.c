/* parse.c - the rules-file parser.
 *
 * The language is line oriented (docs/rules.md): a top-level line is a
 * statement (`var`, `source`, `pool`, `include`, `default`, `rule`); indented
 * lines after `rule NAME` form its body.  A `\` at the end of a line joins the
 * next one; `#` after whitespace (or at the start of a line) starts a comment.
 *
 * Each logical line is first expanded ($var, ${var}), keeping for every byte
 * the line and column it came from, then split into words.  Errors therefore
 * point at the place in the file the user wrote, even inside a variable. */
#include "parse/rules.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs.h"
#include "util/module.h"
#include "util/strbuf.h"
#include "util/vec.h"

#define MAX_INCLUDE_DEPTH 32
/* Limits that keep a hostile rules file from asking for unbounded memory
 * (docs/rules.md, "Limits"). */
#define MAX_RULES_BYTES (16u << 20)     /* a rules file and its includes */
#define MAX_LINE_BYTES (1u << 20)       /* one line after expansion */
#define MAX_EXPANDED_BYTES (64u << 20)  /* all lines after expansion */

/* A logical line: text plus, for each byte, where it was written. */
struct line {
    struct vl_strbuf text;
    int *lines, *cols;
    size_t cap;
};

struct parser {
    struct vl_rules *rules;
    const struct vl_var_override *overrides;
    size_t n_overrides;
    struct vl_rule_decl *current; /* the rule whose body we are in, or NULL */
    const char *include_stack[MAX_INCLUDE_DEPTH];
    int depth;
    struct vl_error *err;
    size_t read_bytes;     /* of the rules files so far */
    size_t expanded_bytes; /* of the expanded lines so far */
};

static void line_push(struct line *l, char c, int line, int col)
{
    if (l->text.len + 1 >= l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->lines = realloc(l->lines, l->cap * sizeof *l->lines);
        l->cols = realloc(l->cols, l->cap * sizeof *l->cols);
        if (!l->lines || !l->cols) abort();
    }
    l->lines[l->text.len] = line;
    l->cols[l->text.len] = col;
    vl_strbuf_addch(&l->text, c);
}

static void line_reset(struct line *l)
{
    vl_strbuf_reset(&l->text);
}

static void line_release(struct line *l)
{
    vl_strbuf_release(&l->text);
    free(l->lines);
    free(l->cols);
}

static struct vl_loc loc_at(const struct line *l, const char *path, size_t i)
{
    if (l->text.len == 0) return (struct vl_loc){path, 0, 0};
    if (i >= l->text.len) i = l->text.len - 1;
    return (struct vl_loc){path, l->lines[i], l->cols[i] + (i >= l->text.len ? 1 : 0)};
}

static int fail(struct parser *p, struct vl_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fails with a message at loc (see vl_error_at); returns -1. */
static int fail(struct parser *p, struct vl_loc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vl_error_atv(p->err, loc, fmt, ap);
    va_end(ap);
    return -1;
}

static int is_name_start(int c)
{
    return isalpha(c) || c == '_';
}

static int is_name_char(int c)
{
    return isalnum(c) || c == '_' || c == '-';
}

static const char *lookup_var(struct parser *p, const char *name, size_t n)
{
    for (size_t i = 0; i < p->n_overrides; i++)
        if (strlen(p->overrides[i].name) == n && !strncmp(p->overrides[i].name, name, n))
            return p->overrides[i].value;
    return vl_map_getn(&p->rules->vars, name, n);
}

static int is_runtime_var(const char *name, size_t n)
{
    return (n == 2 && !strncmp(name, "in", 2)) || (n == 3 && !strncmp(name, "out", 3)) ||
           (n == 7 && !strncmp(name, "in_list", 7));
}

/* Expands $name and ${name} from `from` (a raw logical line) into `to`.  In a
 * run command (is_run) the run-time variables, `$$` and unknown `$name`
 * (shell variables) are kept as written. */
static int expand(struct parser *p, const char *path, const struct line *from, size_t start,
                  struct line *to, int is_run)
{
    const char *s = from->text.buf;
    size_t n = from->text.len;
    for (size_t i = start; i < n; i++) {
        if (s[i] != '$') {
            line_push(to, s[i], from->lines[i], from->cols[i]);
            continue;
        }
        int line = from->lines[i], col = from->cols[i];
        if (i + 1 < n && s[i + 1] == '$') {
            if (is_run) line_push(to, '$', line, col);
            line_push(to, '$', line, col);
            i++;
            continue;
        }
        int braced = i + 1 < n && s[i + 1] == '{';
        size_t name = i + 1 + (size_t)braced, end = name;
        while (end < n && is_name_char((unsigned char)s[end]) && (braced || s[end] != '-')) end++;
        if (end == name || !is_name_start((unsigned char)s[name])) {
            if (is_run) {
                line_push(to, '$', line, col);
                continue;
            }
            return fail(p, (struct vl_loc){path, line, col},
                        "expected a variable name after '$' (write $$ for a literal $)");
        }
        if (braced && (end >= n || s[end] != '}'))
            return fail(p, (struct vl_loc){path, line, col}, "expected '}' to close ${");
        const char *value = lookup_var(p, s + name, end - name);
        if (!value && is_run && (!braced || is_runtime_var(s + name, end - name))) {
            line_push(to, '$', line, col); /* left for the scheduler or the shell */
            continue;
        }
        if (!value)
            return fail(p, (struct vl_loc){path, line, col}, "undefined variable '%.*s'",
                        (int)(end - name), s + name);
        size_t value_len = strlen(value);
        if (to->text.len + value_len > MAX_LINE_BYTES)
            return fail(p, (struct vl_loc){path, line, col},
                        "the line expands to more than %u MiB (through variable '%.*s')",
                        MAX_LINE_BYTES >> 20, (int)(end - name), s + name);
        if (p->expanded_bytes + to->text.len + value_len > MAX_EXPANDED_BYTES)
            return fail(p, (struct vl_loc){path, line, col},
                        "the rules expand to more than %u MiB in all (through variable '%.*s')",
                        MAX_EXPANDED_BYTES >> 20, (int)(end - name), s + name);
        for (const char *v = value; *v; v++) line_push(to, *v, line, col);
        i = end - 1 + (size_t)braced;
    }
    return 0;
}

/* Splits an expanded line into words; "double quotes" group spaces. */
static int split_words(struct parser *p, const char *path, const struct line *l, size_t start,
                       struct vl_words *out)
{
    const char *s = l->text.buf;
    size_t i = start, n = l->text.len;
    struct vl_strbuf word = VL_STRBUF_INIT;
    while (i < n) {
        while (i < n && isspace((unsigned char)s[i])) i++;
        if (i >= n) break;
        size_t first = i;
        vl_strbuf_reset(&word);
        while (i < n && !isspace((unsigned char)s[i])) {
            if (s[i] == '"') {
                size_t open = i++;
                while (i < n && s[i] != '"') {
                    if (s[i] == '\\' && i + 1 < n) i++;
                    vl_strbuf_addch(&word, s[i++]);
                }
                if (i >= n) {
                    vl_strbuf_release(&word);
                    return fail(p, loc_at(l, path, open), "unterminated string");
                }
                i++;
            } else {
                vl_strbuf_addch(&word, s[i++]);
            }
        }
        struct vl_word w = {vl_arena_strndup(&p->rules->arena, word.buf, word.len),
                            loc_at(l, path, first)};
        vl_words_push(&p->rules->arena, out, w);
    }
    vl_strbuf_release(&word);
    return 0;
}

void vl_words_push(struct vl_arena *arena, struct vl_words *list, struct vl_word word)
{
    if (list->len == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 4;
        struct vl_word *items = VL_ARENA_ARRAY(arena, struct vl_word, cap);
        if (list->len) memcpy(items, list->items, list->len * sizeof *items);
        list->items = items;
        list->cap = cap;
    }
    list->items[list->len++] = word;
}


static int check_name(struct parser *p, const struct vl_word *w, const char *what)
{
    const char *s = w->text;
    if (!is_name_start((unsigned char)*s)) goto bad;
    for (; *s; s++)
        if (!is_name_char((unsigned char)*s)) goto bad;
    return 0;
bad:
    return fail(p, w->loc, "expected a %s name (letters, digits, '_' or '-'), got '%s'", what,
                w->text);
}

static int check_unique_set_name(struct parser *p, const struct vl_word *w)
{
    struct vl_source_decl *s = vl_rules_find_source(p->rules, w->text);
    struct vl_rule_decl *r = vl_rules_find_rule(p->rules, w->text);
    if (s || r) {
        struct vl_loc other = s ? s->loc : r->loc;
        return fail(p, w->loc, "'%s' is already defined as a %s at %s:%d:%d", w->text,
                    s ? "source" : "rule", other.path, other.line, other.col);
    }
    return 0;
}

static int parse_int(const char *s, int min, int max, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < min || v > max) return -1;
    *out = (int)v;
    return 0;
}

static int parse_text(struct parser *p, const char *path, const char *text, size_t len);
static int read_rules(struct parser *p, const char *path, struct vl_loc at, char **text,
                      size_t *len);

static int resolve_include(struct parser *p, const char *from, const struct vl_word *w,
                           struct vl_strbuf *out)
{
    const char *name = w->text;
    if (name[0] == '/') {
        vl_strbuf_adds(out, name);
        return access(name, R_OK) == 0 ? 0 : -1;
    }
    const char *slash = strrchr(from, '/');
    if (slash) vl_strbuf_add(out, from, (size_t)(slash - from + 1));
    vl_strbuf_adds(out, name);
    if (access(out->buf, R_OK) == 0) return 0;
    /* then the standard library: $VLBUILD_RULES, else the one that came with
     * the executable (BUILD/rules, or PREFIX/share/vlbuild/rules: module.h) */
    char own[PATH_MAX];
    const char *dirs[] = {getenv("VLBUILD_RULES"), NULL};
    if (vl_module_locate("rules", "../" VL_MODULE_RULES_INSTALL_DIR, own, sizeof own, NULL) == 0)
        dirs[1] = own;
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        if (!dirs[i] || !*dirs[i]) continue;
        vl_strbuf_reset(out);
        vl_strbuf_addf(out, "%s/%s", dirs[i], name);
        if (access(out->buf, R_OK) == 0) return 0;
    }
    return -1;
}

static int include_file(struct parser *p, const char *from, const struct vl_word *w)
{
    struct vl_strbuf path = VL_STRBUF_INIT;
    if (resolve_include(p, from, w, &path) < 0) {
        vl_strbuf_release(&path);
        return fail(p, w->loc, "cannot include '%s': no such file next to %s or in the "
                               "standard rules library", w->text, from);
    }
    const char *stable = vl_arena_strdup(&p->rules->arena, path.buf);
    vl_strbuf_release(&path);
    for (int i = 0; i < p->depth; i++)
        if (!strcmp(p->include_stack[i], stable))
            return fail(p, w->loc, "'%s' includes itself (through %s)", stable, from);
    if (p->depth == MAX_INCLUDE_DEPTH)
        return fail(p, w->loc, "includes nested more than %d deep", MAX_INCLUDE_DEPTH);
    char *text;
    size_t len;
    if (read_rules(p, stable, w->loc, &text, &len) < 0) return -1;
    struct vl_rule_decl *saved = p->current;
    p->current = NULL;
    int rc = parse_text(p, stable, text, len);
    p->current = saved;
    free(text);
    return rc;
}

static int need_args(struct parser *p, const struct vl_words *w, size_t min, const char *usage)
{
    if (w->len < min) {
        struct vl_loc loc = w->items[0].loc;
        loc.col += (int)strlen(w->items[0].text) + 1;
        return fail(p, loc, "expected %s", usage);
    }
    return 0;
}

static int too_many(struct parser *p, const struct vl_words *w, size_t max, const char *usage)
{
    if (w->len > max) return fail(p, w->items[max].loc, "unexpected '%s' (expected %s)",
                                  w->items[max].text, usage);
    return 0;
}

/* Returns the rest of the expanded line from word w on, as written (quotes
 * and spacing kept), trailing spaces trimmed. */
static const char *rest_of_line(struct parser *p, const struct line *expanded,
                                const struct vl_word *w)
{
    size_t start = 0;
    while (start < expanded->text.len &&
           (expanded->lines[start] != w->loc.line || expanded->cols[start] != w->loc.col))
        start++;
    size_t end = expanded->text.len;
    while (end > start && isspace((unsigned char)expanded->text.buf[end - 1])) end--;
    return vl_arena_strndup(&p->rules->arena, expanded->text.buf + start, end - start);
}

static int parse_body_line(struct parser *p, const char *path, struct vl_words *w,
                           const struct line *expanded)
{
    struct vl_rule_decl *r = p->current;
    const char *kw = w->items[0].text;
    if (!strcmp(kw, "each")) {
        if (need_args(p, w, 4, "'each VAR in SET...'") < 0) return -1;
        if (strcmp(w->items[2].text, "in"))
            return fail(p, w->items[2].loc, "expected 'in', got '%s'", w->items[2].text);
        if (r->each_var.text)
            return fail(p, w->items[0].loc, "rule %s already has an 'each' at line %d", r->name,
                        r->each_var.loc.line);
        if (check_name(p, &w->items[1], "variable") < 0) return -1;
        r->each_var = w->items[1];
        for (size_t i = 3; i < w->len; i++) vl_words_push(&p->rules->arena, &r->each_sets, w->items[i]);
    } else if (!strcmp(kw, "do") || !strcmp(kw, "run")) {
        if (r->kind != VL_RULE_NONE)
            return fail(p, w->items[0].loc, "rule %s already has a '%s' (one action per rule)",
                        r->name, r->kind == VL_RULE_DO ? "do" : "run");
        if (!strcmp(kw, "run")) {
            if (need_args(p, w, 2, "a shell command after 'run'") < 0) return -1;
            r->kind = VL_RULE_RUN;
            /* the command is the rest of the line as written, not re-split */
            r->command.text = rest_of_line(p, expanded, &w->items[1]);
            r->command.loc = w->items[1].loc;
            return 0;
        }
        if (need_args(p, w, 2, "an action name after 'do'") < 0) return -1;
        r->kind = VL_RULE_DO;
        r->action = w->items[1];
        r->def = vl_action_find(r->action.text);
        if (!r->def) {
            struct vl_strbuf known = VL_STRBUF_INIT;
            const struct vl_action_def *const *all = vl_action_all();
            for (size_t i = 0; all[i]; i++) vl_strbuf_addf(&known, "%s%s", i ? ", " : "", all[i]->name);
            int rc = fail(p, r->action.loc, "unknown action '%s' (built-in actions: %s)",
                          r->action.text, known.buf);
            vl_strbuf_release(&known);
            return rc;
        }
        const char **texts = calloc(w->len, sizeof *texts);
        if (!texts) abort();
        for (size_t i = 2; i < w->len; i++) {
            texts[i - 2] = w->items[i].text;
            vl_words_push(&p->rules->arena, &r->params, w->items[i]);
        }
        int bad = -1;
        struct vl_error perr;
        int rc = vl_params_parse(r->def, texts, w->len - 2, &r->values, &bad, &perr);
        free(texts);
        if (rc < 0) {
            struct vl_loc loc = bad >= 0 ? w->items[2 + bad].loc : r->action.loc;
            return fail(p, loc, "rule %s: %s", r->name, perr.msg);
        }
    } else if (!strcmp(kw, "in") || !strcmp(kw, "out")) {
        if (need_args(p, w, 2, !strcmp(kw, "in") ? "input sets or paths after 'in'"
                                                 : "output paths after 'out'") < 0)
            return -1;
        struct vl_words *list = !strcmp(kw, "in") ? &r->inputs : &r->outputs;
        for (size_t i = 1; i < w->len; i++) vl_words_push(&p->rules->arena, list, w->items[i]);
    } else if (!strcmp(kw, "copies")) {
        if (need_args(p, w, 2, "a count after 'copies'") < 0 || too_many(p, w, 2, "one count"))
            return -1;
        if (parse_int(w->items[1].text, 1, 10000, &r->copies) < 0)
            return fail(p, w->items[1].loc, "expected a count from 1 to 10000, got '%s'",
                        w->items[1].text);
        r->copies_loc = w->items[1].loc;
    } else if (!strcmp(kw, "pool")) {
        if (need_args(p, w, 2, "a pool name after 'pool'") < 0 || too_many(p, w, 2, "one pool name"))
            return -1;
        r->pool = w->items[1];
    } else {
        return fail(p, w->items[0].loc,
                    "unknown rule line '%s' (expected each, do, run, in, out, copies or pool)", kw);
    }
    return 0;
}

static int finish_rule(struct parser *p)
{
    struct vl_rule_decl *r = p->current;
    p->current = NULL;
    if (!r) return 0;
    if (r->kind == VL_RULE_NONE)
        return fail(p, r->loc, "rule %s has no action (expected a 'do' or 'run' line)", r->name);
    if (r->outputs.len == 0)
        return fail(p, r->loc, "rule %s has no outputs (expected an 'out' line)", r->name);
    if (r->copies > 1) {
        int uses_copy = 0;
        for (size_t i = 0; i < r->outputs.len; i++)
            if (strstr(r->outputs.items[i].text, "{copy}")) uses_copy = 1;
        if (!uses_copy)
            return fail(p, r->copies_loc, "rule %s makes %d copies but its outputs do not use "
                                          "{copy}, so they would overwrite each other",
                        r->name, r->copies);
    }
    if (r->def) {
        int n_out = (int)r->outputs.len;
        if (n_out < r->def->min_outputs || (r->def->max_outputs >= 0 && n_out > r->def->max_outputs))
            return fail(p, r->outputs.items[0].loc,
                        "rule %s: action %s takes %d to %d outputs, the rule names %d", r->name,
                        r->def->name, r->def->min_outputs, r->def->max_outputs, n_out);
    }
    return 0;
}

static int parse_statement(struct parser *p, const char *path, struct vl_words *w,
                           const struct line *line)
{
    const char *kw = w->items[0].text;
    struct vl_rules *rules = p->rules;
    if (!strcmp(kw, "var")) {
        if (need_args(p, w, 3, "'var NAME = VALUE'") < 0 || check_name(p, &w->items[1], "variable"))
            return -1;
        /* `?=` is a default (make's): it sets only a variable not yet set */
        int is_default = !strcmp(w->items[2].text, "?=");
        if (!is_default && strcmp(w->items[2].text, "="))
            return fail(p, w->items[2].loc, "expected '=' or '?=' after the variable name");
        if (is_default && vl_map_get(&rules->vars, w->items[1].text)) return 0;
        /* the value is the rest of the line as written, expanded */
        const char *value = w->len > 3 ? rest_of_line(p, line, &w->items[3]) : "";
        vl_map_put(&rules->vars, vl_arena_strdup(&rules->arena, w->items[1].text), (void *)value);
    } else if (!strcmp(kw, "source")) {
        if (need_args(p, w, 4, "'source NAME = GLOB...'") < 0 ||
            check_name(p, &w->items[1], "source") < 0 || check_unique_set_name(p, &w->items[1]) < 0)
            return -1;
        if (strcmp(w->items[2].text, "="))
            return fail(p, w->items[2].loc, "expected '=' after the source name");
        struct vl_source_decl *s = VL_ARENA_NEW(&rules->arena, struct vl_source_decl);
        s->name = w->items[1].text;
        s->loc = w->items[1].loc;
        for (size_t i = 3; i < w->len; i++) vl_words_push(&rules->arena, &s->patterns, w->items[i]);
        VL_PUSH(rules->sources, rules->n_sources, rules->cap_sources, s);
    } else if (!strcmp(kw, "pool")) {
        if (need_args(p, w, 3, "'pool NAME depth=N'") < 0 || too_many(p, w, 3, "'pool NAME depth=N'") ||
            check_name(p, &w->items[1], "pool") < 0)
            return -1;
        if (!strcmp(w->items[1].text, "cpu") || !strcmp(w->items[1].text, "gpu"))
            return fail(p, w->items[1].loc, "pool %s is built in (its depth comes from %s)",
                        w->items[1].text, !strcmp(w->items[1].text, "cpu") ? "-j" : "--gpus");
        if (vl_rules_find_pool(rules, w->items[1].text))
            return fail(p, w->items[1].loc, "pool %s is already defined", w->items[1].text);
        struct vl_pool_decl *pool = VL_ARENA_NEW(&rules->arena, struct vl_pool_decl);
        pool->name = w->items[1].text;
        pool->loc = w->items[1].loc;
        if (strncmp(w->items[2].text, "depth=", 6) ||
            parse_int(w->items[2].text + 6, 1, 100000, &pool->depth) < 0)
            return fail(p, w->items[2].loc, "expected depth=N with N from 1 to 100000, got '%s'",
                        w->items[2].text);
        VL_PUSH(rules->pools, rules->n_pools, rules->cap_pools, pool);
    } else if (!strcmp(kw, "include")) {
        if (need_args(p, w, 2, "a file name after 'include'") < 0 || too_many(p, w, 2, "one file name"))
            return -1;
        return include_file(p, path, &w->items[1]);
    } else if (!strcmp(kw, "default")) {
        if (need_args(p, w, 2, "targets after 'default'") < 0) return -1;
        for (size_t i = 1; i < w->len; i++) vl_words_push(&rules->arena, &rules->defaults, w->items[i]);
    } else if (!strcmp(kw, "rule")) {
        if (need_args(p, w, 2, "a rule name after 'rule'") < 0 || too_many(p, w, 2, "one rule name") ||
            check_name(p, &w->items[1], "rule") < 0 || check_unique_set_name(p, &w->items[1]) < 0)
            return -1;
        struct vl_rule_decl *r = VL_ARENA_NEW(&rules->arena, struct vl_rule_decl);
        r->name = w->items[1].text;
        r->loc = w->items[1].loc;
        r->copies = 1;
        VL_PUSH(rules->rules, rules->n_rules, rules->cap_rules, r);
        p->current = r;
    } else {
        return fail(p, w->items[0].loc, "unknown statement '%s' (expected var, source, rule, pool, "
                                        "include or default)", kw);
    }
    return 0;
}

/* Strips a comment: '#' at the start or after whitespace, outside quotes. */
static size_t comment_start(const char *s, size_t n)
{
    int quoted = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"' && (i == 0 || s[i - 1] != '\\')) quoted = !quoted;
        if (!quoted && s[i] == '#' && (i == 0 || isspace((unsigned char)s[i - 1]))) return i;
    }
    return n;
}

static int parse_logical_line(struct parser *p, const char *path, struct line *raw,
                              struct line *expanded)
{
    size_t n = comment_start(raw->text.buf, raw->text.len);
    raw->text.len = n;
    raw->text.buf[n] = '\0';
    size_t first = 0;
    while (first < n && isspace((unsigned char)raw->text.buf[first])) first++;
    if (first == n) return 0; /* blank or comment */
    int indented = first > 0;
    /* the keyword decides how the rest expands: a run command keeps $in etc. */
    size_t kw_end = first;
    while (kw_end < n && !isspace((unsigned char)raw->text.buf[kw_end])) kw_end++;
    int is_run = indented && kw_end - first == 3 && !strncmp(raw->text.buf + first, "run", 3);
    line_reset(expanded);
    if (expand(p, path, raw, 0, expanded, is_run) < 0) return -1;
    p->expanded_bytes += expanded->text.len;
    struct vl_words words = {0};
    if (split_words(p, path, expanded, 0, &words) < 0) return -1;
    if (words.len == 0) return 0;
    if (indented) {
        if (!p->current)
            return fail(p, words.items[0].loc, "indented line outside a rule (rule bodies follow "
                                               "a 'rule NAME' line)");
        return parse_body_line(p, path, &words, expanded);
    }
    if (finish_rule(p) < 0) return -1;
    return parse_statement(p, path, &words, expanded);
}

static int parse_text(struct parser *p, const char *path, const char *text, size_t len)
{
    p->include_stack[p->depth++] = path;
    struct line raw = {VL_STRBUF_INIT, NULL, NULL, 0};
    struct line expanded = {VL_STRBUF_INIT, NULL, NULL, 0};
    int line = 1, col = 1, rc = 0;
    const char *end = text + len;
    for (const char *s = text;; s++) {
        if (s < end && *s == '\\' && s + 1 < end && s[1] == '\n') { /* continuation */
            line_push(&raw, ' ', line, col);
            s++;
            line++;
            col = 1;
            continue;
        }
        if (s == end || *s == '\n') {
            rc = parse_logical_line(p, path, &raw, &expanded);
            line_reset(&raw);
            if (rc < 0 || s == end) break;
            line++;
            col = 1;
            continue;
        }
        if (*s == '\r' && s + 1 < end && s[1] == '\n') continue;
        unsigned char c = (unsigned char)*s;
        if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f) {
            /* a NUL used to end the file there, silently */
            if (c)
                rc = fail(p, (struct vl_loc){path, line, col},
                          "control character 0x%02x (a rules file is text)", c);
            else
                rc = fail(p, (struct vl_loc){path, line, col}, "NUL byte (a rules file is text)");
            break;
        }
        line_push(&raw, *s == '\t' ? ' ' : *s, line, col);
        col++;
    }
    if (rc == 0) rc = finish_rule(p);
    line_release(&raw);
    line_release(&expanded);
    p->depth--;
    return rc;
}

/* Reads the rules file at path into *text (malloc'd, *len bytes): a regular
 * file only (a FIFO or /dev/zero would block or never end), and no more
 * than what is left of MAX_RULES_BYTES.  Errors name at, or the file when
 * at.line is 0. */
static int read_rules(struct parser *p, const char *path, struct vl_loc at, char **text,
                      size_t *len)
{
    char prefix[VL_ERROR_MAX];
    if (at.line)
        snprintf(prefix, sizeof prefix, "%s:%d:%d: ", at.path, at.line, at.col);
    else
        prefix[0] = '\0';
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return vl_error_set(p->err, "%scannot read rules file %s: %s", prefix, path,
                            strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return vl_error_set(p->err, "%srules file %s is not a regular file", prefix, path);
    }
    size_t left = MAX_RULES_BYTES - p->read_bytes;
    if ((uint64_t)st.st_size > left) {
        close(fd);
        return vl_error_set(p->err, "%srules file %s is larger than %u MiB with what it "
                                    "includes (the limit of a rules file)",
                            prefix, path, MAX_RULES_BYTES >> 20);
    }
    /* read up to one byte past the limit: a file that grows is caught too */
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf) abort();
    for (;;) {
        if (n == cap) {
            if (n > left) break;
            cap = cap * 2 < left + 1 ? cap * 2 : left + 1;
            buf = realloc(buf, cap + 1);
            if (!buf) abort();
        }
        ssize_t got = read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            int e = errno;
            close(fd);
            free(buf);
            return vl_error_set(p->err, "%scannot read rules file %s: %s", prefix, path,
                                strerror(e));
        }
        if (got == 0) break;
        n += (size_t)got;
    }
    close(fd);
    if (n > left) {
        free(buf);
        return vl_error_set(p->err, "%srules file %s is larger than %u MiB with what it "
                                    "includes (the limit of a rules file)",
                            prefix, path, MAX_RULES_BYTES >> 20);
    }
    buf[n] = '\0';
    p->read_bytes += n;
    *text = buf;
    *len = n;
    return 0;
}

static int check_references(struct parser *p)
{
    struct vl_rules *rules = p->rules;
    for (size_t i = 0; i < rules->n_rules; i++) {
        struct vl_rule_decl *r = rules->rules[i];
        if (r->pool.text && strcmp(r->pool.text, "cpu") && strcmp(r->pool.text, "gpu") &&
            !vl_rules_find_pool(rules, r->pool.text))
            return fail(p, r->pool.loc, "rule %s: unknown pool '%s' (declare it with 'pool %s "
                                        "depth=N', or use cpu or gpu)",
                        r->name, r->pool.text, r->pool.text);
    }
    return 0;
}

static int parse_top(struct vl_rules *rules, const char *name, const char *text, size_t len,
                     int from_file, const struct vl_var_override *overrides, size_t n_overrides,
                     struct vl_error *err)
{
    struct parser p = {rules, overrides, n_overrides, NULL, {0}, 0, err, 0, 0};
    const char *stable = vl_arena_strdup(&rules->arena, name);
    char *owned = NULL;
    if (from_file) {
        if (read_rules(&p, stable, (struct vl_loc){stable, 0, 0}, &owned, &len) < 0) return -1;
        text = owned;
    }
    int rc = parse_text(&p, stable, text, len);
    free(owned);
    if (rc < 0) return -1;
    return check_references(&p);
}

int vl_rules_parse_string(struct vl_rules *rules, const char *name, const char *text,
                          const struct vl_var_override *overrides, size_t n_overrides,
                          struct vl_error *err)
{
    return parse_top(rules, name, text, strlen(text), 0, overrides, n_overrides, err);
}

int vl_rules_parse_file(struct vl_rules *rules, const char *path,
                        const struct vl_var_override *overrides, size_t n_overrides,
                        struct vl_error *err)
{
    return parse_top(rules, path, NULL, 0, 1, overrides, n_overrides, err);
}

struct vl_rule_decl *vl_rules_find_rule(const struct vl_rules *rules, const char *name)
{
    for (size_t i = 0; i < rules->n_rules; i++)
        if (!strcmp(rules->rules[i]->name, name)) return rules->rules[i];
    return NULL;
}

struct vl_source_decl *vl_rules_find_source(const struct vl_rules *rules, const char *name)
{
    for (size_t i = 0; i < rules->n_sources; i++)
        if (!strcmp(rules->sources[i]->name, name)) return rules->sources[i];
    return NULL;
}

struct vl_pool_decl *vl_rules_find_pool(const struct vl_rules *rules, const char *name)
{
    for (size_t i = 0; i < rules->n_pools; i++)
        if (!strcmp(rules->pools[i]->name, name)) return rules->pools[i];
    return NULL;
}

void vl_rules_release(struct vl_rules *rules)
{
    for (size_t i = 0; i < rules->n_rules; i++)
        if (rules->rules[i]->def) vl_params_release(&rules->rules[i]->values);
    free(rules->sources);
    free(rules->rules);
    free(rules->pools);
    vl_map_release(&rules->vars);
    vl_arena_release(&rules->arena);
    memset(rules, 0, sizeof *rules);
}

int vl_error_atv(struct vl_error *err, struct vl_loc loc, const char *fmt, va_list ap)
{
    char msg[VL_ERROR_MAX];
    vsnprintf(msg, sizeof msg, fmt, ap);
    return vl_error_set(err, "%s:%d:%d: %s", loc.path, loc.line, loc.col, msg);
}

int vl_error_at(struct vl_error *err, struct vl_loc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vl_error_atv(err, loc, fmt, ap);
    va_end(ap);
    return -1;
}
