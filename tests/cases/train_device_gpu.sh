# train_device_gpu: `train device=gpu` in the gpu pool, resolved against the
# CUDA training module, never the operations module: here its stand-in (tests/fake/cuda_nn_module.c,
# loaded through VLBUILD_CUDA_NN_MODULE), which reports one device and
# trains on a copy of the CPU backend's table.  The checkpoint's config
# records device and precision (they are in the key), predict loads it on
# the CPU, a second build runs nothing; the same rule with device=cpu is
# another key (it trains again) and its config names neither.  Where the
# module cannot be loaded, or probes no device, device=gpu stops the plan
# saying why and what to use; precision=bf16 without device=gpu stops it
# naming the rule.
. "$(dirname "$0")/lib.sh"
: "${VL_FAKE_CUDA_NN_MODULE:?VL_FAKE_CUDA_NN_MODULE must name the fake CUDA training module}"
: "${VL_FAKE_CUDA_MODULE:?VL_FAKE_CUDA_MODULE must name the fake CUDA module}"
unset CUDA_VISIBLE_DEVICES VLBUILD_CUDA_NN_MODULE
write_rules() { # $1: the train rule's device and precision words
    {
        synth_rules 2 16x16 4 left:1 right:2
        folder_labels_rule left right
        cat <<RULES
rule feat
    each v in left right
    do     features set=hist
    out    build/feat/{v.dir}/{v.stem}.npy
rule model
    in     feat labels
    do     train model=logreg epochs=2 val=0 seed=1 $1
    out    models/m.safetensors
    pool   gpu
rule pred
    each f in feat
    in     models/m.safetensors
    do     predict top=1
    out    build/pred/{f.dir}/{f.stem}.json
RULES
    } >vlbuild.rules
}
# config_of FILE: the config JSON of a checkpoint's metadata
config_of() {
    python3 - "$1" <<'PY'
import json, struct, sys
with open(sys.argv[1], "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    print(json.loads(f.read(n))["__metadata__"]["config"])
PY
}
fake() { VLBUILD_CUDA_NN_MODULE="$VL_FAKE_CUDA_NN_MODULE" vl --no-cache "$@"; }

# on the stand-in: the GPU's key and config, a checkpoint predict reads
write_rules "device=gpu precision=bf16"
fake --gpu-devices 0
expect_rc 0
expect_summary 14 0 0 # 4 synth, labels, 4 features, train, 4 predictions
config=$(config_of models/m.safetensors)
grep -qF '"device":"gpu","precision":"bf16"}' <<<"$config" ||
    fail "the GPU checkpoint's config does not record device and precision: $config"
pred=build/pred/build/feat/data/left/0.json
expect_file "$pred"
grep -qF '"classes":["left","right"]' "$pred" ||
    fail "predict on the CPU did not read the GPU checkpoint: $(cat "$pred")"
fake --gpu-devices 0
expect_rc 0
expect_summary 0 14 0
# device=gpu at fp32: precision=fp32 stays out of the key, device does not
write_rules "device=gpu"
fake --gpu-devices 0
expect_rc 0
[ "$(ran_lines | grep -c '^model ')" -eq 1 ] || fail "device=gpu at fp32 did not train again"
config=$(config_of models/m.safetensors)
grep -qF '"device":"gpu"}' <<<"$config" || fail "the fp32 GPU config is not as keyed: $config"
# the same rule on the CPU: another key, trained again, a config naming
# neither device nor precision (the CPU checkpoint of before them)
write_rules "device=cpu"
fake --gpu-devices 0
expect_rc 0
[ "$(ran_lines | grep -c '^model ')" -eq 1 ] || fail "device=cpu did not train again"
config=$(config_of models/m.safetensors)
case "$config" in
*device* | *precision*) fail "a CPU checkpoint's config names device or precision: $config" ;;
esac
cp models/m.safetensors cpu.safetensors
# auto where the training module does not load is the CPU, with device=cpu's
# key, however usable the operations module (train does not ask it)
write_rules ""
VL_FAKE_CUDA_OPS=1 VLBUILD_CUDA_MODULE="$VL_FAKE_CUDA_MODULE" VLBUILD_CUDA_NN_MODULE="$root/none.so" \
    vl --no-cache --gpu-devices 0
expect_rc 0
expect_summary 0 14 0
# auto takes the verified stand-in; marked experimental, auto is the CPU
write_rules ""
fake --gpu-devices 0
expect_rc 0
[ "$(ran_lines | grep -c '^model ')" -eq 1 ] || fail "device=auto did not take the stand-in"
VL_FAKE_CUDA_NN_EXPERIMENTAL=1 fake --gpu-devices 0
expect_rc 0
[ "$(ran_lines | grep -c '^model ')" -eq 1 ] || fail "device=auto stayed on an experimental module"
cmp -s models/m.safetensors cpu.safetensors || fail "device=auto on the CPU changed the checkpoint"

# device=gpu where it cannot run: the plan stops before anything runs
rm -rf build models .vlbuild
write_rules "device=gpu"
VLBUILD_CUDA_NN_MODULE="$root/none.so" vl --no-cache --gpu-devices 0
expect_rc 2
expect_output "vlbuild.rules:17:6: rule model: device=gpu, but cannot load $root/none.so"
expect_output "use device=auto or device=cpu"
expect_no_output "ran, "
VL_FAKE_CUDA_NN_DEVICES=0 fake --gpu-devices 0
expect_rc 2
expect_output "rule model: device=gpu, but no usable cuda device: the fake training module has none"
fake --gpu-devices ''
expect_rc 2
expect_output "rule model: device=gpu, but the build has no GPU"
# the real module or none: not built, not loadable, or no device here (a
# GPU machine with the module trains: nothing to check there)
vl --no-cache -n --gpu-devices 0
if [ "$rc" -ne 0 ]; then
    expect_rc 2
    grep -qE "rule model: device=gpu, but (vlbuild was built without the CUDA training module|cannot load|no usable cuda device)" <<<"$out" ||
        fail "device=gpu without the stand-in was refused for another reason: $out"
fi
expect_no_file models/m.safetensors

# precision=bf16 without device=gpu: refused when the rules are read
write_rules "device=cpu precision=bf16"
fake --gpu-devices 0
expect_rc 2
expect_output "vlbuild.rules:19:12: rule model: precision=bf16 needs device=gpu"
write_rules "precision=bf16"
fake --gpu-devices 0
expect_rc 2
expect_output "rule model: precision=bf16 needs device=gpu"
expect_no_file models/m.safetensors
finish
