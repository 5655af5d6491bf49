/* graph.h - the static build graph: files (nodes) and actions (edges).
 *
 * Like samurai's graph.h, two structs are the whole model.  A node is a file
 * path; it has at most one producing edge.  An edge is one action: ordered
 * inputs, ordered outputs, the rule it came from and, for `each` rules, the
 * item it was made for.  Everything lives in the graph's arena. */
#ifndef VL_GRAPH_H
#define VL_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "parse/rules.h"
#include "util/arena.h"
#include "util/fs.h"
#include "util/map.h"

struct vl_edge;
struct vl_file_record;
struct vl_action_record;

struct vl_node {
    const char *path;
    struct vl_edge *producer;  /* NULL for a source file */
    struct vl_node *origin;    /* provenance: the source item it descends from, or NULL */
    struct vl_edge **consumers; /* the edges that read it, in the graph's arena */
    size_t n_consumers;
    struct vl_file_record *file_rec; /* its record in the state, or NULL */
    /* filled by the planner */
    struct vl_stat st;
    struct vl_hash hash;
    unsigned stat_done : 1;
    unsigned hash_known : 1;
    unsigned wanted : 1;
};

enum vl_edge_state {
    VL_EDGE_UNVISITED,
    VL_EDGE_VISITING, /* on the DFS stack: meeting it again is a cycle */
    VL_EDGE_CLEAN,    /* decided: up to date */
    VL_EDGE_DIRTY,    /* decided: must run */
    VL_EDGE_MAYBE,    /* an input will be rebuilt: decide when it is ready */
};

/* Why an edge was decided as it was: a code, with the file it names in
 * edge->reason_node where it names one (vl_plan_reason_text gives the text;
 * `explain` and the dry run decide by the code, never by the text). */
enum vl_reason {
    VL_REASON_NONE,
    VL_REASON_UP_TO_DATE,
    VL_REASON_CUTOFF,          /* up to date: its rebuilt inputs did not change */
    VL_REASON_NO_RECORD,       /* no record of a previous run */
    VL_REASON_KEY_CHANGED,     /* its command, parameters or input data changed */
    VL_REASON_OUTPUTS_CHANGED, /* it has more or fewer outputs than recorded */
    VL_REASON_OUTPUT_MISSING,  /* reason_node is missing */
    VL_REASON_OUTPUT_MODIFIED, /* reason_node was modified since it was built */
    VL_REASON_INPUT_REBUILT,   /* reason_node, an input, is being rebuilt */
};

struct vl_pool {
    const char *name;
    int depth;
    int running;
    int is_gpu;
};

struct vl_edge {
    const struct vl_rule_decl *rule;
    struct vl_node **inputs;
    size_t n_inputs;
    struct vl_node **outputs;
    size_t n_outputs;
    struct vl_node *item; /* the `each` item, or NULL for an aggregate */
    int copy;             /* the {copy} index */
    const char *command;  /* run rules: the command, {templates} filled, $in/$out not yet */
    struct vl_pool *pool;
    struct vl_action_record *action_rec; /* its last run's record in the state, or NULL */
    /* filled by the planner and scheduler */
    enum vl_edge_state state;
    enum vl_reason reason;   /* why dirty, or why clean */
    const struct vl_node *reason_node; /* the file the reason names, or NULL */
    struct vl_hash def_key;  /* the key of the definition (exec/key.h) */
    struct vl_hash key;      /* the action key, once computed */
    size_t pending;          /* inputs whose producers have not finished */
    unsigned key_known : 1;
    unsigned queued : 1;
    unsigned done : 1;
    unsigned failed : 1;
    size_t index;
};

/* 1 when the planner decided that e runs in this build, or may (dirty or maybe). */
static inline int vl_edge_will_run(const struct vl_edge *e)
{
    return e->state == VL_EDGE_DIRTY || e->state == VL_EDGE_MAYBE;
}

struct vl_graph {
    struct vl_arena arena;
    struct vl_map nodes; /* path -> struct vl_node * */
    struct vl_node **node_list;
    size_t n_nodes, cap_nodes;
    struct vl_edge **edges;
    size_t n_edges, cap_edges;
    struct vl_map sets; /* source or rule name -> struct vl_set * */
    struct vl_pool *pools;
    size_t n_pools;
    size_t n_warnings;
    size_t n_links, max_links, max_actions; /* input links so far; the bounds */
    const char *root; /* the project directory (the current one when built) */
    /* set before vl_graph_build for `clean`: a rule output that a source
     * matches is not an error, so the outputs of any earlier build can
     * always be removed */
    int for_clean;
};

/* A named set of files: a source's matches or a rule's outputs. */
struct vl_set {
    const char *name;
    struct vl_node **nodes;
    size_t len, cap;
};

/* Options that shape the graph. */
struct vl_graph_options {
    int jobs;    /* depth of the cpu pool */
    int gpus;    /* depth of the gpu pool */
    void (*warn)(void *ctx, const char *message);
    void *warn_ctx;
    /* the graph's bounds (0: VL_GRAPH_MAX_ACTIONS, VL_GRAPH_MAX_LINKS) */
    size_t max_actions, max_links;
};

/* A graph holds at most this many actions, and this many input links in
 * all (an action's inputs, summed over actions): rules that ask for more
 * (an `each` over a large set whose actions each read the whole set asks
 * for its size squared) are an error naming the rule's line, not an
 * allocation that takes the machine down.  About 10 GB of graph. */
#define VL_GRAPH_MAX_ACTIONS ((size_t)20 * 1000 * 1000)
#define VL_GRAPH_MAX_LINKS ((size_t)500 * 1000 * 1000)

/* Expands parsed rules into g: globs sources (relative to the current
 * directory), instantiates `each` rules per item and copy, links inputs to
 * producers.  Errors: two actions writing one file, a rule-level cycle, an
 * unknown set, a template naming an unknown field, an output that a source
 * pattern matches (unless g->for_clean), an output outside the
 * project directory.  Every path becomes one node whatever its spelling
 * (graph/path.h): inputs outside the project keep an absolute path.  A
 * source pattern whose braces vl_glob_check refuses is an error at its
 * place.  Warnings (through opts->warn): a source pattern that matches
 * nothing; once per folder a source's glob read, the files there that look
 * like video and that no source takes and no rule names. */
int vl_graph_build(struct vl_graph *g, const struct vl_rules *rules,
                   const struct vl_graph_options *opts, struct vl_error *err);
/* Returns the node for path, spelt in any way that names the same file
 * (graph/path.h), or NULL. */
struct vl_node *vl_graph_find(const struct vl_graph *g, const char *path);
/* Returns the set called name (a source or a rule), or NULL. */
const struct vl_set *vl_graph_set(const struct vl_graph *g, const char *name);
/* Frees the graph. */
void vl_graph_release(struct vl_graph *g);

#endif
