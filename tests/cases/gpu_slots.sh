# gpu_slots: the gpu pool's slots bound to made-up device lists, through the
# binary: each run command in the pool sees CUDA_VISIBLE_DEVICES set to its
# slot's device and VLBUILD_GPU_SLOT to its slot; a slot is never held by
# two commands at once (each holds a folder named after its slot while it
# runs, and mkdir fails on a slot already held); cpu actions see the
# parent's environment; --gpus defaults to one slot per device.
. "$(dirname "$0")/lib.sh"
mkdir -p data slots
for i in $(seq 1 12); do echo "$i" >"data/$i.txt"; done
cat >vlbuild.rules <<'RULES'
source files = data/*.txt
rule on_gpu
    each f in files
    pool gpu
    run  mkdir slots/$$VLBUILD_GPU_SLOT && sleep 0.05 && echo "$$CUDA_VISIBLE_DEVICES $$VLBUILD_GPU_SLOT" > $out && rmdir slots/$$VLBUILD_GPU_SLOT
    out  build/{f.stem}.gpu
rule on_cpu
    each f in files
    run  (printenv CUDA_VISIBLE_DEVICES || echo unset; printenv VLBUILD_GPU_SLOT || echo unset) | paste -sd' ' > $out
    out  build/{f.stem}.cpu
RULES
unset CUDA_VISIBLE_DEVICES
vl --no-cache -j 1 --gpus 3 --gpu-devices GPU-a,GPU-b
expect_rc 0
expect_summary 24 0 0
bad=0
for i in $(seq 1 12); do
    read -r dev slot <"build/$i.gpu"
    case "$slot" in 0 | 2) want=GPU-a ;; 1) want=GPU-b ;; *) want="slot $slot out of range" ;; esac
    [ "$dev" = "$want" ] || { bad=1; fail "build/$i.gpu: slot $slot on '$dev', expected $want"; }
    [ "$(cat "build/$i.cpu")" = "unset unset" ] || { bad=1; fail "build/$i.cpu: $(cat "build/$i.cpu")"; }
done
[ "$bad" = 0 ]
# all three slots were used: the pool ran three at once with -j 1
used=$(cut -d' ' -f2 build/*.gpu | sort -u | tr '\n' ' ')
[ "$used" = "0 1 2 " ] || fail "slots used: '$used', expected '0 1 2 '"

# the default: CUDA_VISIBLE_DEVICES's entries, one slot each
rm -rf build .vlbuild
CUDA_VISIBLE_DEVICES=5,7 vl --no-cache -j 1
expect_rc 0
devs=$(cut -d' ' -f1 build/*.gpu | sort -u | tr '\n' ' ')
slots=$(cut -d' ' -f2 build/*.gpu | sort -u | tr '\n' ' ')
[ "$devs" = "5 7 " ] || fail "devices seen: '$devs', expected '5 7 '"
[ "$slots" = "0 1 " ] || fail "slots seen: '$slots', expected '0 1 ' (one per device)"
[ "$(cat build/1.cpu)" = "5,7 unset" ] || fail "a cpu action's environment changed: $(cat build/1.cpu)"

# a bad list is refused before anything runs
rm -rf build .vlbuild
vl --no-cache --gpu-devices 0,,1
expect_rc 2
expect_output "--gpu-devices: an empty device entry in '0,,1'"
expect_no_file build/1.gpu
finish
