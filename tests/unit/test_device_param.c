/* test_device_param.c - device=auto|cpu|gpu: the action key's canonical
 * parameters leave it out unless it resolved to the GPU (so CPU keys are
 * those of builds before the parameter existed), and resolution by pool,
 * device list and CUDA module (the module made absent by naming a missing
 * file in VLBUILD_CUDA_MODULE).  train: its CPU key text is that of before
 * device and precision existed; precision=bf16 needs device=gpu; and its
 * device is resolved against the training module, not the operations
 * module (the stand-in tests/fake/cuda_nn_module.c that ctest names in
 * VL_FAKE_CUDA_NN_MODULE). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions/action.h"
#include "gpu/cuda_loader.h"
#include "test.h"
#include "test_device_resolve.h"

/* The canonical parameter text (the action key's) of action with words. */
static void canonical_of(const char *action, const char *const *words, size_t n, char *out,
                         size_t size)
{
    struct vl_params p;
    struct vl_error err;
    int bad;
    CHECK(vl_params_parse(vl_action_find(action), words, n, &p, &bad, &err) == 0);
    struct vl_strbuf sb = VL_STRBUF_INIT;
    vl_params_canonical(&p, &sb);
    snprintf(out, size, "%s", sb.buf);
    vl_strbuf_release(&sb);
    vl_params_release(&p);
}

/* features' canonical text with word (NULL: none) */
static void features_canonical(const char *word, char *out, size_t size)
{
    const char *words[] = {word};
    canonical_of("features", words, word ? 1 : 0, out, size);
}

/* train's key text of `model=svm` as it was before device and precision
 * existed: a CPU run's key and checkpoint config must not change */
#define TRAIN_SVM_BEFORE                                                                           \
    "model=svm epochs=0 batch=0 lr=0 optimizer=adamw momentum=0.9 weight_decay=0 C=1 "            \
    "schedule=cosine warmup=0 clip=0 val=0.2 test=0 labels_format=auto seed=1 save=epoch "        \
    "hidden=0 depth=0 patch=0 heads=0 dropout=0"

/* train's canonical text with words after model=svm */
static void train_canonical(const char *w1, const char *w2, char *out, size_t size)
{
    const char *words[] = {"model=svm", w1, w2};
    canonical_of("train", words, w2 ? 3 : w1 ? 2 : 1, out, size);
}

/* train's key: device and precision enter only off their CPU values, and
 * bf16 asks for device=gpu outright */
static void train_keys(void)
{
    char canon[1024];
    train_canonical(NULL, NULL, canon, sizeof canon);
    CHECK_STR(canon, TRAIN_SVM_BEFORE);
    train_canonical("device=cpu", "precision=fp32", canon, sizeof canon);
    CHECK_STR(canon, TRAIN_SVM_BEFORE);
    train_canonical("device=auto", NULL, canon, sizeof canon);
    CHECK_STR(canon, TRAIN_SVM_BEFORE);
    train_canonical("device=gpu", NULL, canon, sizeof canon);
    CHECK_STR(canon, TRAIN_SVM_BEFORE " device=gpu");
    train_canonical("device=gpu", "precision=bf16", canon, sizeof canon);
    CHECK_STR(canon, TRAIN_SVM_BEFORE " device=gpu precision=bf16");
    const char *cpu_bf16[] = {"model=svm", "device=cpu", "precision=bf16"};
    struct vl_params p;
    struct vl_error err;
    int bad;
    CHECK(vl_params_parse(vl_action_find("train"), cpu_bf16, 3, &p, &bad, &err) < 0);
    CHECK_CONTAINS(err.msg, "precision=bf16 needs device=gpu");
    /* auto might land on the CPU: bf16 needs the GPU asked for */
    const char *auto_bf16[] = {"model=svm", "precision=bf16"};
    CHECK(vl_params_parse(vl_action_find("train"), auto_bf16, 2, &p, &bad, &err) < 0);
    CHECK_CONTAINS(err.msg, "precision=bf16 needs device=gpu");
}

/* The device rule name resolved to against the training module's stand-in
 * with devices as the device list: rule g asks for gpu; t, o (outside the
 * gpu pool) and f (features, on the missing operations module) for auto. */
static const char *train_resolve(const char *name, const char *devices, struct vl_error *err)
{
    if (!strcmp(name, "g"))
        return test_resolve_device("rule g\n    do train model=svm device=gpu precision=bf16\n"
                                   "    in x.npy y.csv\n    out g.st\n    pool gpu\n",
                                   devices, name, err);
    return test_resolve_device(
        "rule t\n    do train model=svm\n    in x.npy y.csv\n    out t.st\n    pool gpu\n"
        "rule o\n    do train model=svm\n    in x.npy y.csv\n    out o.st\n"
        "rule f\n    do features\n    in x.npy\n    out f.npy\n    pool gpu\n",
        devices, name, err);
}

