/* media_defs.c - what each media action is and accepts: its name, version,
 * parameters and their cross-checks, for the engine (parsing, keys,
 * `vlbuild actions`).  What each one does lives in the media module
 * (actions/media.h, one file per action), which the engine loads the first
 * time such an action runs: a no-op build or a restore from the cache of a
 * video pipeline never loads FFmpeg or OpenBLAS. */
#include "actions/action.h"

#include <string.h>

#include "actions/media.h"
#include "train/labels.h"
#include "util/module.h"

/* The media module's table of bodies (actions/media.c): linked in by
 * programs that link the media code (the tests), else loaded with it. */
extern const struct vl_media_run vl_media_runs[] __attribute__((weak));

/* Runs job's action with its body from the media module. */
static int run_in_module(struct vl_action_job *job, struct vl_error *err)
{
    const struct vl_media_run *runs = vl_module_resolve(vl_media_runs, "media", "vl_media_runs", err);
    for (size_t i = 0; runs && runs[i].name; i++)
        if (!strcmp(runs[i].name, job->def->name)) return runs[i].run(job, err);
    if (runs) vl_error_set(err, "the media module has no action %s", job->def->name);
    return -1;
}

#define MAX_SHAPES 8 /* synth: as synth.c draws them */

static double num(const struct vl_params *p, const char *name)
{
    return vl_params_get(p, name)->num;
}

/* ---- probe ---- */

static const struct vl_param_spec probe_params[] = {
    {0},
};

const struct vl_action_def vl_action_probe = {
    .name = "probe",
    .version = 2,
    .summary = "write a video's metadata (frames, fps, size, rotation, codec...) as JSON",
    .params = probe_params,
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .run = run_in_module,
};

/* ---- augment ---- */

/* A `size` of WxH where 0x0 means "keep": one side alone is an error that
 * says what 0x0 keeps. */
static int check_size_sides(const struct vl_params *params, const char *zero_keeps,
                            struct vl_error *err)
{
    const struct vl_param_value *size = vl_params_get(params, "size");
    if ((size->num == 0) != (size->num2 == 0))
        return vl_error_set(err, "parameter size: give both sides, or 0x0 for %s", zero_keeps);
    return 0;
}

static int check_augment(const struct vl_params *params, struct vl_error *err)
{
    return check_size_sides(params, "the crop's size", err);
}

static const struct vl_param_spec augment_params[] = {
    {"hflip", VL_PARAM_FLOAT, "0", 0, 1, NULL, "probability of a horizontal flip"},
    {"crop", VL_PARAM_RANGE, "1:1", 0.01, 1, NULL,
     "random resized crop: share of the frame's area (1:1: no crop)"},
    {"ratio", VL_PARAM_RANGE, "0.75:1.3333333333333333", 0.1, 10, NULL,
     "random resized crop: aspect ratio range (width / height)"},
    {"rotate", VL_PARAM_FLOAT, "0", 0, 180, NULL, "largest rotation in degrees, either way"},
    {"brightness", VL_PARAM_FLOAT, "0", 0, 5, NULL, "brightness factor drawn in [1-x, 1+x]"},
    {"contrast", VL_PARAM_FLOAT, "0", 0, 5, NULL, "contrast factor drawn in [1-x, 1+x]"},
    {"saturation", VL_PARAM_FLOAT, "0", 0, 5, NULL, "saturation factor drawn in [1-x, 1+x]"},
    {"hue", VL_PARAM_FLOAT, "0", 0, 0.5, NULL, "hue shift drawn in [-x, x] turns"},
    {"noise", VL_PARAM_FLOAT, "0", 0, 255, NULL, "Gaussian noise sigma, in 0..255 units"},
    {"blur", VL_PARAM_FLOAT, "0", 0, 20, NULL, "largest Gaussian blur sigma in pixels"},
    {"duration", VL_PARAM_RANGE, "1:1", 0.001, 1, NULL,
     "share of the frames kept, one contiguous random stretch"},
    {"stride", VL_PARAM_INT, "1", 1, 1000, NULL, "keep every Nth frame (speed-up)"},
    {"codec", VL_PARAM_ENUM, "auto", 0, 0, "auto|ffv1|ffv1_420|h264",
     "clip codec: auto (the source's chroma format for 4:2:0 and 4:2:2, else ffv1), ffv1 (lossless RGB), "
     "ffv1_420 (FFV1 of yuv420p), h264"},
    {"crf", VL_PARAM_INT, "18", 0, 51, NULL, "H.264 quality (lower is better)"},
    {"size", VL_PARAM_SIZE, "0x0", 0, 16384, NULL, "output size; 0x0: the crop's size"},
    {"seed", VL_PARAM_INT, "0", 0, 9007199254740991.0, NULL, "random seed"},
    VL_PARAM_DEVICE_SPEC,
    {0},
};

