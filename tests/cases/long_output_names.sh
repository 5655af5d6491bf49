# long_output_names: outputs whose names are near the file system's 255-byte
# limit.  A built-in's temporary "<name>.vltmp.<pid>" would pass the limit,
# so the writers use a short "<folder>/.vltmp-<hash>.<pid>" there
# (util/fs.h: vl_temp_name); a leftover short temporary is swept before the
# next build writes in its folder.  Earlier, every such output failed with
# "File name too long".
. "$(dirname "$0")/lib.sh"
long=$(printf 'n%.0s' $(seq 1 250))
echo a >in.txt
cat >vlbuild.rules <<RULES
rule stamped
    do   stamp label=long
    in   in.txt
    out  build/$long.txt
RULES
vl --no-cache
expect_rc 0
expect_summary 1 0 0
expect_file "build/$long.txt"
head -n 1 "build/$long.txt" | grep -qx long || fail "the long-named output does not hold its stamp"
left=$(find build -name '.vltmp*' -o -name '*.vltmp.*')
[ -z "$left" ] || fail "temporaries left: $left"
# a killed writer's short temporary is swept when the folder is next written
: >build/.vltmp-0123456789abcdef.999
echo b >in.txt
vl --no-cache
expect_rc 0
expect_summary 1 0 0
[ ! -e build/.vltmp-0123456789abcdef.999 ] || fail "a leftover short temporary was not swept"
finish
