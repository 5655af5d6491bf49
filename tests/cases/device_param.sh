# device_param: device=auto|cpu|gpu resolved at plan time, against made-up
# device lists (--gpu-devices) and a stand-in CUDA module that reports one
# usable device, with no operations table or (VL_FAKE_CUDA_OPS) one that
# fails (tests/fake/cuda_module.c, loaded through VLBUILD_CUDA_MODULE).  On
# the CPU the key is the one a build before the parameter had: a second
# build runs nothing.  auto takes the GPU only where the module has
# operations; then the key changes and the cached CPU output is not
# restored under it.  device=gpu on a module without kernels fails when it
# runs, saying the GPU path is not built; where it cannot run at all it
# fails before anything runs, saying why.  train's device is resolved
# against the training module, not this one (case train_device_gpu).
. "$(dirname "$0")/lib.sh"
: "${VL_FAKE_CUDA_MODULE:?VL_FAKE_CUDA_MODULE must name the fake CUDA module}"
write_rules() { # $1: the features rule's device word, $2: its pool line
    cat >vlbuild.rules <<RULES
rule clip
    do   synth class=left size=32x32 frames=4 noise=0
    out  build/a.mp4
rule feat
    do   features set=hist,sharpness $1
    in   clip
    out  build/a.npy
$2
RULES
}
unset CUDA_VISIBLE_DEVICES
cache="$root/cache"

# auto in the gpu pool, no device: the CPU; a rerun runs nothing
write_rules "" "    pool gpu"
vl --cache-dir "$cache" --gpu-devices ''
expect_rc 0
expect_summary 2 0 0
expect_file build/a.npy
cp build/a.npy cpu.npy
vl --cache-dir "$cache" --gpu-devices ''
expect_summary 0 2 0
# device=cpu and device=auto are one key on the CPU
write_rules "device=cpu" "    pool gpu"
vl --cache-dir "$cache" --gpu-devices 0
expect_summary 0 2 0
# devices listed but no CUDA module: auto is still the CPU
write_rules "" "    pool gpu"
VLBUILD_CUDA_MODULE="$root/none.so" vl --cache-dir "$cache" --gpu-devices 0
expect_rc 0
expect_summary 0 2 0

# a device and a module without kernels (as the real one today): auto
# stays on the CPU
VLBUILD_CUDA_MODULE="$VL_FAKE_CUDA_MODULE" vl --cache-dir "$cache" --gpu-devices 0
expect_rc 0
expect_summary 0 2 0
# a device and a module with operations: auto is the GPU, a new key, the
# CPU's cache entry not restored under it, and the job runs on the
# module's table (the fake's fails, naming itself)
VL_FAKE_CUDA_OPS=1 VLBUILD_CUDA_MODULE="$VL_FAKE_CUDA_MODULE" vl --cache-dir "$cache" --gpu-devices 0
expect_rc 1
expect_summary 0 1 1
expect_output "the fake cuda module computes nothing (device 0)"
# the CPU is untouched by it: back on the CPU, the CPU output from the cache
vl --cache-dir "$cache" --gpu-devices ''
expect_rc 0
cmp -s build/a.npy cpu.npy || fail "the CPU features differ after the GPU attempt"
vl --cache-dir "$cache" --gpu-devices ''
expect_summary 0 2 0
# outside the gpu pool auto never picks the GPU
write_rules "" ""
VL_FAKE_CUDA_OPS=1 VLBUILD_CUDA_MODULE="$VL_FAKE_CUDA_MODULE" vl --cache-dir "$cache" --gpu-devices 0
expect_rc 0
expect_summary 0 2 0

# device=gpu on a module without kernels: planned on the GPU, and the job
# says the GPU path is not built (scale and augment take the parameter too)
cat >vlbuild.rules <<'RULES'
rule clip
    do   synth class=left size=32x32 frames=4 noise=0
    out  build/a.mp4
rule small
    do   scale size=16x16 device=gpu
    in   clip
    out  build/a.small.npy
    pool gpu
rule aug
    do   augment hflip=1 device=gpu
    in   clip
    out  build/a.aug.mkv
    pool gpu
RULES
VLBUILD_CUDA_MODULE="$VL_FAKE_CUDA_MODULE" vl --no-cache -k 0 --gpu-devices 0
expect_rc 1
expect_output "scale: device=gpu: scale is not implemented on the GPU yet"
expect_output "augment: device=gpu: augment is not implemented on the GPU yet"
expect_no_file build/a.small.npy
expect_no_file build/a.aug.mkv

# device=gpu where it cannot run: refused at plan time, saying why
rm -rf build .vlbuild
write_rules "device=gpu" "    pool gpu"
vl --no-cache --gpu-devices ''
expect_rc 2
expect_output "vlbuild.rules:4:6: rule feat: device=gpu, but the build has no GPU"
expect_output "use device=auto or device=cpu"
expect_no_file build/a.mp4
VL_FAKE_CUDA_DEVICES=0 VLBUILD_CUDA_MODULE="$VL_FAKE_CUDA_MODULE" vl --no-cache --gpu-devices 0
expect_rc 2
expect_output "rule feat: device=gpu, but no usable cuda device: the fake module has none"
VLBUILD_CUDA_MODULE="$root/none.so" vl --no-cache --gpu-devices 0
expect_rc 2
expect_output "rule feat: device=gpu, but cannot load $root/none.so"
write_rules "device=gpu" ""
VLBUILD_CUDA_MODULE="$VL_FAKE_CUDA_MODULE" vl --no-cache --gpu-devices 0
expect_rc 2
expect_output "rule feat: device=gpu, but the rule is not in the gpu pool"
expect_no_file build/a.mp4
finish