const struct vl_action_def vl_action_augment = {
    .name = "augment",
    .version = 6,
    .summary = "write one randomly augmented clip of a video (Matroska, FFV1 or H.264)",
    .params = augment_params,
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 1,
    .check = check_augment,
    .run = run_in_module,
};

/* ---- synth ---- */

static int check_synth(const struct vl_params *params, struct vl_error *err)
{
    const struct vl_param_value *size = vl_params_get(params, "size");
    if (((int)size->num | (int)size->num2) & 1)
        return vl_error_set(err, "parameter size: both sides must be even (4:2:0 video)");
    return 0;
}

static const struct vl_param_spec synth_params[] = {
    {"class", VL_PARAM_ENUM, NULL, 0, 0, "left|right|up|down", "direction the shapes move in"},
    {"index", VL_PARAM_INT, "0", 0, 1e12, NULL, "which clip of the class (varies the draw)"},
    {"seed", VL_PARAM_INT, "0", 0, 9007199254740991.0, NULL, "random seed"},
    {"size", VL_PARAM_SIZE, "112x112", 16, 4096, NULL, "picture size (even sides)"},
    {"frames", VL_PARAM_INT, "32", 2, 100000, NULL, "number of frames"},
    {"fps", VL_PARAM_INT, "25", 1, 240, NULL, "frames per second"},
    {"codec", VL_PARAM_ENUM, "auto", 0, 0, "auto|h264|mpeg4|ffv1|vp8|vp9|mjpeg",
     "encoder; auto: vp9 for .webm, mpeg4 for .avi, else h264"},
    {"noise", VL_PARAM_FLOAT, "6", 0, 64, NULL, "Gaussian noise sigma, 0..255 units"},
    {"shapes", VL_PARAM_INT, "2", 1, MAX_SHAPES, NULL, "most shapes in a clip (1 to this)"},
    {0},
};

const struct vl_action_def vl_action_synth = {
    .name = "synth",
    .version = 1,
    .summary = "render a labelled synthetic clip: shapes moving left, right, up or down",
    .params = synth_params,
    .min_inputs = 0,
    .max_inputs = 0,
    .min_outputs = 1,
    .max_outputs = 1,
    .check = check_synth,
    .run = run_in_module,
};

/* ---- scale ---- */

static int check_scale(const struct vl_params *params, struct vl_error *err)
{
    const char *mode = vl_params_get(params, "mode")->text;
    int fit = (int)vl_params_get(params, "fit")->num;
    if (!strcmp(mode, "var") && fit == 0)
        return vl_error_set(err, "mode=var needs fit=S, the length of the longer side");
    if (fit > 0 && (!strcmp(mode, "crop") || !strcmp(mode, "letterbox")))
        return vl_error_set(err, "fit=%d is the variable-aspect-ratio mode; it does not combine "
                                 "with mode=%s", fit, mode);
    return 0;
}

static const struct vl_param_spec scale_params[] = {
    {"size", VL_PARAM_SIZE, "224x224", 1, 8192, NULL, "output WIDTHxHEIGHT"},
    {"mode", VL_PARAM_ENUM, "stretch", 0, 0, "stretch|crop|letterbox|var",
     "how the picture meets the size"},
    {"interp", VL_PARAM_ENUM, "area", 0, 0, "area|bilinear|bicubic", "swscale interpolation"},
    {"frames", VL_PARAM_INT, "0", 0, 100000, NULL,
     "frames sampled uniformly over the clip; 0: every frame"},
    {"fit", VL_PARAM_INT, "0", 0, 8192, NULL,
     "variable aspect ratio: the longer side (implies mode=var)"},
    {"pad", VL_PARAM_INT, "16", 1, 256, NULL,
     "variable aspect ratio: sides padded to a multiple of this"},
    VL_PARAM_DEVICE_SPEC,
    {0},
};

const struct vl_action_def vl_action_scale = {
    .name = "scale",
    .version = 2,
    .summary = "decode, scale and sample a video into a uint8 [T,H,W,3] .npy (+ JSON sidecar)",
    .params = scale_params,
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 2,
    .check = check_scale,
    .run = run_in_module,
};

/* ---- features ---- */

static int check_features(const struct vl_params *params, struct vl_error *err)
{
    /* set's words are checked by its list type (each a group, none twice) */
    return check_size_sides(params, "the input size", err);
}

