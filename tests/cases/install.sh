# An installed vlbuild works on its own: `cmake --install` into a prefix,
# the prefix moved elsewhere, and the quickstart (12 training and 4 test clips:
# per_class, test_per_class and epochs overridden) built from a folder outside the source
# and build trees, with $VLBUILD_RULES unset: the binary finds its modules
# and std.rules relative to itself.  No path of either tree is compiled into
# the installed files; the man page documents every option of --help and the
# shell completion offers it; the .deb of `cpack -G DEB` holds the files and
# depends on the package of every library they link.
. "$(dirname "$0")/lib.sh"
build=$(cd "$(dirname "$VLBUILD")" && pwd -P)
source_dir=$(cd "$VL_SOURCE_DIR" && pwd -P)
# the project and the moved prefix live outside both trees ($root is inside
# the build folder)
away=$(mktemp -d /tmp/vlbuild-install.XXXXXX)
trap 'cd /; rm -rf "$root" "$away"' EXIT
unset VLBUILD_RULES VLBUILD_MODULE_DIR

cmake --install "$build" --prefix "$root/prefix" >"$root/install.log" ||
    fail "cmake --install failed: $(cat "$root/install.log")"
mv "$root/prefix" "$away/prefix" # the installed copy is relocatable
prefix=$away/prefix
for f in bin/vlbuild lib/vlbuild/vlbuild-media.so lib/vlbuild/vlbuild-http.so \
    share/vlbuild/rules/std.rules share/bash-completion/completions/vlbuild \
    share/man/man1/vlbuild.1; do
    expect_file "$prefix/$f"
done

# nothing of the source or build tree in what the files use at run time
# (their debug information names the sources, as debug information does, and
# so do a sanitized build's reports: source files, not folders it reads)
sanitized=0
grep -qE 'lib(asan|ubsan|tsan)' <<<"$(readelf -d "$prefix/bin/vlbuild")" && sanitized=1
for f in bin/vlbuild lib/vlbuild/vlbuild-media.so lib/vlbuild/vlbuild-http.so; do
    objcopy --strip-debug "$prefix/$f" "$away/stripped"
    for tree in "$source_dir" "$build"; do
        found=$(strings -a "$away/stripped" | grep -F "$tree" |
            if [ $sanitized = 1 ]; then grep -vE '\.[ch]$'; else cat; fi) || true
        [ -z "$found" ] || fail "$f holds a path of $tree: $(printf '%s\n' "$found" | head -3)"
    done
done

# the quickstart, from a copy of its rules, far from the source tree
mkdir "$away/project"
cp "$source_dir"/examples/quickstart/*.rules "$away/project/"
VLBUILD=$prefix/bin/vlbuild
cd "$away/project"
vl -j2 per_class=1 test_per_class=1 epochs=1
expect_rc 0
expect_summary 130 0 0
expect_file build/report.html
expect_file models/svm.safetensors
vl -j2 per_class=1 test_per_class=1 epochs=1
expect_summary 0 130 0
# $VLBUILD_RULES is looked at before the installed library
mkdir "$away/own-rules" "$away/override"
echo 'var std_clip = mine' >"$away/own-rules/std.rules"
printf 'include std.rules\nrule r\n    run  echo $std_clip > $out\n    out  r.txt\n' \
    >"$away/override/vlbuild.rules"
VLBUILD_RULES=$away/own-rules vl -C "$away/override"
expect_rc 0
expect_file "$away/override/r.txt" mine
vl -C "$away/override" clean
vl -C "$away/override"
expect_file "$away/override/r.txt" "size=64x64 mode=crop frames=16 interp=area"
cd "$root"

# the man page names every option of --help
man_text=$(sed 's/\\-/-/g' "$prefix/share/man/man1/vlbuild.1")
options=$("$VLBUILD" --help | sed -n '/^options:/,$p' | grep -oE '(^|[ ,])--?[a-zA-Z][a-zA-Z-]*' |
    tr -d ' ,' | sort -u)
[ "$(printf '%s\n' "$options" | wc -l)" -ge 20 ] || fail "found too few options in --help: $options"
for o in $options; do
    grep -qF -- "$o" <<<"$man_text" || fail "the man page does not mention $o"
done
# and so does the shell completion
completion=$(cat "$prefix/share/bash-completion/completions/vlbuild")
for o in $options; do
    case "$o" in -h) continue ;; esac # --help is offered
    grep -qE -- "(^|[ \"])$o( |\"|\)|$)" <<<"$completion" ||
        fail "the shell completion does not offer $o"
done
if command -v groff >/dev/null; then
    warnings=$(groff -man -Tutf8 -ww -z "$prefix/share/man/man1/vlbuild.1" 2>&1)
    [ -z "$warnings" ] || fail "groff warns about the man page: $warnings"
fi

# the .deb: its files, and a dependency on the package of each library the
# installed files link (sanitizer runtimes aside: a sanitized build is no
# release)
package_of() { # the Debian package that holds the library at $1
    local p=$1 real c
    real=$(readlink -f "$p")
    for c in "$p" "$(dirname "$p")/$(basename "$real")" "$real"; do
        for c in "$c" "${c#/usr}" "/usr$c"; do
            dpkg -S "$c" 2>/dev/null | sed -n '1s/:.*//p' | grep . && return 0
        done
    done
    return 1
}
(cd "$build" && cpack -G DEB -B "$away/package" >"$root/cpack.log" 2>&1) ||
    fail "cpack -G DEB failed: $(cat "$root/cpack.log")"
deb=$(ls "$away"/package/vlbuild_*.deb 2>/dev/null | head -n 1)
if [ -z "$deb" ]; then
    fail "cpack made no vlbuild_*.deb: $(cat "$root/cpack.log")"
else
    info=$(dpkg-deb -I "$deb")
    depends=$(printf '%s\n' "$info" | sed -n 's/^ Depends: //p')
    grep -q '^ Package: vlbuild$' <<<"$info" || fail "the package is not named vlbuild: $info"
    for f in bin/vlbuild lib/vlbuild/vlbuild-media.so lib/vlbuild/vlbuild-http.so; do
        for lib in $(readelf -d "$prefix/$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
            case "$lib" in libasan* | libubsan* | libtsan*) continue ;; esac
            path=$(ldd "$prefix/$f" | awk -v n="$lib" '$1 == n { print $3 }')
            package=$(package_of "$path") || { fail "$f: no Debian package holds $lib ($path)"; continue; }
            printf '%s\n' "$depends" | tr ',' '\n' | grep -qE "^ *$package( |$)" ||
                fail "the .deb does not depend on $package (for $lib of $f): Depends: $depends"
        done
    done
    contents=$(dpkg-deb -c "$deb")
    for f in bin/vlbuild lib/vlbuild/vlbuild-media.so lib/vlbuild/vlbuild-http.so \
        share/vlbuild/rules/std.rules share/bash-completion/completions/vlbuild \
        share/man/man1/vlbuild.1; do
        grep -q " \./usr/$f\$" <<<"$contents" || fail "the .deb lacks /usr/$f"
    done
fi
finish
