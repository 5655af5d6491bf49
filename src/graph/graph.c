/* graph.c - expansion of parsed rules into the build graph.
 *
 * Rules are instantiated in the order of their set dependencies (a rule
 * that iterates over or reads the set of another comes after it), so every
 * set is complete before it is used.  Inputs named by path may refer to
 * outputs of rules expanded later; nodes are created on first mention and
 * get their producer when a rule claims them. */
#include "graph/graph.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "graph/glob.h"
#include "graph/path.h"
#include "util/vec.h"
#include "util/strbuf.h"



/* The file-name extensions that video files carry, compared without case. */
static const char *const video_extensions[] = {
    "mp4", "m4v", "mov", "mkv", "webm", "avi", "mpg", "mpeg", "ts",
    "mts", "m2ts", "wmv", "flv", "3gp", "ogv", "mxf", "y4m",
};

static int looks_like_video(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name) return 0;
    for (size_t i = 0; i < sizeof video_extensions / sizeof *video_extensions; i++)
        if (!strcasecmp(dot + 1, video_extensions[i])) return 1;
    return 0;
}

/* Returns the node of path in its one spelling (graph/path.h), creating it
 * on first sight; *place says where the path lies. */
static struct vl_node *get_node(struct vl_graph *g, const char *path, enum vl_path_place *place)
{
    struct vl_strbuf buf = VL_STRBUF_INIT;
    enum vl_path_place where = vl_path_normalise(path, g->root, &buf);
    if (place) *place = where;
    struct vl_node *node = vl_map_getn(&g->nodes, buf.buf, buf.len);
    if (!node) {
        node = VL_ARENA_NEW(&g->arena, struct vl_node);
        node->path = vl_arena_strndup(&g->arena, buf.buf, buf.len);
        vl_map_put(&g->nodes, node->path, node);
        VL_PUSH(g->node_list, g->n_nodes, g->cap_nodes, node);
    }
    vl_strbuf_release(&buf);
    return node;
}

static struct vl_set *new_set(struct vl_graph *g, const char *name)
{
    struct vl_set *s = VL_ARENA_NEW(&g->arena, struct vl_set);
    s->name = name;
    vl_map_put(&g->sets, name, s);
    return s;
}

static void set_push(struct vl_set *s, struct vl_node *n)
{
    VL_PUSH(s->nodes, s->len, s->cap, n);
}

static int build_sources_except(struct vl_graph *g, const struct vl_rules *rules,
                                const struct vl_graph_options *opts, char *const *outs,
                                size_t n_outs, struct vl_glob_result *unsourced,
                                struct vl_error *err);

/* The glob of every path an output template can give: `build/{f.stem}.txt`
 * is `build/` then `*.txt` (a star that may span '/'), normalised; *out malloc'd. */
static size_t output_globs(const struct vl_graph *g, const struct vl_rules *rules, char ***out)
{
    size_t n = 0, cap = 0;
    *out = NULL;
    struct vl_strbuf glob = VL_STRBUF_INIT, norm = VL_STRBUF_INIT;
    for (size_t i = 0; i < rules->n_rules; i++)
        for (size_t k = 0; k < rules->rules[i]->outputs.len; k++) {
            vl_strbuf_reset(&glob);
            for (const char *c = rules->rules[i]->outputs.items[k].text; *c; c++) {
                const char *close = *c == '{' ? strchr(c, '}') : NULL;
                if (close) {
                    vl_strbuf_addch(&glob, '*');
                    c = close;
                    continue;
                }
                if (strchr("*?[\\", *c)) vl_strbuf_addch(&glob, '\\');
                vl_strbuf_addch(&glob, *c);
            }
            if (vl_path_normalise(glob.buf, g->root, &norm) != VL_PATH_INSIDE) continue;
            char *copy = strdup(norm.buf);
            if (!copy) abort();
            VL_PUSH(*out, n, cap, copy);
        }
    vl_strbuf_release(&glob);
    vl_strbuf_release(&norm);
    return n;
}

/* For `clean`: 1 when path is one that a rule could write (an earlier build's
 * output that a source glob found). */
static int could_be_output(char *const *globs, size_t n, const char *path)
{
    for (size_t i = 0; i < n; i++)
        if (fnmatch(globs[i], path, 0) == 0) return 1;
    return 0;
}