static const struct vl_param_spec features_params[] = {
    {"set", VL_PARAM_LIST, "hist,motion,sharpness,edges,dct", 0, 0,
     "hist|motion|sharpness|edges|dct", "feature groups, in column order"},
    {"per", VL_PARAM_ENUM, "clip", 0, 0, "clip|frame",
     "one row for the clip (mean over frames) or one per frame"},
    {"bins", VL_PARAM_INT, "8", 1, 256, NULL, "HSV histogram bins per channel"},
    {"edge_threshold", VL_PARAM_FLOAT, "100", 0, 1500, NULL,
     "Sobel gradient magnitude above which a pixel is an edge"},
    {"size", VL_PARAM_SIZE, "0x0", 0, 8192, NULL,
     "compute at WIDTHxHEIGHT (stretched, area); 0x0: the input's size"},
    VL_PARAM_DEVICE_SPEC,
    {0},
};

const struct vl_action_def vl_action_features = {
    .name = "features",
    .version = 2,
    .summary = "float32 features (HSV histogram, motion, sharpness, edges, DCT) of a video or "
               "scaled clip into a .npy (+ JSON sidecar naming the columns)",
    .params = features_params,
    .min_inputs = 1,
    .max_inputs = 1,
    .min_outputs = 1,
    .max_outputs = 2,
    .check = check_features,
    .run = run_in_module,
};

/* ---- report ---- */

static const struct vl_param_spec report_params[] = {
    {"title", VL_PARAM_STRING, "vlbuild report", 0, 0, NULL, "the page title"},
    {0},
};

const struct vl_action_def vl_action_report = {
    .name = "report",
    .version = 1,
    .summary = "write an HTML report of the dataset, the models' training and the build",
    .params = report_params,
    .min_inputs = 0,
    .max_inputs = -1,
    .min_outputs = 1,
    .max_outputs = 1,
    .reads_history = 1,
    .run = run_in_module,
};

/* ---- train ---- */

/* Linear models converge in few passes of large batches: 10 epochs of 128
 * reach scikit-learn's accuracy within its fit time (bench/RESULTS-train.md),
 * where 20 of 32 took 8 times the steps for nothing. */
static int is_linear_model(const char *model)
{
    return !strcmp(model, "logreg") || !strcmp(model, "svm");
}

int vl_train_epochs(const struct vl_params *p)
{
    int epochs = (int)num(p, "epochs");
    return epochs ? epochs : is_linear_model(vl_params_get(p, "model")->text) ? 10 : 20;
}

int vl_train_batch(const struct vl_params *p)
{
    int batch = (int)num(p, "batch");
    return batch ? batch : is_linear_model(vl_params_get(p, "model")->text) ? 128 : 32;
}

static int check_train(const struct vl_params *p, struct vl_error *err)
{
    const char *model = vl_params_get(p, "model")->text;
    int linear = is_linear_model(model);
    int vit = !strncmp(model, "vit_", 4);
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
    if (num(p, "warmup") >= vl_train_epochs(p))
        return vl_error_set(err, "warmup (%g epochs) must be shorter than epochs (%d)",
                            num(p, "warmup"), vl_train_epochs(p));
    /* bf16 asks for the GPU outright: device=auto could land on the CPU,
     * which would then train in fp32 under a bf16 key */
    const char *precision = vl_params_get(p, "precision")->text;
    if (strcmp(precision, "fp32") && strcmp(vl_params_get(p, "device")->text, "gpu"))
        return vl_error_set(err, "precision=%s needs device=gpu (the CPU trains in fp32 only)",
                            precision);
    return 0;
}

