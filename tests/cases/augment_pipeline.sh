# augment_pipeline.sh - synth and augment through vlbuild: a generated,
# labelled dataset (the rules of docs/transforms.md), two augmented copies per
# clip, nothing rerun on a second build, a parameter error located in the
# rules file, and a bad video failing alone with its name.  The sources are
# MPEG-4: libx264's bytes vary when other encoders run in the same process
# (docs/video.md), and the byte-identity check below is augment's, not x264's.
source "$(dirname "$0")/lib.sh"

{
    synth_rules 2 48x32 8 left:1
    echo
    synth_rules 2 48x32 8 up:1
    echo
    folder_labels_rule left up
    cat <<'RULES'

rule aug
    each v in left up
    do     augment hflip=0.5 crop=0.5:1 brightness=0.2 saturation=0.2 noise=2 stride=2 seed=7
    copies 2
    out    build/aug/{v.dir}/{v.stem}.{copy}.mkv
RULES
} >vlbuild.rules

vl -j 2
expect_rc 0
expect_summary 13 0 0
for c in left up; do
    for i in 0 1; do
        expect_file "data/$c/$i.mp4"
        for k in 0 1; do expect_file "build/aug/data/$c/$i.$k.mkv"; done
    done
done
[ "$(wc -l <data/labels.csv)" -eq 5 ] || fail "labels.csv: $(cat data/labels.csv)"
grep -qx "data/up/1.mp4,up" data/labels.csv || fail "labels.csv lacks data/up/1.mp4,up"
cmp -s build/aug/data/left/0.0.mkv build/aug/data/left/0.1.mkv && fail "copies 0 and 1 are the same clip"

vl -j 2
expect_rc 0
expect_summary 0 13 0

# the same rules give byte-identical clips: rebuild everything elsewhere
mkdir -p again
cp vlbuild.rules again/
(cd again && "$VLBUILD" -q --no-cache >/dev/null 2>&1) || fail "second build failed"
for f in data/left/0.mp4 build/aug/data/left/0.0.mkv build/aug/data/up/1.1.mkv; do
    cmp -s "$f" "again/$f" || fail "$f differs between two builds of the same rules"
done

# a parameter out of range is an error at the rule's line
sed -i 's/hflip=0.5/hflip=1.5/' vlbuild.rules
vl
expect_rc 2
expect_output "vlbuild.rules:18:"
expect_output "hflip"
sed -i 's/hflip=1.5/hflip=0.5/' vlbuild.rules

# a source that is not a video fails alone, named, with no output
cat >>vlbuild.rules <<'RULES'

source junk = junk/*.mp4
rule junkaug
    each v in junk
    do     augment hflip=1
    out    build/junk/{v.stem}.mkv
RULES
mkdir -p junk
echo "not a video" >junk/broken.mp4
vl -k 0
expect_rc 1
expect_output "broken.mp4"
expect_no_file build/junk/broken.mkv
finish
