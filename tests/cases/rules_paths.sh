# One file has one node however the rules spell it (docs/rules.md, "Paths"):
# ./a, a//b, a/../a and the absolute path inside the project are one path.
. "$(dirname "$0")/lib.sh"

# two writers of one file spelled two ways: the graph error, not a flip-flop
mkdir -p d
cat >vlbuild.rules <<RULES
rule a
    run echo a > \$out
    out d/x.txt
rule b
    run echo b > \$out
    out $root/d/x.txt
RULES
vl
expect_rc 2
expect_output "two actions write d/x.txt: rule b and rule a"

# a consumer that spells its input apart from its producer still follows it
cat >vlbuild.rules <<RULES
var text = one
rule a
    run echo \$text > \$out
    out d/x.txt
rule use
    in  d/../d/./x.txt
    run cat \$in > \$out
    out $root/d/y.txt
RULES
vl
expect_rc 0
expect_file d/y.txt one
vl text=two
expect_rc 0
expect_summary 2 0 0
expect_file d/y.txt two

# targets on the command line: any spelling of a file of the graph
vl text=three ./d//x.txt
expect_rc 0
expect_summary 1 0 0
vl text=three "$root/d/y.txt"
expect_rc 0
expect_summary 1 1 0
expect_file d/y.txt three

# an input outside the project is allowed and keeps its absolute path
outside="$root.outside"
echo far >"$outside"
cat >vlbuild.rules <<RULES
rule far
    in  $outside
    run cat \$in > \$out
    out far.txt
RULES
vl
expect_rc 0
expect_file far.txt far
rm -f "$outside"
finish