/* Globs the sources into sets; the files that look like video, that the
 * globs saw in the folders they read and did not take, go into
 * unsourced->others (see warn_unsourced). */
static int build_sources(struct vl_graph *g, const struct vl_rules *rules,
                         const struct vl_graph_options *opts, struct vl_glob_result *unsourced,
                         struct vl_error *err)
{
    char **outs = NULL;
    size_t n_outs = g->for_clean ? output_globs(g, rules, &outs) : 0;
    int rc = build_sources_except(g, rules, opts, outs, n_outs, unsourced, err);
    for (size_t i = 0; i < n_outs; i++) free(outs[i]);
    free(outs);
    return rc;
}

/* Globs the sources into sets, leaving out the paths that one of the n_outs
 * output globs matches. */
static int build_sources_except(struct vl_graph *g, const struct vl_rules *rules,
                                const struct vl_graph_options *opts, char *const *outs,
                                size_t n_outs, struct vl_glob_result *unsourced,
                                struct vl_error *err)
{
    for (size_t i = 0; i < rules->n_sources; i++) {
        const struct vl_source_decl *src = rules->sources[i];
        struct vl_glob_result all = {0};
        all.wanted = opts->warn && !g->for_clean ? looks_like_video : NULL;
        for (size_t k = 0; k < src->patterns.len; k++) {
            size_t before = all.len, at;
            const struct vl_word *pat = &src->patterns.items[k];
            if (vl_glob_check(pat->text, &at, err) < 0) {
                vl_glob_release(&all);
                /* the column of the brace, exact unless a $variable comes
                 * before it in the word */
                return vl_error_prefix(err, "%s:%d:%d: source %s: pattern '%s'", pat->loc.path,
                                       pat->loc.line, pat->loc.col + (int)at, src->name, pat->text);
            }
            if (vl_glob(pat->text, &all, err) < 0) {
                vl_glob_release(&all);
                return vl_error_prefix(err, "%s:%d:%d: source %s", pat->loc.path, pat->loc.line,
                                       pat->loc.col, src->name);
            }
            if (all.len == before && opts->warn) {
                char msg[VL_ERROR_MAX];
                snprintf(msg, sizeof msg, "%s:%d:%d: source %s: '%s' matches no file",
                         pat->loc.path, pat->loc.line, pat->loc.col, src->name, pat->text);
                opts->warn(opts->warn_ctx, msg);
                g->n_warnings++;
            }
        }
        for (size_t k = 0; k < all.n_cycles && opts->warn; k++) {
            char msg[VL_ERROR_MAX];
            snprintf(msg, sizeof msg, "%s:%d:%d: source %s: skipping %s, a symbolic link to a "
                     "folder above it (a cycle)", src->loc.path, src->loc.line, src->loc.col,
                     src->name, all.cycles[k]);
            opts->warn(opts->warn_ctx, msg);
            g->n_warnings++;
        }
        for (size_t k = 0; k < all.n_others; k++)
            VL_PUSH(unsourced->others, unsourced->n_others, unsourced->cap_others, all.others[k]);
        all.n_others = 0;
        vl_glob_sort_unique(&all);
        struct vl_set *set = new_set(g, src->name);
        for (size_t k = 0; k < all.len; k++) {
            struct vl_node *n = get_node(g, all.paths[k], NULL);
            if (n_outs && could_be_output(outs, n_outs, n->path)) continue;
            set_push(set, n);
        }
        vl_glob_release(&all);
    }
    return 0;
}

/* A word names a set when it is a source or rule name, optionally followed
 * by a filter: `clips:*.npy` is the members of clips whose file name matches
 * the pattern.  Returns the length of the name part, or 0. */
static size_t set_name_len(const struct vl_rules *rules, const char *word)
{
    size_t n = strcspn(word, ":");
    char name[256];
    if (n == 0 || n >= sizeof name) return 0;
    memcpy(name, word, n);
    name[n] = '\0';
    return vl_rules_find_rule(rules, name) || vl_rules_find_source(rules, name) ? n : 0;
}

static int names_set(const struct vl_rules *rules, const char *word)
{
    return set_name_len(rules, word) > 0;
}

