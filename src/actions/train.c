/* train.c - the `train` built-in: a model from feature or clip arrays and a
 * labels CSV, as a safetensors checkpoint (output 0) and a JSON-lines
 * metrics log (output 1, optional).  The dataset is described in
 * train/dataset.h, the loop, log and resume in train/trainer.h, the
 * checkpoint in train/checkpoint.h, the models in train/model.h and
 * docs/training.md. */
#include "actions/action.h"
#include "actions/media.h"

#include <stdlib.h>
#include <string.h>

#include "gpu/cuda_loader.h"
#include "train/dataset.h"
#include "train/labels.h"
#include "train/model.h"
#include "train/trainer.h"

static double num(const struct vl_params *p, const char *name)
{
    return vl_params_get(p, name)->num;
}

/* The training module for a job whose device resolved to "gpu", else NULL
 * (the CPU); -1 with the reason when the GPU cannot be had. */
static int gpu_of(const struct vl_action_job *job, const struct vl_cuda_nn_module **gpu,
                  struct vl_error *err)
{
    *gpu = NULL;
    if (strcmp(vl_params_get(job->params, "device")->text, "gpu")) return 0;
    /* the plan resolved device=gpu only in the gpu pool, where the job
     * holds a slot bound to a device, and with the module loaded */
    if (job->device < 0)
        return vl_error_set(err, "device=gpu, but the job holds no gpu slot (the rule is not in "
                                 "the gpu pool)");
    *gpu = vl_cuda_nn_load(err);
    return *gpu ? 0 : -1;
}

int vl_action_train_run(struct vl_action_job *job, struct vl_error *err)
{
    const struct vl_params *p = job->params;
    const struct vl_model_def *model = vl_model_find(vl_params_get(p, "model")->text);
    const struct vl_cuda_nn_module *gpu;
    if (gpu_of(job, &gpu, err) < 0) return -1;
    struct vl_dataset_config dc = {
        .kind = model->kind,
        .variable_size = model->variable_size,
        .val = num(p, "val"),
        .seed = (uint64_t)num(p, "seed"),
        .labels_format = vl_labels_format_from_name(vl_params_get(p, "labels_format")->text),
        .test = num(p, "test"),
    };
    struct vl_dataset ds;
    if (vl_dataset_open(job->inputs, job->input_hashes, job->input_origins, job->n_inputs, &dc,
                        &ds, job->log, err) < 0)
        return -1;
    /* the configuration as a JSON object of canonical texts, for checkpoints:
     * the parameters the action key takes, so a CPU run's config has no
     * `device` or `precision` and its checkpoint is that of a build before
     * them, and a GPU run's names device (and precision unless fp32) */
    struct vl_strbuf config = VL_STRBUF_INIT;
    vl_strbuf_addch(&config, '{');
    for (size_t i = 0; i < p->len; i++) {
        if (!vl_param_in_key(&p->values[i])) continue;
        if (config.len > 1) vl_strbuf_addch(&config, ',');
        vl_strbuf_add_json_string(&config, p->values[i].spec->name);
        vl_strbuf_addch(&config, ':');
        vl_strbuf_add_json_string(&config, p->values[i].text);
    }
    vl_strbuf_addch(&config, '}');
    char *resume = vl_train_resume_path(job->outputs[0]);
    struct vl_train_options o = {
        .model = model,
        .model_config = {.hidden = (int)num(p, "hidden"),
                         .depth = (int)num(p, "depth"),
                         .patch = (int)num(p, "patch"),
                         .heads = (int)num(p, "heads"),
                         .dropout = num(p, "dropout")},
        .epochs = vl_train_epochs(p),
        .batch = vl_train_batch(p),
        .lr = num(p, "lr"),
        .optimizer = !strcmp(vl_params_get(p, "optimizer")->text, "sgd") ? VL_NN_SGD : VL_NN_ADAMW,
        .momentum = num(p, "momentum"),
        .weight_decay = num(p, "weight_decay"),
        .C = num(p, "C"),
        .cosine = !strcmp(vl_params_get(p, "schedule")->text, "cosine"),
        .warmup_epochs = (int)num(p, "warmup"),
        .clip = num(p, "clip"),
        .save_each_epoch = !strcmp(vl_params_get(p, "save")->text, "epoch"),
        .seed = (uint64_t)num(p, "seed"),
        .memory_budget = job->memory_budget,
        .out_path = job->outputs[0],
        .log_path = job->n_outputs > 1 ? job->outputs[1] : NULL,
        .resume_path = resume,
        .config_json = config.buf,
        .gpu = gpu,
        .gpu_device = gpu ? job->device : -1,
        .precision = !strcmp(vl_params_get(p, "precision")->text, "bf16")
                         ? VL_CUDA_NN_PRECISION_BF16
                         : VL_CUDA_NN_PRECISION_FP32,
        .cancel = job->cancel,
        .progress = job->progress,
        .progress_ctx = job->progress_ctx,
        .log = job->log,
    };
    int rc = vl_train_run(&ds, &o, err);
    free(resume);
    vl_strbuf_release(&config);
    vl_dataset_close(&ds);
    return rc;
}
