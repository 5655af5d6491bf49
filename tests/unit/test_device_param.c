/* test_device_param.c - device=auto|cpu|gpu: the action key's canonical
 * parameters leave it out unless it resolved to the GPU (so CPU keys are
 * those of builds before the parameter existed), and resolution by pool,
 * device list and CUDA module (the module made absent by naming a missing
 * file in VLBUILD_CUDA_MODULE); train, which has no GPU implementation, the
 * same on the CPU and refused on the GPU at plan time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions/action.h"
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

    /* train: no device word, cpu and auto give the key of before the parameter */
    const char *train_words[] = {"model=svm", "device=cpu"};
    char train_before[512];
    canonical_of("train", train_words, 1, train_before, sizeof train_before);
    CHECK(strstr(train_before, "device") == NULL);
    canonical_of("train", train_words, 2, canon, sizeof canon);
    CHECK_STR(canon, train_before);
    train_words[1] = "device=auto";
    canonical_of("train", train_words, 2, canon, sizeof canon);
    CHECK_STR(canon, train_before);
    /* train has no GPU implementation: auto is the CPU in the gpu pool with
     * a device listed, and gpu is refused for that reason, before the
     * module is looked at (it would say it cannot load it) */
    const char *train = "rule u\n    do train model=svm device=gpu\n    in x.npy y.csv\n"
                        "    out u.st\n    pool gpu\n";
    CHECK(test_resolve_device(train, "0", "u", &err) == NULL);
    CHECK_CONTAINS(err.msg, "t.rules:1:6: rule u: device=gpu, but GPU training is not built yet "
                            "(train has no GPU implementation); use device=auto or device=cpu");
    const char *train_auto = "rule t\n    do train model=svm\n    in x.npy y.csv\n"
                             "    out t.st\n    pool gpu\n";
    got = test_resolve_device(train_auto, "0", "t", &err);
    CHECK(got && !strcmp(got, "cpu"));
    TEST_DONE();
}
