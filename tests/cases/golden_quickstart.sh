# The quickstart's artifacts, small (2 clips per class and format, 2 epochs),
# byte for byte against tests/cases/golden_quickstart.sums: every synthetic
# video, metadata file, augmented clip, clip array and feature vector.  The
# report is left out (it holds the build's timings), and so are the models
# and what they predict (build/eval): OpenBLAS picks its kernels by CPU type,
# so checkpoint bytes differ between CPUs; tests/unit/test_nn_golden.c pins them where they can be pinned.  It
# guards refactors that must keep the CPU path's bytes (the operations table,
# the neural-network backend): a change that moves a byte fails here, naming
# the files.  An intended change of outputs (a bumped action version) records
# new sums with VL_GOLDEN_UPDATE=1 and says so in its commit.
#
# golden_quickstart.sums is `sha256sum` output: "<64 hex>  <path>" per file,
# paths relative to the project and sorted.  The sums hold for the Debian 12
# FFmpeg libraries these machines run.
. "$(dirname "$0")/lib.sh"
golden="$VL_SOURCE_DIR/tests/cases/golden_quickstart.sums"
cp -r "$VL_SOURCE_DIR/examples/quickstart/." .
rm -rf build data models .vlbuild
vl -j2 per_class=2 test_per_class=1 epochs=2 --no-cache
expect_rc 0
find build data -type f ! -name report.html ! -path 'build/eval/*' | LC_ALL=C sort | xargs sha256sum >got.sums
if [ -n "${VL_GOLDEN_UPDATE:-}" ]; then
    cp got.sums "$golden"
    echo "golden_quickstart: recorded $(wc -l <got.sums) sums in $golden"
elif ! diff -u "$golden" got.sums >diff.txt; then
    fail "quickstart artifacts differ from $golden ($(grep -c '^+[0-9a-f]' diff.txt) files):"$'\n'"$(head -n 40 diff.txt)"
fi
finish
