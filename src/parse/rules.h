/* rules.h - the parsed form of a rules file (the AST).
 *
 * The language is described in docs/rules.md.  Parsing expands `$var`
 * references and `include`s, so the AST holds literal words; item templates
 * such as {v.stem} and {copy}, and the run-time variables $in, $out and
 * $in_list, are left in place for the graph expansion and the scheduler. */
#ifndef VL_RULES_H
#define VL_RULES_H

#include <stdarg.h>
#include <stddef.h>

#include "actions/action.h"
#include "util/arena.h"
#include "util/error.h"
#include "util/map.h"

struct vl_loc {
    const char *path;
    int line, col;
};

struct vl_word {
    const char *text;
    struct vl_loc loc;
};

struct vl_words {
    struct vl_word *items;
    size_t len, cap;
};

struct vl_source_decl {
    const char *name;
    struct vl_loc loc;
    struct vl_words patterns; /* globs, relative to the project directory */
};

struct vl_pool_decl {
    const char *name;
    struct vl_loc loc;
    int depth;
};

enum vl_rule_kind { VL_RULE_NONE, VL_RULE_DO, VL_RULE_RUN };

struct vl_rule_decl {
    const char *name;
    struct vl_loc loc;
    struct vl_word each_var;    /* text NULL: an aggregate rule */
    struct vl_words each_sets;  /* the sets iterated over, in order (their union) */
    enum vl_rule_kind kind;
    struct vl_word action;      /* do: the built-in's name */
    struct vl_words params;     /* do: name=value words */
    const struct vl_action_def *def; /* do: the action, resolved at parse time */
    struct vl_params values;    /* do: the validated parameters */
    struct vl_word command;     /* run: the shell command */
    struct vl_words inputs;     /* set names or paths (templated in `each` rules) */
    struct vl_words outputs;    /* path templates */
    int copies;                 /* 1 unless `copies K` */
    struct vl_word pool;        /* NULL text: the cpu pool */
    struct vl_loc copies_loc;
};

struct vl_rules {
    struct vl_arena arena;
    struct vl_map vars; /* name -> const char *value */
    struct vl_source_decl **sources;
    size_t n_sources;
    struct vl_rule_decl **rules;
    size_t n_rules;
    struct vl_pool_decl **pools;
    size_t n_pools;
    struct vl_words defaults;
    size_t cap_sources, cap_rules, cap_pools;
};

/* Variables set on the command line (NAME=VALUE); they win over `var` lines. */
struct vl_var_override {
    const char *name, *value;
};

/* Parses the rules file at path (and everything it includes) into rules,
 * which the caller releases with vl_rules_release even on failure.  Errors
 * are `path:line:col: message`. */
int vl_rules_parse_file(struct vl_rules *rules, const char *path,
                        const struct vl_var_override *overrides, size_t n_overrides,
                        struct vl_error *err);
/* Parses rules from a string; name is used in messages (for tests). */
int vl_rules_parse_string(struct vl_rules *rules, const char *name, const char *text,
                          const struct vl_var_override *overrides, size_t n_overrides,
                          struct vl_error *err);
/* Returns the rule declared with name, or NULL. */
struct vl_rule_decl *vl_rules_find_rule(const struct vl_rules *rules, const char *name);
/* Returns the source declared with name, or NULL. */
struct vl_source_decl *vl_rules_find_source(const struct vl_rules *rules, const char *name);
/* Returns the pool declared with name, or NULL. */
struct vl_pool_decl *vl_rules_find_pool(const struct vl_rules *rules, const char *name);
/* Appends a word to a word list, growing it in the arena. */
void vl_words_push(struct vl_arena *arena, struct vl_words *list, struct vl_word word);
/* Sets err to "path:line:col: message" for a place in a rules file; returns -1. */
int vl_error_at(struct vl_error *err, struct vl_loc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Like vl_error_at, with a va_list. */
int vl_error_atv(struct vl_error *err, struct vl_loc loc, const char *fmt, va_list ap);
/* Frees everything the rules own. */
void vl_rules_release(struct vl_rules *rules);

#endif
