# Item fields in run commands are shell-quoted as $in and $out are: names with
# a space, a quote, `$`, `;` or a leading `-` reach the command whole, plain
# names are written as they are (the command text, so the action key, is that
# of earlier versions), `{v.stem:raw}` gives the value unquoted, and output
# patterns are never quoted.
. "$(dirname "$0")/lib.sh"
mkdir -p d
names=("a b" "it's" '$in' 'x;y' '-lead' 'plain')
for n in "${names[@]}"; do printf '%s\n' "$n" >"d/$n.txt"; done
cat >vlbuild.rules <<'RULES'
source s = d/*.txt
rule c
    each f in s
    run  printf '%s|%s|%s|%s|%s\n' {f.path} {f.stem} {f.name} {f.dir} {f.ext} > $out; cat -- {f.path} >> $out
    out  build/{f.stem}.out
RULES
vl -v
expect_rc 0
expect_summary 6 0 0
for n in "${names[@]}"; do
    expect_file "build/$n.out" "d/$n.txt|$n|$n.txt|d|txt
$n"
done
# plain names are not quoted: the command is what it was before quoting
expect_output "printf '%s|%s|%s|%s|%s\n' d/plain.txt plain plain.txt d txt > build/plain.out"
# a `$in` in a file name is the name's, never vlbuild's substitution
expect_output "'d/\$in.txt' '\$in' '\$in.txt' d txt > 'build/\$in.out'"
vl
expect_summary 0 6 0

# the raw form: the value as it is, for shell syntax built on purpose
cat >vlbuild.rules <<'RULES'
source s = d/*.txt
rule c
    each f in s
    run  v="{f.stem:raw}"; printf '%s\n' "$v" > $out
    out  build/raw/{f.stem}.out
RULES
rm -f 'd/$in.txt' # raw `$in` is the shell's variable: leave it out
vl
expect_rc 0
expect_summary 5 0 0
for n in "a b" "it's" 'x;y' '-lead' 'plain'; do
    expect_file "build/raw/$n.out" "$n" # inside "...", a single quote is literal
done

# an unknown modifier is an error naming the rule and the template
cat >vlbuild.rules <<'RULES'
source s = d/*.txt
rule c
    each f in s
    run  echo {f.stem:upper} > $out
    out  build/m/{f.stem}.out
RULES
vl
expect_rc 2
expect_output "vlbuild.rules:4:10: rule c: unknown modifier ':upper' in '{f.stem:upper}' (the one modifier is :raw)"
expect_no_file build/m
finish
