# An output whose name is near the 255-byte limit, from a cached `run`
# action: once the output is removed, the next build restores it from the
# cache (the restore's temporary takes a short name in the output's folder)
# instead of failing on every build with "File name too long".
. "$(dirname "$0")/lib.sh"
name=$(printf 'n%.0s' $(seq 250)).txt # 254 bytes
cat >vlbuild.rules <<RULES
rule long
    run  echo long > \$out
    out  build/$name
RULES
vl
expect_rc 0
expect_summary 1 0 0
expect_file "build/$name" long
rm "build/$name"
vl
expect_rc 0
expect_no_output "File name too long"
expect_summary 0 0 0 1
expect_file "build/$name" long
[ "$(ls -A build | wc -l)" -eq 1 ] || fail "temporaries left in build/: $(ls -A build)"
vl
expect_rc 0
expect_summary 0 1 0
finish
