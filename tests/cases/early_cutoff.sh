# When a rebuilt output is byte-identical to before, its users do not run.
. "$(dirname "$0")/lib.sh"
mkdir -p data
cat >vlbuild.rules <<'RULES'
source raw = data/*.txt
rule first_line
    each f in raw
    run  head -n 1 $in > $out
    out  build/{f.stem}.head
rule upper
    each h in first_line
    run  tr a-z A-Z < $in > $out
    out  build/{h.stem}.upper
rule all
    in   upper
    run  cat $in > $out
    out  build/all.txt
RULES
printf 'title\nbody\n' >data/a.txt
vl
expect_summary 3 0 0
# change a line that first_line ignores: it reruns, the rest is cut off
printf 'title\nother body\n' >data/a.txt
vl
expect_summary 1 2 0
expect_output "first_line build/a.head"
expect_no_output "upper build/a.upper"
expect_file build/all.txt "TITLE"
finish
