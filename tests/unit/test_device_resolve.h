/* test_device_resolve.h - for the device=auto|cpu|gpu tests: a rules text
 * resolved against a device list (gpu/device_choice.h), giving one rule's
 * device text.  The CUDA module is whatever VLBUILD_CUDA_MODULE names. */
#ifndef VL_TEST_DEVICE_RESOLVE_H
#define VL_TEST_DEVICE_RESOLVE_H

#include <stdio.h>
#include <string.h>

#include "actions/action.h"
#include "gpu/device_choice.h"
#include "parse/rules.h"
#include "test.h"

/* The device text rule `name` of rules_text (read as t.rules) resolved to
 * with device_list as --gpu-devices ("cpu" or "gpu", in a static buffer),
 * or NULL after a resolution error, which is in err. */
static inline const char *test_resolve_device(const char *rules_text, const char *device_list,
                                              const char *name, struct vl_error *err)
{
    static char text[16];
    struct vl_rules rules = {0};
    struct vl_gpu_devices devs = {0};
    CHECK(vl_rules_parse_string(&rules, "t.rules", rules_text, NULL, 0, err) == 0);
    CHECK(vl_gpu_devices_parse(device_list, "--gpu-devices", &devs, err) == 0);
    const char *got = NULL;
    if (vl_device_resolve_rules(&rules, &devs, err) == 0)
        for (size_t i = 0; i < rules.n_rules; i++)
            if (!strcmp(rules.rules[i]->name, name)) {
                snprintf(text, sizeof text, "%s",
                         vl_params_get(&rules.rules[i]->values, "device")->text);
                got = text;
            }
    vl_gpu_devices_release(&devs);
    vl_rules_release(&rules);
    return got;
}

#endif
