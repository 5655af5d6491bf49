/* main.c - the vlbuild command line: option parsing and one function per
 * subcommand.  Only this file prints errors and chooses exit statuses:
 * 0 success, 1 a build or command failed, 2 bad usage or rules, 130 interrupted. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "cache/cache.h"
#include "exec/action_desc.h"
#include "exec/action_detail.h"
#include "exec/build.h"
#include "exec/clean.h"
#include "exec/explain.h"
#include "exec/plan.h"
#include "exec/slurm.h"
#include "gpu/device_choice.h"
#include "gpu/devices.h"
#include "graph/graph.h"
#include "parse/rules.h"
#include "state/lock.h"
#include "state/state.h"
#include "util/fs.h"
#include "util/module.h"
#include "util/size.h"

#define STATE_DIR ".vlbuild"
#define STATE_DB STATE_DIR "/state.db"
#define SLURM_CONFIG "vlbuild.slurm"
#define SLURM_JOBS 256 /* default -j with --executor slurm: actions in flight on the cluster */

struct options {
    const char *dir, *file, *trace;
    int jobs, keep_going, dry_run, verbose, quiet, gpus, no_wait, no_cache;
    int targets_only; /* the words came after `--`: no subcommand */
    int jobs_given, slurm;    /* -j was given; --executor slurm */
    int gpus_given;           /* --gpus was given */
    const char *gpu_list;     /* --gpu-devices, or NULL */
    struct vl_gpu_devices gpu_devices; /* the gpu pool's devices (gpu/devices.h) */
    const char *slurm_config; /* --slurm-config, or NULL */
    struct vl_cache_options cache;
    uint64_t memory_budget;
    int64_t start_ns, start_mono_ns; /* when this vlbuild started: wall, monotonic */
    struct vl_var_override *overrides;
    size_t n_overrides;
    char **args;
    size_t n_args;
};

static const char usage_text[] =
    "usage: vlbuild [options] [targets...]\n"
    "       vlbuild [options] COMMAND [args...]\n"
    "\n"
    "Builds the targets (rule names, source names or file paths; default: the rules'\n"
    "`default` line, or everything) of the rules file, running only what is stale.\n"
    "\n"
    "commands:\n"
    "  explain TARGET...   say why each target would be rebuilt, and the chain behind it\n"
    "  graph [TARGET...]   print the dependency graph in Graphviz DOT\n"
    "  status [TARGET...]  count what is up to date and what would run, per rule,\n"
    "                      and the outputs that no rule makes any more\n"
    "  clean [TARGET...]   remove the outputs vlbuild made (all, with those that no\n"
    "                      rule makes any more; or of the targets)\n"
    "  actions             list the built-in actions and their parameters\n"
    "  targets             list the rules and sources (for shell completion)\n"
    "  meta [--json] FILE  print video metadata (probed once, cached by content)\n"
    "  cache stats|verify|gc --max-size SIZE   inspect, check or trim the artifact cache\n"
    "\n"
    "options:\n"
    "  -C DIR              change to DIR before doing anything\n"
    "  -f FILE             the rules file (default: vlbuild.rules)\n"
    "  -j N                run N actions at once in the cpu pool (default: CPU count)\n"
    "  -k N                keep going until N actions fail (0: never stop; default 1)\n"
    "  -n                  dry run: print what would run and why, run nothing\n"
    "  -v                  print each command as it starts\n"
    "  -q                  print only failures and the summary\n"
    "  -D NAME=VALUE       set a rules variable (NAME=VALUE as an argument does too)\n"
    "  --gpus N            slots of the gpu pool (default: one per GPU, 1 without)\n"
    "  --gpu-devices LIST  the GPUs the gpu pool uses: ordinals or GPU-/MIG- ids\n"
    "                      (default: CUDA_VISIBLE_DEVICES, else the /dev/nvidiaN devices)\n"
    "  --memory-budget SZ  decoded-frame memory per built-in job (default 256M)\n"
    "  --trace FILE        write a Chrome trace (JSON) of the run to FILE\n"
    "  --cache-dir DIR     the artifact cache (default: .vlbuild/cache; or $VLBUILD_CACHE_DIR)\n"
    "  --remote-cache URL  an HTTP cache with Bazel's layout (or $VLBUILD_REMOTE_CACHE)\n"
    "  --remote-cache-readonly  look up on the remote cache, never upload\n"
    "  --no-cache          neither restore from nor store into any cache\n"
    "  --no-wait           fail instead of waiting when another vlbuild is running here\n"
    "  --executor local|slurm  run actions here (default) or as Slurm jobs (docs/cluster.md);\n"
    "                      with slurm, -j counts actions in flight (default 256)\n"
    "  --slurm-config FILE Slurm partition, account, time, resources per rule, batching\n"
    "                      (default: vlbuild.slurm in the project, if there is one)\n"
    "  -h, --help          this help\n"
    "  --version           print the version\n";

