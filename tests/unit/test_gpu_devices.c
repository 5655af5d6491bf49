/* test_gpu_devices.c - device lists and the gpu pool's slot binding, with
 * made-up device lists and a made-up /dev (no GPU needed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpu/devices.h"
#include "test.h"
#include "util/fs.h"

static void test_lists_parse_as_written_and_bad_entries_are_refused(void)
{
    struct vl_gpu_devices d;
    struct vl_error err;
    CHECK(vl_gpu_devices_parse("0,2,GPU-8f3a-11,MIG-1/2/3", "--gpu-devices", &d, &err) == 0);
    CHECK(d.n == 4);
    CHECK_STR(d.entries[1], "2");
    CHECK_STR(d.entries[2], "GPU-8f3a-11");
    vl_gpu_devices_release(&d);
    CHECK(vl_gpu_devices_parse("", "--gpu-devices", &d, &err) == 0 && d.n == 0);
    CHECK(vl_gpu_devices_parse("0,,1", "--gpu-devices", &d, &err) == -1);
    CHECK_CONTAINS(err.msg, "empty device entry");
    CHECK(vl_gpu_devices_parse("0,1 2", "--gpu-devices", &d, &err) == -1);
    CHECK_CONTAINS(err.msg, "'1 2'");
    CHECK(vl_gpu_devices_parse("1,0,1", "--gpu-devices", &d, &err) == -1);
    CHECK_CONTAINS(err.msg, "listed twice");
}

static void test_the_default_is_cuda_visible_devices_else_the_device_nodes(void)
{
    struct vl_gpu_devices d;
    struct vl_error err;
    CHECK(vl_gpu_devices_detect("3,1", "/nonexistent", &d, &err) == 0);
    CHECK(d.n == 2 && !strcmp(d.entries[0], "3") && !strcmp(d.origin, "CUDA_VISIBLE_DEVICES"));
    vl_gpu_devices_release(&d);
    CHECK(vl_gpu_devices_detect("", "/nonexistent", &d, &err) == 0 && d.n == 0);
    CHECK(vl_gpu_devices_detect("-1", "/nonexistent", &d, &err) == 0 && d.n == 0);
    /* a made-up /dev: nvidia0, nvidia1 and nvidia10 are GPUs, the rest are not */
    char dev[512];
    const char *tmp = getenv("VL_TEST_TMP");
    snprintf(dev, sizeof dev, "%s/test_gpu_devices.%d", tmp ? tmp : "/tmp", (int)getpid());
    CHECK(vl_mkdir_p(dev, &err) == 0);
    const char *names[] = {"nvidia10", "nvidia1", "nvidiactl", "nvidia-uvm", "nvidia0", "null"};
    char path[600];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(path, sizeof path, "%s/%s", dev, names[i]);
        FILE *f = fopen(path, "w");
        CHECK(f != NULL);
        if (f) fclose(f);
    }
    CHECK(vl_gpu_devices_detect(NULL, dev, &d, &err) == 0);
    CHECK(d.n == 3);
    if (d.n == 3) {
        CHECK_STR(d.entries[0], "0");
        CHECK_STR(d.entries[1], "1");
        CHECK_STR(d.entries[2], "10");
    }
    CHECK(vl_gpu_default_slots(&d) == 3);
    vl_gpu_devices_release(&d);
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(path, sizeof path, "%s/%s", dev, names[i]);
        unlink(path);
    }
    rmdir(dev);
    CHECK(vl_gpu_devices_detect(NULL, "/nonexistent", &d, &err) == 0 && d.n == 0);
    CHECK(vl_gpu_default_slots(&d) == 1);
}

static void test_slots_go_round_the_devices_in_lanes(void)
{
    struct vl_gpu_devices d;
    struct vl_error err;
    struct vl_gpu_binding b;
    CHECK(vl_gpu_devices_parse("GPU-a", "--gpu-devices", &d, &err) == 0);
    for (int g = 0; g < 7; g++) {
        vl_gpu_bind(&d, g, &b);
        CHECK(b.slot == g && b.ordinal == 0 && b.lane == g && !strcmp(b.entry, "GPU-a"));
    }
    vl_gpu_devices_release(&d);
    CHECK(vl_gpu_devices_parse("4,5", "--gpu-devices", &d, &err) == 0);
    const int ordinal[] = {0, 1, 0, 1, 0}, lane[] = {0, 0, 1, 1, 2};
    for (int g = 0; g < 5; g++) {
        vl_gpu_bind(&d, g, &b);
        CHECK(b.ordinal == ordinal[g] && b.lane == lane[g]);
        CHECK_STR(b.entry, d.entries[ordinal[g]]);
    }
    vl_gpu_devices_release(&d);
    vl_gpu_bind(&d, 2, &b); /* no devices */
    CHECK(b.entry == NULL && b.ordinal == -1);
}

static void test_a_child_environment_names_its_device_and_leaves_the_parent_alone(void)
{
    char *env[] = {"PATH=/bin", "CUDA_VISIBLE_DEVICES=0,1", "VLBUILD_GPU_SLOT=9", "HOME=/root",
                   "CUDA_VISIBLE_DEVICES_X=keep", NULL};
    struct vl_gpu_binding b = {.slot = 3, .entry = "GPU-b", .ordinal = 1, .lane = 1};
    char **child = vl_gpu_child_env(env, &b);
    size_t n = 0;
    int visible = 0, slot = 0, path = 0, other = 0;
    for (; child[n]; n++) {
        visible += !strcmp(child[n], "CUDA_VISIBLE_DEVICES=GPU-b");
        slot += !strcmp(child[n], "VLBUILD_GPU_SLOT=3");
        path += !strcmp(child[n], "PATH=/bin");
        other += !strcmp(child[n], "CUDA_VISIBLE_DEVICES_X=keep");
        CHECK(strcmp(child[n], "CUDA_VISIBLE_DEVICES=0,1") && strcmp(child[n], "VLBUILD_GPU_SLOT=9"));
    }
    CHECK(n == 5 && visible == 1 && slot == 1 && path == 1 && other == 1);
    CHECK_STR(env[1], "CUDA_VISIBLE_DEVICES=0,1"); /* the parent's is unchanged */
    free(child);
    struct vl_gpu_binding none = {.slot = 0, .entry = NULL, .ordinal = -1};
    child = vl_gpu_child_env(env, &none);
    int empty = 0;
    for (size_t i = 0; child[i]; i++) empty += !strcmp(child[i], "CUDA_VISIBLE_DEVICES=");
    CHECK(empty == 1);
    free(child);
}

int main(void)
{
    test_lists_parse_as_written_and_bad_entries_are_refused();
    test_the_default_is_cuda_visible_devices_else_the_device_nodes();
    test_slots_go_round_the_devices_in_lanes();
    test_a_child_environment_names_its_device_and_leaves_the_parent_alone();
    TEST_DONE();
}
