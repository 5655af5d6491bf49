/* slurm.h - the Slurm runner: actions as batch jobs on a Slurm cluster, and
 * its configuration file (format in slurm_config.c, user guide in
 * docs/cluster.md). */
#ifndef VL_SLURM_H
#define VL_SLURM_H

#include "exec/runner.h"

/* What one action asks of Slurm; -1 or NULL: not set at this level. */
struct vl_slurm_resources {
    int cpus;         /* CPUs per action (--cpus-per-task of a one-lane job) */
    long long mem_mb; /* memory per action in MiB (--mem of a one-lane job) */
    int gpus;         /* GPUs per action of the gpu pool (--gres=gpu:N) */
    int batch;        /* actions per job at most */
    int lanes;        /* actions run side by side inside one job */
    int local;        /* 1: run on the head with the local runner instead */
    char *time;       /* --time, in Slurm's syntax */
    char *partition;  /* --partition */
    char *account;    /* --account */
    char *sbatch;     /* more sbatch options, split on blanks */
};

struct vl_slurm_rule {
    char *name;
    struct vl_slurm_resources res;
};

struct vl_slurm_config {
    struct vl_slurm_resources defaults; /* the top of the file */
    struct vl_slurm_rule *rules;        /* [rule NAME] sections */
    size_t n_rules;
    int window_ms; /* how long ready actions are collected before a job goes out */
    int poll_ms;   /* how often the result files of running jobs are read */
    int squeue_ms; /* how often squeue is asked about running jobs */
    char *vlbuild; /* the vlbuild binary nodes run (NULL: the head's own) */
};

/* Fills c with the defaults (no file). */
void vl_slurm_config_init(struct vl_slurm_config *c);

/* Reads the configuration file at path into c (initialised first); errors
 * are `path:line: message`.  c is released with vl_slurm_config_release even
 * on failure. */
int vl_slurm_config_load(struct vl_slurm_config *c, const char *path, struct vl_error *err);

/* The resources of an action of rule (NULL: the defaults), every field set:
 * the rule's section over the top of the file over built-in defaults.
 * Pointers are into c. */
struct vl_slurm_resources vl_slurm_config_resolve(const struct vl_slurm_config *c, const char *rule,
                                                  int gpu);

/* Frees what the configuration holds. */
void vl_slurm_config_release(struct vl_slurm_config *c);

/* Opens the Slurm runner on loop.  Actions become batch jobs submitted with
 * sbatch from the current directory (which the nodes must see at the same
 * path, with tmp_dir in it); self_exe is the vlbuild the nodes run unless the
 * configuration names another.  config must outlive the runner.  Fails when
 * tmp_dir cannot be prepared. */
int vl_runner_slurm_open(uv_loop_t *loop, const char *self_exe, const char *tmp_dir,
                         const struct vl_slurm_config *config, struct vl_runner **out,
                         struct vl_error *err);

#endif
