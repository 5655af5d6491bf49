# An output that a source glob matches is an error before the first build
# (the next build would take it for a source file, and lose the video it
# descends from: features of augmented copies would get no label), with a
# message that says what to write instead; and `clean` works even then, so
# no file has to be deleted by hand.
. "$(dirname "$0")/lib.sh"
mkdir -p data
echo a >data/a.txt
cat >vlbuild.rules <<'RULES'
source all = **/*.txt
rule copy
    each f in all
    run  cp $in $out
    out  build/{f.stem}.txt
RULES
vl
expect_rc 2
expect_output "vlbuild.rules:5:10: rule copy writes build/a.txt, which is a file of source all (its pattern '**/*.txt' at vlbuild.rules:1:14 matches it"
expect_no_file build/a.txt
vl
expect_rc 2

# outputs that an earlier build left under a glob the rules widened later
cat >vlbuild.rules <<'RULES'
source all = data/*.txt
rule copy
    each f in all
    run  cp $in $out
    out  build/{f.stem}.txt
RULES
vl
expect_rc 0
expect_file build/a.txt a
sed -i 's|data/\*.txt|./**/*.txt|' vlbuild.rules
vl
expect_rc 2
vl clean
expect_rc 0
expect_output "removed 1 file"
expect_no_file build/a.txt
expect_file data/a.txt a
# the training docs' old example: a glob of the features a rule writes
rm -rf build .vlbuild
cat >vlbuild.rules <<'RULES'
source feat   = build/feat/*.npy
source labels = data/a.txt
rule features
    each f in labels
    run  cp $in $out
    out  build/feat/{f.stem}.npy
rule svm
    in   feat labels
    run  cat $in > $out
    out  models/svm.txt
RULES
vl -n
expect_rc 2
expect_output "rule features writes build/feat/a.npy, which is a file of source feat"
expect_output 'name the rule instead, `in features` or `each x in features:*.npy`'
expect_no_file models/svm.txt
finish