static void warn_line(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "vlbuild: warning: %s\n", msg);
}

static void notice_line(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "vlbuild: %s\n", msg);
}


static int parse_count(const char *s, int min, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < min || v > 100000) return -1;
    *out = (int)v;
    return 0;
}

static void add_override(struct options *o, const char *arg)
{
    const char *eq = strchr(arg, '=');
    o->overrides = realloc(o->overrides, (o->n_overrides + 1) * sizeof *o->overrides);
    if (!o->overrides) abort();
    o->overrides[o->n_overrides].name = strndup(arg, (size_t)(eq - arg));
    o->overrides[o->n_overrides].value = eq + 1;
    o->n_overrides++;
}

static int is_override(const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg) return 0;
    for (const char *p = arg; p < eq; p++)
        if (!(p == arg ? (*p == '_' || (*p >= 'A' && *p <= 'z'))
                       : (*p == '_' || *p == '-' || (*p >= '0' && *p <= '9') ||
                          (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))))
            return 0;
    return 1;
}

/* The subcommands; a target with one of these names is written after `--`. */
static const char *const command_names[] = {"explain", "graph", "status", "clean", "actions",
                                            "cache", "meta", "targets", NULL};

static int is_command_name(const char *s)
{
    for (size_t i = 0; command_names[i]; i++)
        if (!strcmp(s, command_names[i])) return 1;
    return 0;
}