/* The members of the set a word names, filtered; *out is malloc'd. */
static size_t set_members(const struct vl_graph *g, const struct vl_rules *rules, const char *word,
                          struct vl_node ***out)
{
    size_t n = set_name_len(rules, word);
    const struct vl_set *set = vl_map_getn(&g->sets, word, n);
    const char *filter = word[n] == ':' ? word + n + 1 : NULL;
    size_t len = 0, cap = 0;
    *out = NULL;
    for (size_t i = 0; set && i < set->len; i++) {
        const char *path = set->nodes[i]->path, *slash = strrchr(path, '/');
        if (filter && fnmatch(filter, slash ? slash + 1 : path, 0) != 0) continue;
        VL_PUSH(*out, len, cap, set->nodes[i]);
    }
    return len;
}

struct order {
    const struct vl_rules *rules;
    int *mark; /* 0 new, 1 visiting, 2 done */
    const struct vl_rule_decl **out;
    size_t n_out;
    const struct vl_rule_decl **stack;
    size_t depth;
};

static size_t rule_index(const struct vl_rules *rules, const struct vl_rule_decl *r)
{
    for (size_t i = 0; i < rules->n_rules; i++)
        if (rules->rules[i] == r) return i;
    return 0;
}

static int visit_rule(struct order *o, const struct vl_rule_decl *r, struct vl_error *err);

static int visit_dep(struct order *o, const struct vl_word *w, struct vl_error *err)
{
    size_t n = set_name_len(o->rules, w->text);
    char name[256];
    if (n == 0) return 0;
    memcpy(name, w->text, n);
    name[n] = '\0';
    const struct vl_rule_decl *dep = vl_rules_find_rule(o->rules, name);
    return dep ? visit_rule(o, dep, err) : 0;
}

static int visit_rule(struct order *o, const struct vl_rule_decl *r, struct vl_error *err)
{
    size_t i = rule_index(o->rules, r);
    if (o->mark[i] == 2) return 0;
    if (o->mark[i] == 1) {
        struct vl_strbuf cycle = VL_STRBUF_INIT;
        size_t start = 0;
        while (o->stack[start] != r) start++;
        for (size_t k = start; k < o->depth; k++) vl_strbuf_addf(&cycle, "%s -> ", o->stack[k]->name);
        vl_strbuf_adds(&cycle, r->name);
        int rc = vl_error_at(err, r->loc, "rules form a cycle: %s", cycle.buf);
        vl_strbuf_release(&cycle);
        return rc;
    }
    o->mark[i] = 1;
    o->stack[o->depth++] = r;
    for (size_t k = 0; k < r->each_sets.len; k++) {
        const struct vl_word *w = &r->each_sets.items[k];
        if (!names_set(o->rules, w->text))
            return vl_error_at(err, w->loc, "rule %s: unknown set '%s' (expected a source or rule "
                                            "name, optionally with a filter such as name:*.npy)",
                               r->name, w->text);
        if (visit_dep(o, w, err) < 0) return -1;
    }
    for (size_t k = 0; k < r->inputs.len; k++)
        if (visit_dep(o, &r->inputs.items[k], err) < 0) return -1;
    o->depth--;
    o->mark[i] = 2;
    o->out[o->n_out++] = r;
    return 0;
}

static int order_rules(const struct vl_rules *rules, const struct vl_rule_decl ***out,
                       struct vl_error *err)
{
    struct order o = {rules, calloc(rules->n_rules + 1, sizeof(int)),
                      calloc(rules->n_rules + 1, sizeof *o.out), 0,
                      calloc(rules->n_rules + 1, sizeof *o.stack), 0};
    if (!o.mark || !o.out || !o.stack) abort();
    int rc = 0;
    for (size_t i = 0; i < rules->n_rules && rc == 0; i++) rc = visit_rule(&o, rules->rules[i], err);
    free(o.mark);
    free(o.stack);
    if (rc < 0) {
        free(o.out);
        return -1;
    }
    *out = o.out;
    return 0;
}

/* 1 when the n bytes at s look like a template: `name`, `name.field`, either
 * with a `:modifier` (`{v.stem:raw}`). */
