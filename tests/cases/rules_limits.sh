# A rules file cannot ask for unbounded memory or block: a rules file that is
# not a regular file (-f /dev/zero, a FIFO) is refused, one over 16 MiB with
# its includes is refused, and so is an include that is not a regular file.
. "$(dirname "$0")/lib.sh"
set +e
out=$(timeout 20 "$VLBUILD" -f /dev/zero 2>&1)
rc=$?
set -e
expect_rc 2
expect_output "rules file /dev/zero is not a regular file"

mkfifo pipe.rules
set +e
out=$(timeout 20 "$VLBUILD" -f pipe.rules 2>&1)
rc=$?
set -e
expect_rc 2
expect_output "rules file pipe.rules is not a regular file"

printf 'include pipe.rules\n' >vlbuild.rules
set +e
out=$(timeout 20 "$VLBUILD" 2>&1)
rc=$?
set -e
expect_rc 2
expect_output "vlbuild.rules:1:9: rules file pipe.rules is not a regular file"

head -c $((16 * 1024 * 1024 + 1)) /dev/zero | tr '\0' '#' >big.rules
vl -f big.rules
expect_rc 2
expect_output "rules file big.rules is larger than 16 MiB"
# two halves under the limit, over it together
head -c $((9 * 1024 * 1024)) /dev/zero | tr '\0' '#' >half.rules
printf 'include half.rules\ninclude half2.rules\n' >vlbuild.rules
cp half.rules half2.rules
vl
expect_rc 2
expect_output "vlbuild.rules:2:9: rules file half2.rules is larger than 16 MiB with what it includes"
finish