static int parse_options(int argc, char **argv, struct options *o)
{
    enum { OPT_TRACE = 256, OPT_VERSION, OPT_GPUS, OPT_GPU_DEVICES, OPT_BUDGET, OPT_NO_WAIT, OPT_CACHE_DIR,
           OPT_REMOTE, OPT_REMOTE_RO, OPT_NO_CACHE, OPT_EXECUTOR, OPT_SLURM_CONFIG };
    static const struct option longs[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {"trace", required_argument, NULL, OPT_TRACE},
        {"gpus", required_argument, NULL, OPT_GPUS},
        {"gpu-devices", required_argument, NULL, OPT_GPU_DEVICES},
        {"memory-budget", required_argument, NULL, OPT_BUDGET},
        {"no-wait", no_argument, NULL, OPT_NO_WAIT},
        {"cache-dir", required_argument, NULL, OPT_CACHE_DIR},
        {"remote-cache", required_argument, NULL, OPT_REMOTE},
        {"remote-cache-readonly", no_argument, NULL, OPT_REMOTE_RO},
        {"no-cache", no_argument, NULL, OPT_NO_CACHE},
        {"executor", required_argument, NULL, OPT_EXECUTOR},
        {"slurm-config", required_argument, NULL, OPT_SLURM_CONFIG},
        {0},
    };
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    o->jobs = ncpu > 0 ? (int)ncpu : 1;
    o->keep_going = 1;
    o->gpus = 1;
    o->file = "vlbuild.rules";
    o->memory_budget = 256u << 20;
    vl_cache_options_init(&o->cache);
    o->cache.warn = warn_line;
    /* Options may come anywhere among targets and NAME=VALUE words, as with
     * make; but after a subcommand they are the subcommand's business
     * (`vlbuild cache gc --max-size 2G`), so then stop at the first word. */
    int permute = 1;
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (is_command_name(argv[i])) permute = 0;
    int c;
    while ((c = getopt_long(argc, argv, permute ? "C:f:j:k:nvqD:h" : "+C:f:j:k:nvqD:h", longs,
                            NULL)) != -1) {
        switch (c) {
        case 'C': o->dir = optarg; break;
        case 'f': o->file = optarg; break;
        case 'j':
            if (parse_count(optarg, 1, &o->jobs) < 0) {
                fprintf(stderr, "vlbuild: -j expects a count of 1 or more, got '%s'\n", optarg);
                return -1;
            }
            o->jobs_given = 1;
            break;
        case 'k':
            if (parse_count(optarg, 0, &o->keep_going) < 0) {
                fprintf(stderr, "vlbuild: -k expects a count (0: never stop), got '%s'\n", optarg);
                return -1;
            }
            break;
        case 'n': o->dry_run = 1; break;
        case 'v': o->verbose = 1; break;
        case 'q': o->quiet = 1; break;
        case 'D':
            if (!is_override(optarg)) {
                fprintf(stderr, "vlbuild: -D expects NAME=VALUE, got '%s'\n", optarg);
                return -1;
            }
            add_override(o, optarg);
            break;
        case OPT_TRACE: o->trace = optarg; break;
        case OPT_GPUS:
            if (parse_count(optarg, 1, &o->gpus) < 0) {
                fprintf(stderr, "vlbuild: --gpus expects a count of 1 or more, got '%s'\n", optarg);
                return -1;
            }
            o->gpus_given = 1;
            break;
        case OPT_GPU_DEVICES: o->gpu_list = optarg; break;
        case OPT_BUDGET:
            if (vl_parse_size(optarg, &o->memory_budget) < 0 || o->memory_budget == 0) {
                fprintf(stderr, "vlbuild: --memory-budget expects a size such as 256M, got '%s'\n",
                        optarg);
                return -1;
            }
            break;
        case OPT_NO_WAIT: o->no_wait = 1; break;
        case OPT_CACHE_DIR: o->cache.dir = optarg; break;
        case OPT_REMOTE: o->cache.remote_url = optarg; break;
        case OPT_REMOTE_RO: o->cache.remote_readonly = 1; break;
        case OPT_NO_CACHE: o->no_cache = 1; break;
        case OPT_EXECUTOR:
            if (strcmp(optarg, "local") && strcmp(optarg, "slurm")) {
                fprintf(stderr, "vlbuild: --executor expects local or slurm, got '%s'\n", optarg);
                return -1;
            }
            o->slurm = !strcmp(optarg, "slurm");
            break;
        case OPT_SLURM_CONFIG: o->slurm_config = optarg; break;
        case 'h': fputs(usage_text, stdout); exit(0);
        case OPT_VERSION: printf("vlbuild %s\n", VL_VERSION); exit(0);
        default: fputs("run 'vlbuild --help' for usage\n", stderr); return -1;
        }
    }
    if (o->slurm && !o->jobs_given) o->jobs = SLURM_JOBS;
    o->targets_only = optind > 1 && !strcmp(argv[optind - 1], "--");
    /* the rest: a command or targets, with NAME=VALUE overrides anywhere */
    o->args = calloc((size_t)argc + 1, sizeof *o->args);
    if (!o->args) abort();
    for (int i = optind; i < argc; i++) {
        if (is_override(argv[i]))
            add_override(o, argv[i]);
        else
            o->args[o->n_args++] = argv[i];
    }
    return 0;
}

/* Makes the state directory; 0 when it can be written, 1 when it cannot but
 * the command only reads (-n, status, explain, graph, targets: the state is
 * read without being changed), -1 with a message for one that writes. */
static int state_dir_readonly(const struct options *o, struct vl_error *err)
{
    if (vl_mkdir_p(STATE_DIR, err) == 0 && access(STATE_DIR, W_OK) == 0) return 0;
    int e = errno;
    const char *cmd = o->n_args && !o->targets_only ? o->args[0] : "";
    int reads_only = !strcmp(cmd, "status") || !strcmp(cmd, "explain") ||
                     !strcmp(cmd, "graph") || !strcmp(cmd, "targets") ||
                     (o->dry_run && !is_command_name(cmd));
    if (!reads_only)
        return vl_error_set(err, "cannot write the state directory %s: %s (-n, status, explain "
                                 "and graph work on a read-only checkout)",
                            STATE_DIR, strerror(e));
    fprintf(stderr, "vlbuild: note: %s cannot be written (%s): reading the state without "
                    "changing it\n",
            STATE_DIR, strerror(e));
    return 1;
}