static int template_shaped(const char *s, size_t n)
{
    size_t dots = 0, colons = 0;
    if (n == 0 || !(s[0] == '_' || ((s[0] | 32) >= 'a' && (s[0] | 32) <= 'z'))) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '.' && !colons) dots++;
        else if (c == ':' && i + 1 < n) colons++;
        else if (!(c == '_' || c == '-' || (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z')))
            return 0;
    }
    return dots <= 1 && colons <= 1;
}

/* Appends the n bytes of value to a template's expansion.  In a shell command
 * (quote) the value is quoted for /bin/sh as $in and $out are (plain names
 * unchanged); raw leaves it as it is.  In both, a `$` is doubled, so that
 * the run-time substitution of $in and $out (exec/shell_job.c) gives the
 * shell the value's own `$` and never expands a file name's `$in`. */
static void add_field(struct vl_strbuf *out, const char *value, size_t n, int in_command, int raw)
{
    if (!in_command || n == 0) { /* an empty field stays empty, as it always has */
        vl_strbuf_add(out, value, n);
        return;
    }
    struct vl_strbuf v = VL_STRBUF_INIT;
    vl_strbuf_add(&v, value, n);
    struct vl_strbuf quoted = VL_STRBUF_INIT;
    if (raw) vl_strbuf_add(&quoted, v.buf, v.len);
    else vl_strbuf_add_shell_quoted(&quoted, v.buf);
    for (size_t i = 0; i < quoted.len; i++) {
        if (quoted.buf[i] == '$') vl_strbuf_addch(out, '$');
        vl_strbuf_addch(out, quoted.buf[i]);
    }
    vl_strbuf_release(&quoted);
    vl_strbuf_release(&v);
}

/* Fills {v.field} and {copy} in text for one item and copy.  In a shell
 * command (strict == 0), braces that do not look like a template, such as
 * `{ cmd; }`, are the shell's and stay as written, and a field's value is
 * shell-quoted unless written {v.field:raw} (add_field). */
static int fill_template(const char *text, struct vl_loc loc, const struct vl_rule_decl *r,
                         const struct vl_node *item, int copy, int strict, struct vl_strbuf *out,
                         struct vl_error *err)
{
    const char *var = r->each_var.text;
    for (const char *p = text; *p; p++) {
        if (*p != '{') {
            size_t plain = strcspn(p, "{");
            vl_strbuf_add(out, p, plain);
            p += plain - 1;
            continue;
        }
        const char *close = strchr(p, '}');
        if (!strict && (!close || !template_shaped(p + 1, (size_t)(close - p - 1)))) {
            vl_strbuf_addch(out, *p);
            continue;
        }
        if (!close) return vl_error_at(err, loc, "rule %s: '{' without '}' in '%s'", r->name, text);
        size_t n = (size_t)(close - p - 1);
        const char *name = p + 1;
        int raw = 0;
        const char *colon = memchr(name, ':', n);
        if (colon) {
            size_t mlen = n - (size_t)(colon - name) - 1;
            if (mlen != 3 || strncmp(colon + 1, "raw", 3))
                return vl_error_at(err, loc, "rule %s: unknown modifier ':%.*s' in '{%.*s}' "
                                             "(the one modifier is :raw)",
                                   r->name, (int)mlen, colon + 1, (int)n, name);
            raw = 1;
            n = (size_t)(colon - name);
        }
        const int in_command = !strict;
        if (n == 4 && !strncmp(name, "copy", 4)) {
            vl_strbuf_addf(out, "%d", copy);
            p = close;
            continue;
        }
        const char *dot = memchr(name, '.', n);
        if (!var || !dot || (size_t)(dot - name) != strlen(var) || strncmp(name, var, strlen(var)))
            return vl_error_at(err, loc, "rule %s: unknown template '{%.*s}' (expected {copy}%s%s%s)",
                           r->name, (int)n, name, var ? " or {" : "", var ? var : "",
                           var ? ".path|name|stem|ext|dir}" : "");
        const char *field = dot + 1;
        size_t flen = (size_t)(name + n - field);
        const char *path = item->path;
        const char *slash = strrchr(path, '/');
        const char *base = slash ? slash + 1 : path;
        const char *ext = strrchr(base, '.');
        if (!ext || ext == base) ext = base + strlen(base);
        if (flen == 4 && !strncmp(field, "path", 4))
            add_field(out, path, strlen(path), in_command, raw);
        else if (flen == 4 && !strncmp(field, "name", 4))
            add_field(out, base, strlen(base), in_command, raw);
        else if (flen == 4 && !strncmp(field, "stem", 4))
            add_field(out, base, (size_t)(ext - base), in_command, raw);
        else if (flen == 3 && !strncmp(field, "ext", 3))
            add_field(out, *ext ? ext + 1 : "", *ext ? strlen(ext + 1) : 0, in_command, raw);
        else if (flen == 3 && !strncmp(field, "dir", 3)) {
            if (slash)
                add_field(out, path, (size_t)(slash - path), in_command, raw);
            else
                vl_strbuf_addch(out, '.');
        } else
            return vl_error_at(err, loc, "rule %s: unknown field '%.*s' in '{%.*s}' (expected path, "
                                     "name, stem, ext or dir)",
                           r->name, (int)flen, field, (int)n, name);
        p = close;
    }
    return 0;
}

static int instantiate(struct vl_graph *g, const struct vl_rules *rules,
                       const struct vl_rule_decl *r, const struct vl_node *item_c, int copy,
                       struct vl_pool *pool, struct vl_error *err)
{
    struct vl_node *item = (struct vl_node *)item_c;
    if (g->n_edges >= g->max_actions)
        return vl_error_at(err, r->loc, "rule %s: the graph would hold more than %zu actions "
                                        "(vlbuild's bound)",
                           r->name, g->max_actions);
    struct vl_edge *e = VL_ARENA_NEW(&g->arena, struct vl_edge);
    e->rule = r;
    e->item = item;
    e->copy = copy;
    e->pool = pool;
    struct vl_strbuf sb = VL_STRBUF_INIT;
    int rc = 0;

    /* inputs: the item first, then each `in` word in order */
    struct vl_node **ins = NULL;
    size_t n_ins = 0, cap_ins = 0;
    if (item) VL_PUSH(ins, n_ins, cap_ins, item);
    for (size_t k = 0; k < r->inputs.len && rc == 0; k++) {
        const struct vl_word *w = &r->inputs.items[k];
        if (names_set(rules, w->text)) {
            struct vl_node **members;
            size_t n = set_members(g, rules, w->text, &members);
            if (g->n_links + n_ins + n > g->max_links) {
                free(members);
                rc = vl_error_at(err, w->loc, "rule %s: the graph would hold more than %zu input "
                                              "links (vlbuild's bound): %zu actions so far, and "
                                              "`in %s` gives each action of this rule %zu inputs",
                                 r->name, g->max_links, g->n_edges, w->text, n);
                break;
            }
            for (size_t j = 0; j < n; j++) VL_PUSH(ins, n_ins, cap_ins, members[j]);
            free(members);
            continue;
        }
        vl_strbuf_reset(&sb);
        rc = fill_template(w->text, w->loc, r, item, copy, 1, &sb, err);
        if (rc == 0) VL_PUSH(ins, n_ins, cap_ins, get_node(g, sb.buf, NULL));
    }
    g->n_links += n_ins;
    e->n_inputs = n_ins;
    e->inputs = VL_ARENA_ARRAY(&g->arena, struct vl_node *, n_ins + 1);
    if (n_ins) memcpy(e->inputs, ins, n_ins * sizeof *ins);
    free(ins);

    /* outputs */
    e->n_outputs = r->outputs.len;
    e->outputs = VL_ARENA_ARRAY(&g->arena, struct vl_node *, e->n_outputs);
    struct vl_node *origin = item ? (item->origin ? item->origin : item) : NULL;
    struct vl_set *set = (struct vl_set *)vl_graph_set(g, r->name);
    for (size_t k = 0; k < r->outputs.len && rc == 0; k++) {
        const struct vl_word *w = &r->outputs.items[k];
        vl_strbuf_reset(&sb);
        rc = fill_template(w->text, w->loc, r, item, copy, 1, &sb, err);
        if (rc < 0) break;
        enum vl_path_place place;
        struct vl_node *out = get_node(g, sb.buf, &place);
        if (place != VL_PATH_INSIDE) {
            rc = vl_error_at(err, w->loc, "rule %s: output %s is %s %s (outputs are files "
                                          "below the project directory)",
                             r->name, sb.buf,
                             place == VL_PATH_ROOT ? "the project directory" : "outside",
                             place == VL_PATH_ROOT ? "itself" : g->root);
            break;
        }
        if (out->producer) {
            const struct vl_rule_decl *other = out->producer->rule;
            rc = vl_error_at(err, w->loc, "two actions write %s: rule %s%s%s and rule %s (%s:%d:%d)",
                         out->path, r->name, item ? " for " : "", item ? item->path : "",
                         other->name, other->loc.path, other->loc.line, other->loc.col);
            break;
        }
        for (size_t j = 0; j < n_ins && rc == 0; j++)
            if (e->inputs[j] == out)
                rc = vl_error_at(err, w->loc, "rule %s: %s is both an input and an output", r->name,
                             out->path);
        out->producer = e;
        out->origin = origin;
        e->outputs[k] = out;
        set_push(set, out);
    }
    if (rc == 0 && r->kind == VL_RULE_RUN) {
        vl_strbuf_reset(&sb);
        rc = fill_template(r->command.text, r->command.loc, r, item, copy, 0, &sb, err);
        e->command = vl_arena_strndup(&g->arena, sb.buf, sb.len);
    }
    vl_strbuf_release(&sb);
    if (rc < 0) return -1;
    e->index = g->n_edges;
    VL_PUSH(g->edges, g->n_edges, g->cap_edges, e);
    return 0;
}

/* The extension of path's name with its dot (".npy"), or "" when it has none. */
static const char *ext_of(const char *path)
{
    const char *slash = strrchr(path, '/'), *name = slash ? slash + 1 : path;
    const char *dot = strrchr(name, '.');
    return dot && dot != name ? dot : "";
}

/* An output that a source pattern matches is an error before anything is
 * built: the first build would make it, and the next take it for a source
 * file (and refuse, or overwrite data).  The check is by pattern, so it does
 * not depend on which files exist yet. */
static int check_sources_outputs(const struct vl_graph *g, const struct vl_rules *rules,
                                 struct vl_error *err)
{
    struct vl_strbuf pat = VL_STRBUF_INIT;
    int rc = 0;
    for (size_t i = 0; i < rules->n_sources && rc == 0; i++) {
        const struct vl_source_decl *src = rules->sources[i];
        for (size_t j = 0; j < src->patterns.len && rc == 0; j++) {
            const struct vl_word *w = &src->patterns.items[j];
            /* outputs lie inside the project: a pattern outside matches none */
            if (vl_path_normalise(w->text, g->root, &pat) != VL_PATH_INSIDE) continue;
            for (size_t e = 0; e < g->n_edges && rc == 0; e++) {
                const struct vl_edge *edge = g->edges[e];
                for (size_t k = 0; k < edge->n_outputs && rc == 0; k++) {
                    const struct vl_node *out = edge->outputs[k];
                    if (!vl_glob_match(pat.buf, out->path))
                        continue;
                    const struct vl_loc at = edge->rule->outputs.items[k].loc;
                    rc = vl_error_at(err, at, "rule %s writes %s, which is a file of source %s "
                                              "(its pattern '%s' at %s:%d:%d matches it; an "
                                              "output cannot be a source: a source of outputs "
                                              "would lose the videos they descend from, and "
                                              "their labels; name the rule instead, `in %s` or "
                                              "`each x in %s:*%s`)",
                                     edge->rule->name, out->path, src->name, w->text,
                                     w->loc.path, w->loc.line, w->loc.col, edge->rule->name,
                                     edge->rule->name, ext_of(out->path));
                }
            }
        }
    }
    vl_strbuf_release(&pat);
    /* and a file that a glob found through a way the pattern does not spell */
    for (size_t i = 0; i < rules->n_sources && rc == 0; i++) {
        const struct vl_set *s = vl_graph_set(g, rules->sources[i]->name);
        for (size_t k = 0; k < s->len && rc == 0; k++)
            if (s->nodes[k]->producer) {
                const struct vl_rule_decl *r = s->nodes[k]->producer->rule;
                rc = vl_error_at(err, r->loc, "rule %s writes %s, which is a file of source %s "
                                              "(name the rule instead: `in %s` or `each x in "
                                              "%s:*%s`)",
                                 r->name, s->nodes[k]->path, s->name, r->name, r->name,
                                 ext_of(s->nodes[k]->path));
            }
    }
    return rc;
}

/* The length of the folder part of path ("" for "a.mp4", "/" for "/a.mp4"). */
static size_t folder_len(const char *path)
{
    const char *slash = strrchr(path, '/');
    return !slash ? 0 : slash == path ? 1 : (size_t)(slash - path);
}

/* Orders paths by folder, then by name: the files of one folder stay
 * together, which a plain order of paths does not keep (a/x.mp4 comes
 * between a.mp4 and a0.mp4). */
static int compare_by_folder(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    size_t dx = folder_len(x), dy = folder_len(y);
    int c = memcmp(x, y, dx < dy ? dx : dy);
    if (c || dx != dy) return c ? c : dx < dy ? -1 : 1;
    return strcmp(x + dx, y + dy);
}

/* Adds word to the ','-separated list unless it is there. */
static void add_alternative(struct vl_strbuf *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list->buf; *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && !strncmp(p, word, n)) return;
        p += len + (p[len] == ',');
    }
    vl_strbuf_addf(list, "%s%s", list->len ? "," : "", word);
}

