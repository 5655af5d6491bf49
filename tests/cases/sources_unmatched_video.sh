# Files that look like video in a folder a source reads, which no source
# takes, are a warning once per folder: `*.mp4` used to skip CAM.MP4 without
# a word.  Brace alternatives take them; outputs of a rule are not warned
# about, nor hidden files.
. "$(dirname "$0")/lib.sh"
mkdir -p data/cam/a data/other data/many out
echo a >data/cam/a.mp4
echo A >data/cam/CAM.MP4
echo b >data/cam/b.MOV
echo a0 >data/cam/a0.MP4
echo x >data/cam/a/x.MP4    # a/x.MP4 sorts between a.mp4 and a0.MP4
echo n >data/cam/notes.txt
echo h >data/cam/.hidden.mp4
echo c >data/other/c.mp4
echo d >data/other/D.MKV
for f in 1 2 3 4 5; do echo $f >data/many/v$f.webm; done
echo '{}' >out/info.json
rules() {
    cat >vlbuild.rules <<RULES
source raw = $1
source again = data/cam/*.mp4
source sidecars = out/*.json
rule copy
    each v in raw
    run  cp \$in \$out
    out  out/{v.stem}.mp4
rule list
    in   again sidecars
    run  cat \$in > \$out
    out  build/list.txt
RULES
}
rules 'data/**/*.mp4'
vl
expect_rc 0
expect_output "vlbuild: warning: data/cam: 3 files that look like video are not in any source (CAM.MP4, a0.MP4, b.MOV); a pattern such as *.{mp4,MP4,mov,MOV} takes them"
expect_output "vlbuild: warning: data/cam/a: 1 file that looks like video is not in any source (x.MP4); a pattern such as *.{mp4,MP4} takes it"
expect_output "vlbuild: warning: data/other: 1 file that looks like video is not in any source (D.MKV); a pattern such as *.{mkv,MKV} takes it"
expect_output "vlbuild: warning: data/many: 5 files that look like video are not in any source (v1.webm, v2.webm, v3.webm, ...); a pattern such as *.webm takes them"
# once per folder, though two sources and three patterns read data/cam
[ "$(printf '%s\n' "$out" | grep -c 'data/cam: ')" -eq 1 ] || fail "data/cam warned more than once"$'\n'"$out"
[ "$(printf '%s\n' "$out" | grep -c 'like video')" -eq 4 ] || fail "expected 4 warnings"$'\n'"$out"
expect_no_output ".hidden.mp4"
expect_no_output "notes.txt"
expect_file out/a.mp4 a
expect_file out/c.mp4 c

# out/ holds the rule's video outputs now, in a folder that source sidecars
# reads: they are outputs, not missing sources
vl
expect_rc 0
expect_no_output "vlbuild: warning: out:"
expect_output "vlbuild: warning: data/cam: 3 files"
# a video there that no rule writes is warned about
echo s >out/stray.mp4
vl
expect_output "vlbuild: warning: out: 1 file that looks like video is not in any source (stray.mp4)"
rm out/stray.mp4

# alternatives take them, each file once (a.mp4 is both mp4 and m*4: twice
# would be two actions writing out/a.mp4), and the warnings are gone
rules 'data/**/*.{mp4,MP4,mov,MOV,mkv,MKV,webm,m*4}'
vl
expect_rc 0
expect_no_output "like video"
expect_file out/CAM.mp4 A
expect_file out/D.mp4 d
expect_file out/v5.mp4 5
expect_summary 10 3 0

# a brace without its pair is an error naming the place of the brace
rules 'data/*.{mp4'
vl
expect_rc 2
expect_output "vlbuild.rules:1:21: source raw: pattern 'data/*.{mp4': '{' without '}'"
rules 'data/{mp4}'
vl
expect_rc 2
expect_output "vlbuild.rules:1:19: source raw: pattern 'data/{mp4}': '{mp4}' has no ','"
finish
