# readonly_checkout: on a checkout that cannot be written (a read-only bind
# mount as root, else chmod a-w), `vlbuild -n`, status, explain and graph
# read the state and change nothing, with a note; a real build fails with a
# clear error naming the state directory.  With no .vlbuild at all, -n
# counts everything as stale.
. "$(dirname "$0")/lib.sh"
mkdir -p proj
cd proj
write_pipeline
echo x >data/a.txt
vl
expect_summary 4 0 0
echo changed >data/a.txt
cd ..
cp -r proj fresh
rm -rf fresh/.vlbuild fresh/build

# makes DIR unwritable; undo_readonly makes it writable again
mounted=()
chmodded=()
make_readonly() {
    mkdir -p "$1.ro"
    if mount --bind "$1" "$1.ro" 2>/dev/null && mount -o remount,ro,bind "$1.ro" 2>/dev/null; then
        mounted+=("$root/$1.ro")
    else
        umount "$1.ro" 2>/dev/null || true
        rmdir "$1.ro"
        ln -s "$1" "$1.ro"
        chmod -R a-w "$1"
        chmodded+=("$root/$1")
    fi
}
undo_readonly() {
    local m
    for m in "${mounted[@]}"; do umount "$m" 2>/dev/null || umount -l "$m"; done
    for m in "${chmodded[@]}"; do chmod -R u+w "$m"; done
    mounted=()
    chmodded=()
}
trap 'undo_readonly; cd /; rm -rf "$root"' EXIT
# (modes are left out: chmod a-w and back cannot restore a cache blob's 0444)
snapshot() { (cd "$1" && find . -printf '%p %s %T@\n' | sort); }
before=$(snapshot proj)
make_readonly proj
make_readonly fresh
cd proj.ro
if touch .probe 2>/dev/null; then rm -f .probe; echo "SKIPPED: cannot make a folder read-only here"; exit 77; fi

vl -n
expect_rc 0
expect_output "note: .vlbuild cannot be written"
expect_output "vlbuild: 4 would run, 0 up to date (dry run)"
vl status
expect_rc 0
vl explain build/model.txt
expect_rc 0
expect_output "data/a.txt"
vl graph
expect_rc 0
expect_output "digraph"
vl targets
expect_rc 0
vl
expect_rc 2
expect_output "cannot write the state directory .vlbuild"
cd ../fresh.ro
vl -n
expect_rc 0
expect_output "vlbuild: 4 would run, 0 up to date (dry run)"
vl status
expect_rc 0
cd ..
undo_readonly
[ "$(snapshot proj)" = "$before" ] || fail "the read-only commands changed the checkout:"$'\n'"$(diff <(echo "$before") <(snapshot proj))"
expect_no_file fresh/.vlbuild
cd proj
vl
expect_summary 4 0 0
finish