/* Warns, once per folder, about the files that look like video that a
 * source's glob saw in a folder it read (unsourced->others) and that the
 * graph does not know: no source took them and no rule names them as an
 * input or an output.  Files of the state folder are vlbuild's own. */
static void warn_unsourced(struct vl_graph *g, const struct vl_graph_options *opts,
                           const struct vl_glob_result *unsourced)
{
    char **paths = NULL;
    size_t n = 0, cap = 0;
    struct vl_strbuf norm = VL_STRBUF_INIT, exts = VL_STRBUF_INIT, msg = VL_STRBUF_INIT;
    for (size_t i = 0; i < unsourced->n_others; i++) {
        vl_path_normalise(unsourced->others[i], g->root, &norm);
        if (vl_map_getn(&g->nodes, norm.buf, norm.len) || !strncmp(norm.buf, ".vlbuild/", 9))
            continue;
        VL_PUSH(paths, n, cap, vl_strbuf_detach(&norm, NULL));
    }
    if (n) qsort(paths, n, sizeof *paths, compare_by_folder);
    for (size_t i = 0; i < n;) {
        size_t dir_len = folder_len(paths[i]);
        /* the files of this folder, each once: paths[i..end) */
        size_t end = i, count = 0;
        vl_strbuf_reset(&exts);
        vl_strbuf_reset(&msg);
        for (; end < n; end++) {
            const char *p = paths[end], *name = strrchr(p, '/');
            if (folder_len(p) != dir_len || strncmp(p, paths[i], dir_len)) break;
            if (end > i && !strcmp(p, paths[end - 1])) continue;
            name = name ? name + 1 : p;
            if (count < 3) vl_strbuf_addf(&msg, "%s%s", count ? ", " : "", name);
            count++;
            /* the extension in lower case and as written, each once */
            const char *ext = strrchr(name, '.') + 1;
            char lower[8] = {0};
            for (size_t k = 0; ext[k] && k + 1 < sizeof lower; k++)
                lower[k] = (char)(ext[k] >= 'A' && ext[k] <= 'Z' ? ext[k] + 32 : ext[k]);
            add_alternative(&exts, lower);
            add_alternative(&exts, ext);
        }
        if (opts->warn) {
            int one = count == 1, many = strchr(exts.buf, ',') != NULL;
            char text[VL_ERROR_MAX];
            snprintf(text, sizeof text, "%.*s: %zu file%s that look%s like video %s not in any "
                     "source (%s%s); a pattern such as *.%s%s%s takes %s",
                     (int)(dir_len ? dir_len : 1), dir_len ? paths[i] : ".", count, one ? "" : "s",
                     one ? "s" : "", one ? "is" : "are", msg.buf, count > 3 ? ", ..." : "",
                     many ? "{" : "", exts.buf, many ? "}" : "", one ? "it" : "them");
            opts->warn(opts->warn_ctx, text);
            g->n_warnings++;
        }
        i = end;
    }
    for (size_t i = 0; i < n; i++) free(paths[i]);
    free(paths);
    vl_strbuf_release(&norm);
    vl_strbuf_release(&exts);
    vl_strbuf_release(&msg);
}