/* Everything a command needs: the parsed rules, the graph and the state. */
struct project {
    struct vl_rules rules;
    struct vl_graph graph;
    struct vl_state *state;
    int lock_fd;
};

/* for_clean: the graph is built for `clean`, which must work even when an
 * earlier build left outputs that a source now matches (graph.h). */
static int open_project(struct project *p, const struct options *o, int for_clean,
                        struct vl_error *err)
{
    memset(p, 0, sizeof *p);
    p->lock_fd = -1;
    if (access(o->file, R_OK) != 0)
        return vl_error_set(err, "cannot read rules file %s: %s%s", o->file, strerror(errno),
                            errno == ENOENT ? " (use -f FILE, or -C DIR for another project)" : "");
    if (vl_rules_parse_file(&p->rules, o->file, o->overrides, o->n_overrides, err) < 0) return -1;
    int readonly = state_dir_readonly(o, err);
    if (readonly < 0) return -1;
    /* read-only, the lock is on the folder if it exists (lock.c) */
    if (!readonly || access(STATE_DIR, F_OK) == 0) {
        p->lock_fd = vl_lock_acquire(STATE_DIR "/lock", !o->no_wait, notice_line, NULL, err);
        if (p->lock_fd < 0) return -1;
    }
    struct vl_graph_options gopts = {.jobs = o->jobs, .gpus = o->gpus, .warn = warn_line};
    p->graph.for_clean = for_clean;
    if (vl_graph_build(&p->graph, &p->rules, &gopts, err) < 0) return -1;
    /* the state's records are kept on the graph: no second copy of every path */
    struct vl_state_index index = vl_plan_state_index(&p->graph);
    if (readonly) return vl_state_open_readonly(STATE_DB, &index, warn_line, NULL, &p->state, err);
    return vl_state_open(STATE_DB, &index, warn_line, NULL, &p->state, err);
}

static void close_project(struct project *p)
{
    vl_state_close(p->state);
    vl_graph_release(&p->graph);
    vl_rules_release(&p->rules);
    vl_lock_release(p->lock_fd);
}

/* Resolves the target words and plans them; the caller frees *targets. */
static int plan_targets(struct project *p, const struct options *o, struct vl_plan *plan,
                        char **words, size_t n, struct vl_node ***targets, size_t *n_targets,
                        struct vl_error *err)
{
    *targets = NULL;
    *n_targets = 0;
    if (vl_device_resolve_rules(&p->rules, &o->gpu_devices, err) < 0) return -1;
    if (vl_plan_resolve_targets(&p->graph, &p->rules, (const char *const *)words, n, targets,
                                n_targets, err) < 0)
        return -1;
    return vl_plan_build(plan, &p->graph, p->state, *targets, *n_targets, err);
}

