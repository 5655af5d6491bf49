/* train.c - the `train` built-in: a model from feature or clip arrays and a
 * labels CSV, as a safetensors checkpoint (output 0) and a JSON-lines
 * metrics log (output 1, optional).  The dataset is described in
 * train/dataset.h, the loop, log and resume in train/trainer.h, the
 * checkpoint in train/checkpoint.h, the models in train/model.h and
 * docs/training.md. */
#include "actions/action.h"

#include <stdlib.h>
#include <string.h>

#include "train/dataset.h"
#include "train/model.h"
#include "train/trainer.h"

static const struct vl_param_spec train_params[] = {
    {"model", VL_PARAM_ENUM, NULL, 0, 0,
     "logreg|svm|naive_cnn|variable_ar_cnn|vit_gru|vit_transformer", "the model to train"},
    {"epochs", VL_PARAM_INT, "20", 1, 100000, NULL, "passes over the training split"},
    {"batch", VL_PARAM_INT, "32", 1, 65536, NULL, "samples per mini-batch"},
    {"lr", VL_PARAM_FLOAT, "0", 0, 10, NULL,
     "peak learning rate; 0: the model's default (0.1 linear, 0.001 neural)"},
    {"optimizer", VL_PARAM_ENUM, "adamw", 0, 0, "sgd|adamw", "the optimiser"},
    {"momentum", VL_PARAM_FLOAT, "0.9", 0, 0.999, NULL, "SGD momentum"},
    {"weight_decay", VL_PARAM_FLOAT, "0", 0, 1, NULL,
     "neural models: L2 with sgd, decoupled with adamw (linear models take C)"},
    {"C", VL_PARAM_FLOAT, "1", 1e-6, 1e6, NULL,
     "logreg, svm: inverse regularisation strength, as scikit-learn's C"},
    {"schedule", VL_PARAM_ENUM, "cosine", 0, 0, "cosine|constant", "learning-rate schedule"},
    {"warmup", VL_PARAM_INT, "0", 0, 1000, NULL, "epochs of linear learning-rate warmup"},
    {"clip", VL_PARAM_FLOAT, "0", 0, 1000, NULL, "clip the gradient norm to this; 0: off"},
    {"val", VL_PARAM_FLOAT, "0.2", 0, 0.9, NULL, "fraction of source videos held out"},
    {"seed", VL_PARAM_INT, "1", 0, 9007199254740991.0, NULL,
     "seeds the weights, the split and the batch order"},
    {"save", VL_PARAM_ENUM, "epoch", 0, 0, "epoch|end",
     "epoch: keep a resume file after each epoch; end: only the final checkpoint"},
    {"hidden", VL_PARAM_INT, "0", 0, 4096, NULL, "neural models: width; 0: the model's default"},
    {"depth", VL_PARAM_INT, "0", 0, 64, NULL, "neural models: blocks; 0: the model's default"},
    {"patch", VL_PARAM_INT, "0", 0, 256, NULL, "vit models: patch side; 0: the default (8)"},
    {"heads", VL_PARAM_INT, "0", 0, 64, NULL, "vit models: attention heads; 0: the default"},
    {"dropout", VL_PARAM_FLOAT, "0", 0, 0.9, NULL, "neural models: dropout probability"},
    {0},
};

static double num(const struct vl_params *p, const char *name)
{
    return vl_params_get(p, name)->num;
}

static int check_train(const struct vl_params *p, struct vl_error *err)
{
    const char *model = vl_params_get(p, "model")->text;
    int linear = !strcmp(model, "logreg") || !strcmp(model, "svm");
    int vit = !strncmp(model, "vit_", 4);
    if (!vl_model_find(model))
        return vl_error_set(err, "model %s is not built into this vlbuild yet", model);
    if (!linear && num(p, "C") != 1)
        return vl_error_set(err, "parameter C applies to model=logreg and model=svm only");
    if (linear && num(p, "weight_decay") != 0)
        return vl_error_set(err, "model=%s is regularised by C (an L2 penalty of 1/(2 n C)), "
                                 "not weight_decay",
                            model);
    if (linear && (num(p, "hidden") || num(p, "depth") || num(p, "dropout")))
        return vl_error_set(err, "model=%s takes no hidden, depth or dropout", model);
    if (!vit && (num(p, "patch") || num(p, "heads")))
        return vl_error_set(err, "parameters patch and heads apply to the vit models only");
    if (num(p, "warmup") >= num(p, "epochs"))
        return vl_error_set(err, "warmup (%g epochs) must be shorter than epochs (%g)",
                            num(p, "warmup"), num(p, "epochs"));
    return 0;
}

static int run_train(struct vl_action_job *job, struct vl_error *err)
{
    const struct vl_params *p = job->params;
    const struct vl_model_def *model = vl_model_find(vl_params_get(p, "model")->text);
    struct vl_dataset_config dc = {
        .kind = model->kind,
        .variable_size = model->variable_size,
        .val = num(p, "val"),
        .seed = (uint64_t)num(p, "seed"),
    };
    struct vl_dataset ds;
    if (vl_dataset_open(job->inputs, job->input_hashes, job->input_origins, job->n_inputs, &dc,
                        &ds, job->log, err) < 0)
        return -1;
    /* the configuration as a JSON object of canonical texts, for checkpoints */
    struct vl_strbuf config = VL_STRBUF_INIT;
    vl_strbuf_addch(&config, '{');
    for (size_t i = 0; i < p->len; i++) {
        if (i) vl_strbuf_addch(&config, ',');
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
        .epochs = (int)num(p, "epochs"),
        .batch = (int)num(p, "batch"),
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

const struct vl_action_def vl_action_train = {
    .name = "train",
    .version = 5,
    .summary = "train a model on features or clips and a labels CSV into a safetensors checkpoint "
               "(+ a JSON-lines metrics log)",
    .params = train_params,
    .min_inputs = 2,
    .max_inputs = -1,
    .min_outputs = 1,
    .max_outputs = 2,
    .check = check_train,
    .run = run_train,
};
