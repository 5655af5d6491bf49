# kill_subprocess: a process started by the quickstart's labels command dies
# of SIGKILL; the action fails, data/labels.csv is not recorded as built (the
# next build runs it again) and the rebuild equals a clean one.  Each command
# the rule may start from PATH is replaced in turn by one that kills itself;
# one the rule does not start changes nothing.  The labels command used to
# write `$(basename ...)` inside echo's argument: a killed basename gave an
# empty label and the command exited 0 (docs/rules.md, "When a command fails").
source "$(dirname "$0")/lib.sh"
source "$VL_SOURCE_DIR/tests/reliability/common.sh"

quickstart_copy proj
cd proj
small=(--no-cache -j 2 per_class=1 test_per_class=1)
vl "${small[@]}" labels
expect_rc 0
expect_summary 17 0 0 # 12 training and 4 test clips, and the labels
cp data/labels.csv ../labels.ref
[ "$(wc -l <../labels.ref)" = 17 ] || fail "the clean labels.csv has not 17 lines"
if grep -q ',$' ../labels.ref; then fail "the clean labels.csv has an empty label"; fi

mkdir ../fake
started=0
for cmd in basename dirname mv cp cat sed awk cut tr sort head tail; do
    rm -f ../fake/* "$root/started"
    printf '#!/bin/sh\n: >"%s/started"\nkill -KILL $$\n' "$root" >"../fake/$cmd"
    chmod +x "../fake/$cmd"
    rm -f data/labels.csv
    PATH="$root/fake:$PATH" vl "${small[@]}" labels
    if [ ! -e "$root/started" ]; then # the rule does without $cmd
        expect_rc 0
        cmp -s data/labels.csv ../labels.ref || fail "$cmd unused: labels.csv differs from the clean one"
        continue
    fi
    started=$((started + 1))
    expect_rc 1
    expect_output "FAILED: labels data/labels.csv"
    expect_no_file data/labels.csv
    vl "${small[@]}" labels # the real $cmd again: labels runs, nothing else
    expect_rc 0
    expect_summary 1 16 0
    cmp -s data/labels.csv ../labels.ref || fail "$cmd killed: the rebuilt labels.csv differs"
    left=$(temporaries data)
    [ -z "$left" ] || fail "$cmd killed: temporaries left after the rebuild:"$'\n'"$left"
done
echo "$started of the commands were started by the labels rule, and each killed"
finish