static int cmd_build(struct project *p, const struct options *o, struct vl_error *err)
{
    /* refused before the build, not after an hour of it */
    if (o->trace && vl_check_replaceable(o->trace, err) < 0) return 2;
    struct vl_plan plan = {0};
    struct vl_node **targets;
    size_t n_targets;
    int planned = plan_targets(p, o, &plan, o->args, o->n_args, &targets, &n_targets, err);
    free(targets);
    if (planned < 0) {
        vl_plan_release(&plan);
        return 2;
    }
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return vl_error_set(err, "cannot find the vlbuild executable"), 1;
    self[n] = '\0';
    struct vl_build_options bopts = {
        .jobs = o->jobs,
        .keep_going = o->keep_going,
        .dry_run = o->dry_run,
        .verbose = o->verbose,
        .quiet = o->quiet,
        .trace_path = o->trace,
        .state_path = STATE_DB,
        .tmp_dir = STATE_DIR "/tmp",
        .self_exe = self,
        .memory_budget = o->memory_budget,
        .start_ns = o->start_ns,
        .start_mono_ns = o->start_mono_ns,
        .gpu_devices = &o->gpu_devices,
    };
    struct vl_slurm_config slurm;
    vl_slurm_config_init(&slurm);
    if (o->slurm) {
        const char *path = o->slurm_config;
        if (!path && access(SLURM_CONFIG, F_OK) == 0) path = SLURM_CONFIG;
        if (path && vl_slurm_config_load(&slurm, path, err) < 0) {
            vl_slurm_config_release(&slurm);
            vl_plan_release(&plan);
            return 2;
        }
        bopts.slurm = &slurm;
    }
    if (!o->no_cache && !o->dry_run && vl_cache_open(&o->cache, &bopts.cache, err) < 0) {
        vl_slurm_config_release(&slurm);
        vl_plan_release(&plan);
        return 2;
    }
    struct vl_build_summary s;
    int rc = vl_build_execute(&plan, &p->graph, p->state, &bopts, &s, err);
    /* records of an older vlbuild learn what their actions are (explain, clean) */
    if (rc == 0 && !o->dry_run && vl_action_detail_backfill(&p->graph, p->state, err) < 0) rc = -1;
    vl_cache_close(bopts.cache);
    vl_slurm_config_release(&slurm);
    vl_plan_release(&plan);
    if (rc < 0) return 1;
    if (o->dry_run) {
        printf("vlbuild: %zu would run, %zu up to date (dry run)\n", s.not_run, s.up_to_date);
        return 0;
    }
    printf("vlbuild: %zu ran, %zu restored, %zu up to date, %zu failed", s.ran, s.restored,
           s.up_to_date, s.failed);
    if (s.not_run) printf(", %zu not run", s.not_run);
    printf(", %.2f s%s\n", s.seconds, s.interrupted ? " (interrupted)" : "");
    /* A restored output may be a hard link to the cache's blob, read-only so
     * that editing it cannot change the cache: say so where a user trips. */
    if (s.restored && !o->quiet)
        printf("vlbuild: restored outputs may be read-only links into the cache; to edit one,"
               " copy it first (docs/cache.md)\n");
    fflush(stdout);
    if (s.interrupted) return 130;
    return s.failed || s.not_run ? 1 : 0;
}

static int cmd_explain(struct project *p, const struct options *o, struct vl_error *err)
{
    if (o->n_args < 2) return vl_error_set(err, "explain needs at least one target"), 2;
    struct vl_plan plan = {0};
    struct vl_node **targets;
    size_t n;
    int rc = plan_targets(p, o, &plan, o->args + 1, o->n_args - 1, &targets, &n, err);
    for (size_t i = 0; i < n && rc == 0; i++) rc = vl_explain_node(stdout, p->state, targets[i], err);
    free(targets);
    vl_state_commit(p->state, NULL);
    vl_plan_release(&plan);
    return rc < 0 ? 2 : 0;
}

static int cmd_status(struct project *p, const struct options *o, struct vl_error *err)
{
    struct vl_plan plan = {0};
    struct vl_node **targets;
    size_t n_targets;
    int planned = plan_targets(p, o, &plan, o->args + 1, o->n_args - 1, &targets, &n_targets, err);
    free(targets);
    if (planned < 0) {
        vl_plan_release(&plan);
        return 2;
    }
    vl_explain_status(stdout, &p->rules, &plan);
    vl_plan_release(&plan);
    struct vl_dead dead;
    int found = vl_dead_find(&p->graph, p->state, &dead, err);
    if (found == 0) vl_dead_report(stdout, &dead);
    vl_dead_release(&dead);
    vl_state_commit(p->state, NULL);
    return found < 0 ? 2 : 0;
}

static int cmd_graph(struct project *p, const struct options *o, struct vl_error *err)
{
    struct vl_node **targets;
    size_t n;
    if (vl_plan_resolve_targets(&p->graph, &p->rules, (const char *const *)o->args + 1,
                                o->n_args - 1, &targets, &n, err) < 0)
        return 2;
    vl_explain_graph_dot(stdout, &p->graph, targets, n);
    free(targets);
    return 0;
}

static int cmd_clean(struct project *p, const struct options *o, struct vl_error *err)
{
    struct vl_node **targets = NULL;
    size_t n = 0;
    /* with no targets, everything the rules make (not just the default) and
     * the dead outputs (exec/clean.h) */
    if (o->n_args > 1 && vl_plan_resolve_targets(&p->graph, &p->rules,
                                                 (const char *const *)o->args + 1, o->n_args - 1,
                                                 &targets, &n, err) < 0)
        return 2;
    int rc = vl_clean(stdout, &p->graph, p->state, o->n_args > 1 ? targets : NULL, n, err);
    free(targets);
    return rc < 0 ? 1 : 0;
}

