# An aggregate over tens of thousands of inputs: no argument-list-too-long.
. "$(dirname "$0")/lib.sh"
mkdir -p data
python3 - <<'PY'
for i in range(30000):
    with open(f"data/input-file-with-a-long-name-{i:06d}.txt", "w") as f:
        f.write(f"{i}\n")
PY
cat >vlbuild.rules <<'RULES'
source many = data/*.txt
rule concat
    in   many
    run  cat $in > $out
    out  build/all.txt
rule count
    in   many
    run  xargs cat < $in_list | wc -l > $out
    out  build/count.txt
RULES
vl
expect_rc 0
expect_summary 2 0 0
[ "$(wc -l <build/all.txt)" -eq 30000 ] || fail "concat lost inputs"
expect_file build/count.txt "30000"
vl
expect_summary 0 2 0
finish