static struct vl_pool *find_pool(struct vl_graph *g, const char *name)
{
    for (size_t i = 0; i < g->n_pools; i++)
        if (!strcmp(g->pools[i].name, name)) return &g->pools[i];
    return NULL;
}

static void build_pools(struct vl_graph *g, const struct vl_rules *rules,
                        const struct vl_graph_options *opts)
{
    g->n_pools = 2 + rules->n_pools;
    g->pools = VL_ARENA_ARRAY(&g->arena, struct vl_pool, g->n_pools);
    g->pools[0] = (struct vl_pool){"cpu", opts->jobs > 0 ? opts->jobs : 1, 0, 0};
    g->pools[1] = (struct vl_pool){"gpu", opts->gpus > 0 ? opts->gpus : 1, 0, 1};
    for (size_t i = 0; i < rules->n_pools; i++)
        g->pools[2 + i] = (struct vl_pool){rules->pools[i]->name, rules->pools[i]->depth, 0, 0};
}

int vl_graph_build(struct vl_graph *g, const struct vl_rules *rules,
                   const struct vl_graph_options *opts, struct vl_error *err)
{
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd))
        return vl_error_set(err, "cannot find the project directory: %s", strerror(errno));
    g->root = vl_arena_strdup(&g->arena, cwd);
    g->max_actions = opts->max_actions ? opts->max_actions : VL_GRAPH_MAX_ACTIONS;
    g->max_links = opts->max_links ? opts->max_links : VL_GRAPH_MAX_LINKS;
    build_pools(g, rules, opts);
    struct vl_glob_result unsourced = {0};
    const struct vl_rule_decl **order;
    if (build_sources(g, rules, opts, &unsourced, err) < 0 || order_rules(rules, &order, err) < 0) {
        vl_glob_release(&unsourced);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < rules->n_rules && rc == 0; i++) {
        const struct vl_rule_decl *r = order[i];
        struct vl_pool *pool = find_pool(g, r->pool.text ? r->pool.text : "cpu");
        new_set(g, r->name);
        if (!r->each_var.text) {
            for (int c = 0; c < r->copies && rc == 0; c++)
                rc = instantiate(g, rules, r, NULL, c, pool, err);
            continue;
        }
        for (size_t s = 0; s < r->each_sets.len && rc == 0; s++) {
            /* a snapshot: instantiate() appends to sets */
            struct vl_node **items;
            size_t n_items = set_members(g, rules, r->each_sets.items[s].text, &items);
            for (size_t k = 0; k < n_items && rc == 0; k++)
                for (int c = 0; c < r->copies && rc == 0; c++)
                    rc = instantiate(g, rules, r, items[k], c, pool, err);
            free(items);
        }
    }
    free(order);
    if (rc == 0 && !g->for_clean) rc = check_sources_outputs(g, rules, err);
    if (rc == 0 && !g->for_clean) warn_unsourced(g, opts, &unsourced);
    vl_glob_release(&unsourced);
    if (rc < 0) return -1;
    /* consumers, for the scheduler: counted, then each node's array in the
     * arena at its exact size */
    for (size_t i = 0; i < g->n_edges; i++)
        for (size_t k = 0; k < g->edges[i]->n_inputs; k++) g->edges[i]->inputs[k]->n_consumers++;
    for (size_t i = 0; i < g->n_nodes; i++) {
        struct vl_node *n = g->node_list[i];
        if (n->n_consumers) n->consumers = VL_ARENA_ARRAY(&g->arena, struct vl_edge *, n->n_consumers);
        n->n_consumers = 0;
    }
    for (size_t i = 0; i < g->n_edges; i++) {
        struct vl_edge *e = g->edges[i];
        for (size_t k = 0; k < e->n_inputs; k++) {
            struct vl_node *n = e->inputs[k];
            n->consumers[n->n_consumers++] = e;
        }
    }
    return 0;
}

struct vl_node *vl_graph_find(const struct vl_graph *g, const char *path)
{
    struct vl_node *n = vl_map_get(&g->nodes, path);
    if (n || !g->root) return n;
    struct vl_strbuf buf = VL_STRBUF_INIT;
    vl_path_normalise(path, g->root, &buf);
    n = vl_map_getn(&g->nodes, buf.buf, buf.len);
    vl_strbuf_release(&buf);
    return n;
}

const struct vl_set *vl_graph_set(const struct vl_graph *g, const char *name)
{
    return vl_map_get(&g->sets, name);
}

void vl_graph_release(struct vl_graph *g)
{
    struct vl_map_slot *slots = g->sets.slots;
    for (size_t i = 0; i < g->sets.cap; i++)
        if (slots[i].key) free(((struct vl_set *)slots[i].value)->nodes);
    free(g->node_list);
    free(g->edges);
    vl_map_release(&g->nodes);
    vl_map_release(&g->sets);
    vl_arena_release(&g->arena);
    memset(g, 0, sizeof *g);
}