static int cmd_targets(struct project *p)
{
    for (size_t i = 0; i < p->rules.n_rules; i++) printf("%s\n", p->rules.rules[i]->name);
    for (size_t i = 0; i < p->rules.n_sources; i++) printf("%s\n", p->rules.sources[i]->name);
    return 0;
}

static int cmd_actions(void)
{
    static const char *const type_names[] = {"int", "float", "bool", "text", "choice",
                                             "WxH", "low:high", "bytes", "list"};
    const struct vl_action_def *const *all = vl_action_all();
    for (size_t i = 0; all[i]; i++) {
        printf("%s (version %d): %s\n", all[i]->name, all[i]->version, all[i]->summary);
        for (const struct vl_param_spec *s = all[i]->params; s && s->name; s++) {
            printf("    %-14s %-9s", s->name, type_names[s->type]);
            if (s->default_value) printf(" default %s", s->default_value);
            else printf(" required");
            if (s->choices) printf(", one of %s", s->choices);
            printf("  %s\n", s->help ? s->help : "");
        }
    }
    return 0;
}


/* `vlbuild exec-action FILE`, on a cluster node: runs the built-in action
 * that the head described in FILE (exec/action_desc.h) in the current
 * directory, prints its log, and exits 0 (done), 1 (failed) or 2 (bad file).
 * It gets no state path: the head alone writes state.db. */
static int exec_action(const char *path)
{
    struct vl_action_desc d;
    struct vl_error err = {{0}};
    if (vl_action_desc_read(path, &d, &err) < 0) {
        fprintf(stderr, "vlbuild: error: %s\n", err.msg);
        vl_action_desc_release(&d);
        return 2;
    }
    /* a job bound to a GPU gets the one Slurm gave it */
    if (d.job.device >= 0 && getenv("CUDA_VISIBLE_DEVICES")) d.job.device = 0;
    int rc = d.job.def->run(&d.job, &err);
    fwrite(d.log.buf, 1, d.log.len, stdout);
    if (rc < 0) printf("vlbuild: %s\n", err.msg);
    vl_action_desc_release(&d);
    return rc < 0 ? 1 : 0;
}

static int run_command(struct options *o, const char *cmd);

/* Opens /dev/null onto whichever of fds 0, 1 and 2 is closed, before any
 * other open: a file opened onto one of them (the lock, the state database)
 * would receive status lines, or be a child's stdin. */
static void open_standard_fds(void)
{
    for (int fd = 0; fd < 3; fd++) {
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
        /* the lowest free descriptor: fd itself, as those below it are open */
        int null = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
        if (null < 0) exit(2); /* nowhere to say so */
        if (null != fd) {
            dup2(null, fd);
            close(null);
        }
    }
}

/* The gpu pool's devices, and its depth unless --gpus gave it
 * (gpu/devices.h); 0, or -1 with a message on a bad list. */
static int find_gpus(struct options *o)
{
    struct vl_error err;
    int rc = o->gpu_list
                 ? vl_gpu_devices_parse(o->gpu_list, "--gpu-devices", &o->gpu_devices, &err)
                 : vl_gpu_devices_detect(getenv("CUDA_VISIBLE_DEVICES"), "/dev", &o->gpu_devices,
                                         &err);
    if (rc < 0) {
        fprintf(stderr, "vlbuild: %s\n", err.msg);
        return -1;
    }
    if (!o->gpus_given) o->gpus = vl_gpu_default_slots(&o->gpu_devices);
    /* libuv's pool is sized once, at its first use, which planning may be
     * (exec/prehash.h): room for the cpu slots, the gpu slots (a gpu-pool
     * built-in holds a thread without a cpu slot) and the cache lookups */
    char threads[16];
    snprintf(threads, sizeof threads, "%d", o->jobs + o->gpus + VL_BUILD_MAX_LOOKUPS);
    setenv("UV_THREADPOOL_SIZE", threads, 0);
    return 0;
}