static const struct vl_param_spec train_params[] = {
    {"model", VL_PARAM_ENUM, NULL, 0, 0,
     "logreg|svm|naive_cnn|variable_ar_cnn|vit_gru|vit_transformer", "the model to train"},
    {"epochs", VL_PARAM_INT, "0", 0, 100000, NULL,
     "passes over the training split; 0: the model's default (10 logreg and svm, 20 others)"},
    {"batch", VL_PARAM_INT, "0", 0, 65536, NULL,
     "samples per mini-batch; 0: the model's default (128 logreg and svm, 32 others)"},
    {"lr", VL_PARAM_FLOAT, "0", 0, 10, NULL,
     "peak learning rate; 0: the model's default (0.1 logreg and svm, 0.003 others)"},
    {"optimizer", VL_PARAM_ENUM, "adamw", 0, 0, "sgd|adamw", "the optimiser"},
    {"momentum", VL_PARAM_FLOAT, "0.9", 0, 0.999, NULL, "SGD momentum"},
    {"weight_decay", VL_PARAM_FLOAT, "0", 0, 1, NULL,
     "neural models: L2 with sgd, decoupled with adamw (linear models take C)"},
    {"C", VL_PARAM_FLOAT, "1", 1e-6, 1e6, NULL,
     "logreg, svm: inverse regularisation strength, as scikit-learn's C"},
    {"schedule", VL_PARAM_ENUM, "cosine", 0, 0, "cosine|constant", "learning-rate schedule"},
    {"warmup", VL_PARAM_INT, "0", 0, 1000, NULL, "epochs of linear learning-rate warmup"},
    {"clip", VL_PARAM_FLOAT, "0", 0, 1000, NULL, "clip the gradient norm to this; 0: off"},
    {"val", VL_PARAM_FLOAT, "0.2", 0, 0.9, NULL,
     "fraction of source videos held out for validation, where the annotations name no "
     "validation split"},
    {"test", VL_PARAM_FLOAT, "0", 0, 0.9, NULL,
     "fraction of source videos without an annotated split held out as test, never read "
     "(evaluate split=test with the same test and seed scores them)"},
    {"labels_format", VL_PARAM_ENUM, "auto", 0, 0, VL_LABELS_FORMAT_CHOICES,
     "the annotations' format (docs/datasets.md); auto: detected by content"},
    {"seed", VL_PARAM_INT, "1", 0, 9007199254740991.0, NULL,
     "seeds the weights, the split and the batch order"},
    {"save", VL_PARAM_ENUM, "epoch", 0, 0, "epoch|end",
     "epoch: keep a resume file after each epoch; end: only the final checkpoint"},
    {"hidden", VL_PARAM_INT, "0", 0, 4096, NULL, "neural models: width; 0: the model's default"},
    {"depth", VL_PARAM_INT, "0", 0, 64, NULL, "neural models: blocks; 0: the model's default"},
    {"patch", VL_PARAM_INT, "0", 0, 256, NULL, "vit models: patch side; 0: the default (8)"},
    {"heads", VL_PARAM_INT, "0", 0, 64, NULL, "vit models: attention heads; 0: the default"},
    {"dropout", VL_PARAM_FLOAT, "0", 0, 0.9, NULL, "neural models: dropout probability"},
    VL_PARAM_DEVICE_SPEC,
    {"precision", VL_PARAM_ENUM, "fp32", 0, 0, "fp32|bf16",
     "device=gpu: fp32, or bf16 matrix operands with fp32 accumulation and fp32 master weights "
     "(the CPU trains in fp32 only)",
     "fp32"},
    {0},
};

/* ---- predict, evaluate ---- */

/* train's and evaluate's check_inputs: each annotation file among paths is
 * read alone in the rule's labels_format (train/labels.h). */
static int check_annotations(const struct vl_params *p, const char *const *paths, size_t n,
                             struct vl_error *err)
{
    int fmt = vl_labels_format_from_name(vl_params_get(p, "labels_format")->text);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        if (vl_labels_is_annotation_file(paths[i]))
            rc = vl_labels_check_file(paths[i], (enum vl_labels_format)fmt, err);
    return rc;
}

static const struct vl_param_spec predict_params[] = {
    {"top", VL_PARAM_INT, "5", 1, 1000000, NULL, "the most probable classes to list"},
    {0},
};

const struct vl_action_def vl_action_predict = {
    .name = "predict",
    .version = 1,
    .summary = "apply a train checkpoint to one video's clips or features: its top classes, the "
               "clips averaged, as JSON (+ CSV)",
    .params = predict_params,
    .min_inputs = 2,
    .max_inputs = -1,
    .min_outputs = 1,
    .max_outputs = 2,
    .run = run_in_module,
};

static const struct vl_param_spec evaluate_params[] = {
    {"top", VL_PARAM_INT, "5", 1, 1000000, NULL, "k of the top-k accuracy"},
    {"split", VL_PARAM_ENUM, "all", 0, 0, "all|test",
     "all: every predicted video; test: only those of the test split (annotated, or by train's "
     "test and seed)"},
    {"test", VL_PARAM_FLOAT, "0", 0, 0.9, NULL, "as train's test, for split=test"},
    {"seed", VL_PARAM_INT, "1", 0, 9007199254740991.0, NULL, "as train's seed, for split=test"},
    {"labels_format", VL_PARAM_ENUM, "auto", 0, 0, VL_LABELS_FORMAT_CHOICES,
     "the annotations' format (docs/datasets.md); auto: detected by content"},
    {0},
};

const struct vl_action_def vl_action_evaluate = {
    .name = "evaluate",
    .version = 1,
    .summary = "score predict's predictions against annotations: accuracy, top-k, per-class "
               "precision and recall, confusion, as JSON (+ a CSV of every video)",
    .params = evaluate_params,
    .min_inputs = 2,
    .max_inputs = -1,
    .min_outputs = 1,
    .max_outputs = 2,
    .check_inputs = check_annotations,
    .run = run_in_module,
};

const struct vl_action_def vl_action_train = {
    .name = "train",
    .version = 7,
    .summary = "train a model on features or clips and their annotations into a safetensors "
               "checkpoint (+ a JSON-lines metrics log)",
    .params = train_params,
    .min_inputs = 2,
    .max_inputs = -1,
    .min_outputs = 1,
    .max_outputs = 2,
    .check = check_train,
    .check_inputs = check_annotations,
    .run = run_in_module,
    .gpu_nn = 1,
};
