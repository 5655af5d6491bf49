# Sets: `each` over several sets (their union, in order), and filters that
# pick the members of a set whose file name matches (`clips:*.npy`).
. "$(dirname "$0")/lib.sh"
mkdir -p a b
echo 1 >a/x.txt
echo 2 >b/y.txt
cat >vlbuild.rules <<'RULES'
source first = a/*.txt
source second = b/*.txt
rule pair
    each f in first second
    run  cp $in build/{f.stem}.data; echo "{f.stem}" > build/{f.stem}.side
    out  build/{f.stem}.data build/{f.stem}.side
rule upper
    each d in pair:*.data
    run  tr 0-9 a-j < $in > $out
    out  build/{d.stem}.up
rule sides
    in   pair:*.side
    run  cat $in > $out
    out  build/sides.txt
RULES
vl
expect_rc 0
expect_summary 5 0 0
expect_file build/x.up "b"
expect_file build/y.up "c"
expect_file build/sides.txt "x
y"
expect_no_file build/x.side.up
finish
