/* test_device_param.c - device=auto|cpu|gpu: the action key's canonical
 * parameters leave it out unless it resolved to the GPU (so CPU keys are
 * those of builds before the parameter existed), and resolution by pool,
 * device list and CUDA module (the module made absent by naming a missing
 * file in VLBUILD_CUDA_MODULE). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions/action.h"
#include "gpu/device_choice.h"
#include "parse/rules.h"
#include "test.h"

static void canonical_of(const char *word, char *out, size_t n)
{
    struct vl_params p;
    struct vl_error err;
    int bad;
    const char *words[] = {word};
    CHECK(vl_params_parse(vl_action_find("features"), words, word ? 1 : 0, &p, &bad, &err) == 0);
    struct vl_strbuf sb = VL_STRBUF_INIT;
    vl_params_canonical(&p, &sb);
    snprintf(out, n, "%s", sb.buf);
    vl_strbuf_release(&sb);
    vl_params_release(&p);
}

/* The device text rule `name` resolved to, or NULL after an error. */
static const char *resolve(const char *rules_text, const char *device_list, const char *name,
                           struct vl_error *err)
{
    static char text[16];
    struct vl_rules rules = {0};
    struct vl_gpu_devices devs = {0};
    CHECK(vl_rules_parse_string(&rules, "t.rules", rules_text, NULL, 0, err) == 0);
    CHECK(vl_gpu_devices_parse(device_list, "--gpu-devices", &devs, err) == 0);
    const char *got = NULL;
    if (vl_device_resolve_rules(&rules, &devs, err) == 0) {
        for (size_t i = 0; i < rules.n_rules; i++)
            if (!strcmp(rules.rules[i]->name, name)) {
                snprintf(text, sizeof text, "%s",
                         vl_params_get(&rules.rules[i]->values, "device")->text);
                got = text;
            }
    }
    vl_gpu_devices_release(&devs);
    vl_rules_release(&rules);
    return got;
}

int main(void)
{
    char canon[512];
    /* features' key text as it was before `device` existed */
    const char *before = "set=hist,motion,sharpness,edges,dct per=clip bins=8 edge_threshold=100 "
                         "size=0x0";
    canonical_of(NULL, canon, sizeof canon);
    CHECK_STR(canon, before);
    canonical_of("device=cpu", canon, sizeof canon);
    CHECK_STR(canon, before);
    canonical_of("device=auto", canon, sizeof canon);
    CHECK_STR(canon, before);
    canonical_of("device=gpu", canon, sizeof canon);
    CHECK_STR(canon, "set=hist,motion,sharpness,edges,dct per=clip bins=8 edge_threshold=100 "
                     "size=0x0 device=gpu");

    setenv("VLBUILD_CUDA_MODULE", "/nonexistent/vlbuild-cuda.so", 1);
    struct vl_error err;
    const char *rules = "rule a\n    do features\n    in x.npy\n    out a.npy\n    pool gpu\n"
                        "rule b\n    do features device=cpu\n    in x.npy\n    out b.npy\n"
                        "    pool gpu\n"
                        "rule c\n    do features\n    in x.npy\n    out c.npy\n";
    /* no module: auto is the CPU, in the gpu pool or not, with devices or not */
    const char *got = resolve(rules, "0,1", "a", &err);
    CHECK(got && !strcmp(got, "cpu"));
    got = resolve(rules, "", "c", &err);
    CHECK(got && !strcmp(got, "cpu"));
    got = resolve(rules, "0", "b", &err);
    CHECK(got && !strcmp(got, "cpu"));
    /* gpu without a device or the module: refused, naming the rule and the reason */
    const char *gpu = "rule g\n    do features device=gpu\n    in x.npy\n    out g.npy\n"
                      "    pool gpu\n";
    CHECK(resolve(gpu, "", "g", &err) == NULL);
    CHECK(strstr(err.msg, "t.rules:1:6: rule g: device=gpu, but the build has no GPU") != NULL);
    CHECK(strstr(err.msg, "use device=auto or device=cpu") != NULL);
    CHECK(resolve(gpu, "0", "g", &err) == NULL);
    CHECK(strstr(err.msg, "cannot load /nonexistent/vlbuild-cuda.so") != NULL);
    TEST_DONE();
}