/* train's device= is resolved against the training module: auto takes it
 * where it loads, probes a device and is verified, gpu where it loads and
 * probes one; the operations module (missing here) plays no part */
static void train_resolution(void)
{
    const char *fake = getenv("VL_FAKE_CUDA_NN_MODULE");
    if (!fake || !*fake) {
        fprintf(stderr, "FAIL: VL_FAKE_CUDA_NN_MODULE must name the stand-in training module "
                        "(ctest sets it)\n");
        exit(1);
    }
    setenv("VLBUILD_CUDA_NN_MODULE", fake, 1);
    struct vl_error err = {{0}};
    const char *got = train_resolve("t", "0", &err);
    CHECK(got && !strcmp(got, "gpu"));
    got = train_resolve("g", "0", &err);
    CHECK(got && !strcmp(got, "gpu"));
    got = train_resolve("o", "0", &err); /* outside the gpu pool */
    CHECK(got && !strcmp(got, "cpu"));
    got = train_resolve("f", "0", &err); /* features asks the operations module */
    CHECK(got && !strcmp(got, "cpu"));
    /* no device listed: auto is the CPU, gpu refused naming the rule */
    got = train_resolve("t", "", &err);
    CHECK(got && !strcmp(got, "cpu"));
    CHECK(train_resolve("g", "", &err) == NULL);
    CHECK_CONTAINS(err.msg, "t.rules:1:6: rule g: device=gpu, but the build has no GPU");
    /* the module probes no device: the same, with the probe's reason */
    setenv("VL_FAKE_CUDA_NN_DEVICES", "0", 1);
    got = train_resolve("t", "0", &err);
    CHECK(got && !strcmp(got, "cpu"));
    CHECK(train_resolve("g", "0", &err) == NULL);
    CHECK_CONTAINS(err.msg, "rule g: device=gpu, but no usable cuda device: the fake training "
                            "module has none; use device=auto or device=cpu");
    unsetenv("VL_FAKE_CUDA_NN_DEVICES");
    /* experimental (as the real module until gpu-check verifies it): auto
     * stays on the CPU, gpu takes the GPU */
    const struct vl_cuda_nn_module *m = vl_cuda_nn_load(&err);
    CHECK(m != NULL && m->experimental == 0);
    if (!m) return;
    ((struct vl_cuda_nn_module *)m)->experimental = 1;
    got = train_resolve("t", "0", &err);
    CHECK(got && !strcmp(got, "cpu"));
    got = train_resolve("g", "0", &err);
    CHECK(got && !strcmp(got, "gpu"));
    ((struct vl_cuda_nn_module *)m)->experimental = 0;
}

int main(void)
{
    char canon[512];
    /* features' key text as it was before `device` existed */
    const char *before = "set=hist,motion,sharpness,edges,dct per=clip bins=8 edge_threshold=100 "
                         "size=0x0";
    features_canonical(NULL, canon, sizeof canon);
    CHECK_STR(canon, before);
    features_canonical("device=cpu", canon, sizeof canon);
    CHECK_STR(canon, before);
    features_canonical("device=auto", canon, sizeof canon);
    CHECK_STR(canon, before);
    features_canonical("device=gpu", canon, sizeof canon);
    CHECK_STR(canon, "set=hist,motion,sharpness,edges,dct per=clip bins=8 edge_threshold=100 "
                     "size=0x0 device=gpu");

    setenv("VLBUILD_CUDA_MODULE", "/nonexistent/vlbuild-cuda.so", 1);
    struct vl_error err;
    const char *rules = "rule a\n    do features\n    in x.npy\n    out a.npy\n    pool gpu\n"
                        "rule b\n    do features device=cpu\n    in x.npy\n    out b.npy\n"
                        "    pool gpu\n"
                        "rule c\n    do features\n    in x.npy\n    out c.npy\n";
    /* no module: auto is the CPU, in the gpu pool or not, with devices or not */
    const char *got = test_resolve_device(rules, "0,1", "a", &err);
    CHECK(got && !strcmp(got, "cpu"));
    got = test_resolve_device(rules, "", "c", &err);
    CHECK(got && !strcmp(got, "cpu"));
    got = test_resolve_device(rules, "0", "b", &err);
    CHECK(got && !strcmp(got, "cpu"));
    /* gpu without a device or the module: refused, naming the rule and the reason */
    const char *gpu = "rule g\n    do features device=gpu\n    in x.npy\n    out g.npy\n"
                      "    pool gpu\n";
    CHECK(test_resolve_device(gpu, "", "g", &err) == NULL);
    CHECK(strstr(err.msg, "t.rules:1:6: rule g: device=gpu, but the build has no GPU") != NULL);
    CHECK(strstr(err.msg, "use device=auto or device=cpu") != NULL);
    CHECK(test_resolve_device(gpu, "0", "g", &err) == NULL);
    CHECK(strstr(err.msg, "cannot load /nonexistent/vlbuild-cuda.so") != NULL);

    train_keys();
    train_resolution();
    TEST_DONE();
}