int main(int argc, char **argv)
{
    open_standard_fds();
    if (argc == 3 && !strcmp(argv[1], "exec-action")) return exec_action(argv[2]);
    signal(SIGPIPE, SIG_IGN);
    struct options o = {0};
    o.start_ns = vl_now_ns();
    o.start_mono_ns = vl_mono_ns();
    if (parse_options(argc, argv, &o) < 0) return 2;
    /* the media module's libraries log only with -v (actions/media.c) */
    vl_module_set_verbose(o.verbose);
    if (o.dir && chdir(o.dir) != 0) {
        fprintf(stderr, "vlbuild: cannot change to %s: %s\n", o.dir, strerror(errno));
        return 2;
    }
    const char *cmd = o.n_args && !o.targets_only ? o.args[0] : "";
    int status = find_gpus(&o) < 0 ? 2 : run_command(&o, cmd);
    for (size_t i = 0; i < o.n_overrides; i++) free((char *)o.overrides[i].name);
    free(o.overrides);
    free(o.args);
    vl_gpu_devices_release(&o.gpu_devices);
    return status;
}

/* Puts in dir where `vlbuild meta` keeps its cache: the project's state directory when
 * the current folder is a project (it has the rules file or a state directory), else
 * $XDG_CACHE_HOME/vlbuild (default ~/.cache/vlbuild); -1 with err when neither is known. */
static int meta_cache_dir(const struct options *o, char *dir, size_t size, struct vl_error *err)
{
    if (access(o->file, F_OK) == 0 || access(STATE_DIR, F_OK) == 0) {
        snprintf(dir, size, "%s", STATE_DIR);
        return 0;
    }
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int n;
    if (xdg && xdg[0] == '/') n = snprintf(dir, size, "%s/vlbuild", xdg);
    else if (home && home[0]) n = snprintf(dir, size, "%s/.cache/vlbuild", home);
    else {
        vl_error_set(err, "meta: no project here and neither XDG_CACHE_HOME nor HOME is set "
                          "for the metadata cache");
        return -1;
    }
    if (n < 0 || (size_t)n >= size) {
        vl_error_set(err, "meta: the metadata cache folder's path is too long");
        return -1;
    }
    return 0;
}

/* Runs the subcommand cmd ("" for a build) and returns the exit status. */
static int run_command(struct options *o, const char *cmd)
{
    if (!strcmp(cmd, "actions")) return cmd_actions();
    if (!strcmp(cmd, "cache")) return vl_cache_command((int)o->n_args, o->args, &o->cache);
    if (!strcmp(cmd, "meta")) {
        /* needs no rules file: the cache lives in the project's state directory, or in
         * the user's cache folder outside a project */
        struct vl_error err;
        char dir[4096], db[4096 + 16];
        if (meta_cache_dir(o, dir, sizeof dir, &err) < 0 || vl_mkdir_p(dir, &err) < 0) {
            fprintf(stderr, "vlbuild: error: %s\n", err.msg);
            return 2;
        }
        snprintf(db, sizeof db, "%s/state.db", dir);
        int (*meta)(int, char **, const char *) =
            (int (*)(int, char **, const char *))vl_module_symbol("media", "vl_meta_command", &err);
        if (!meta) {
            fprintf(stderr, "vlbuild: error: %s\n", err.msg);
            return 2;
        }
        return meta((int)o->n_args, o->args, db);
    }
    int is_command = is_command_name(cmd);

    struct vl_error err = {{0}};
    struct project p;
    int status;
    if (open_project(&p, o, !strcmp(cmd, "clean"), &err) < 0) {
        status = 2;
    } else if (!is_command) {
        status = cmd_build(&p, o, &err);
    } else if (!strcmp(cmd, "explain")) {
        status = cmd_explain(&p, o, &err);
    } else if (!strcmp(cmd, "graph")) {
        status = cmd_graph(&p, o, &err);
    } else if (!strcmp(cmd, "status")) {
        status = cmd_status(&p, o, &err);
    } else if (!strcmp(cmd, "targets")) {
        status = cmd_targets(&p);
    } else {
        status = cmd_clean(&p, o, &err);
    }
    if (err.msg[0] && status != 0 && status != 130) fprintf(stderr, "vlbuild: error: %s\n", err.msg);
    close_project(&p);
    return status;
}
