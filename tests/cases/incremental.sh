# The core promise: only what is stale runs, decided by content.
. "$(dirname "$0")/lib.sh"
write_pipeline
for i in 1 2 3; do echo "clip $i" >data/c$i.txt; done

vl -j2
expect_rc 0
expect_summary 10 0 0
expect_file build/feat/c1.feat "CLIP 1
META-V1
CLIP 1"

# no-op
vl -j2
expect_rc 0
expect_summary 0 10 0

# touched but unchanged: nothing runs
sleep 0.05
touch data/c1.txt data/c2.txt
vl
expect_summary 0 10 0

# one source changed: its chain and the aggregate rerun, nothing else
echo "clip 2 edited" >data/c2.txt
vl
expect_summary 4 6 0
[ "$(ran_lines)" = "feat build/feat/c2.feat
meta build/meta/c2.meta
scale build/scale/c2.scale
train build/model.txt" ] || fail "wrong actions ran: $(ran_lines)"
grep -q "CLIP 2 EDITED" build/model.txt || fail "model not rebuilt from new data"

# a source added and one deleted
echo "clip 4" >data/c4.txt
rm data/c1.txt
vl
expect_summary 4 6 0
grep -q "CLIP 4" build/model.txt || fail "added source missing from the aggregate"
grep -q "CLIP 1" build/model.txt && fail "deleted source still in the aggregate"

# a parameter (variable) changed: only the rule using it, then content decides
vl tag=v2
expect_summary 10 0 0
vl tag=v2
expect_summary 0 10 0

# an output edited by hand is rebuilt (here restored from the artifact
# cache); rebuilt identical, its user is cut off
echo garbage >build/feat/c3.feat
vl tag=v2
expect_summary 0 9 0 1
expect_output "restored outputs may be read-only links into the cache"
expect_output "feat build/feat/c3.feat"
expect_file build/feat/c3.feat "CLIP 3
META-V2
CLIP 3"

# a deleted output is rebuilt
rm build/scale/c4.scale
vl --no-cache tag=v2
expect_summary 1 9 0
expect_output "scale build/scale/c4.scale"
finish
