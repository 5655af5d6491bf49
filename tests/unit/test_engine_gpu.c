/* test_engine_gpu.c - the gpu pool's slots bound to devices (gpu/devices.h)
 * in the scheduler, with made-up device lists and the fake runner: each run
 * command in the pool names its slot and that slot's device in its own
 * environment, no slot is held twice, and cpu actions get no device. */
#include "engine_fixture.h"

static void write_sources(int n)
{
    char path[64], text[32];
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "src/%02d.txt", i);
        snprintf(text, sizeof text, "%d", i);
        fx_write(path, text);
    }
}

static const char gpu_rules[] = "source src = src/*.txt\n"
                                "rule on_gpu\n"
                                "    each s in src\n"
                                "    pool gpu\n"
                                "    run  cat $in > $out\n"
                                "    out  out/{s.stem}.gpu\n"
                                "rule on_cpu\n"
                                "    each s in src\n"
                                "    run  cat $in > $out\n"
                                "    out  out/{s.stem}.cpu\n";

static void test_gpu_slots_name_their_device_and_are_never_shared(void)
{
    struct fx *fx = fx_open("gpuslots");
    struct vl_gpu_devices devices;
    struct vl_error err;
    CHECK(vl_gpu_devices_parse("GPU-a,GPU-b", "--gpu-devices", &devices, &err) == 0);
    fx->gpu_devices = &devices;
    fx->gpus = 3; /* two slots share GPU-a */
    fx->jobs = 1; /* gpu slots do not wait for cpu slots */
    write_sources(12);
    fx_rules(gpu_rules);
    CHECK(fx_build(fx) == 0);
    CHECK(fx->summary.ran == 24);
    int gpu_calls = 0, right = 0, cpu_clean = 0;
    for (size_t i = 0; i < fx->n_calls; i++) {
        const struct fx_call *c = &fx->calls[i];
        if (!strcmp(c->rule, "on_gpu")) {
            gpu_calls++;
            right += c->gpu_slot >= 0 && c->gpu_slot < 3 &&
                     !strcmp(c->gpu_devices, devices.entries[c->gpu_slot % 2]);
        } else {
            cpu_clean += c->gpu_slot == -1 && !c->gpu_devices[0];
        }
    }
    CHECK(gpu_calls == 12 && right == 12 && cpu_clean == 12);
    CHECK(!fx->gpu_oversubscribed);
    CHECK(fx->pool_max[1] == 3); /* the gpu pool ran three at once, with -j 1 */
    fx_close(fx);
    vl_gpu_devices_release(&devices);
}

static void test_without_devices_gpu_commands_see_none(void)
{
    struct fx *fx = fx_open("nogpu");
    write_sources(2);
    fx_rules(gpu_rules);
    CHECK(fx_build(fx) == 0);
    int none = 0;
    for (size_t i = 0; i < fx->n_calls; i++)
        if (!strcmp(fx->calls[i].rule, "on_gpu"))
            none += fx->calls[i].gpu_slot == 0 && !fx->calls[i].gpu_devices[0];
    CHECK(none == 2);
    fx_close(fx);
}

int main(void)
{
    test_gpu_slots_name_their_device_and_are_never_shared();
    test_without_devices_gpu_commands_see_none();
    TEST_DONE();
}
