# The artifact cache against a real HTTP server on loopback: nginx with its
# WebDAV module, started here and stopped at the end.  A clean clone restores
# everything; a tampered blob is refused and rebuilt; read-only mode uploads
# nothing; the server stopped mid-build leaves a correct build; two builds
# sharing one cache folder at once both succeed.
. "$(dirname "$0")/lib.sh"
command -v nginx >/dev/null || { echo "SKIPPED: nginx not installed"; exit 77; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p www nginx-tmp
cat >nginx.conf <<CONF
daemon off;
master_process off;
worker_processes 1;
error_log $root/nginx.err;
pid $root/nginx.pid;
$( [ "$(id -u)" -eq 0 ] && echo "user root;" )
events {}
http {
    access_log $root/access.log;
    client_body_temp_path $root/nginx-tmp;
    server {
        listen 127.0.0.1:$port;
        root $root/www;
        dav_methods PUT DELETE;
        create_full_put_path on;
        client_max_body_size 0;
    }
}
CONF
nginx -c "$root/nginx.conf" -p "$root" &
nginx_pid=$!
trap 'kill $nginx_pid 2>/dev/null || true; cd /; rm -rf "$root"' EXIT
for _ in $(seq 50); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null && break
    sleep 0.1
done
url="http://127.0.0.1:$port"

make_project() {
    mkdir -p "$1/data"
    (cd "$1" && write_pipeline)
    for i in 1 2 3; do echo "clip $i" >"$1/data/c$i.txt"; done
}

# the first build uploads everything
make_project first
cd first
vl --remote-cache "$url" --cache-dir "$root/cache-first"
expect_rc 0
expect_summary 10 0 0
cd "$root"
[ "$(find www/ac -type f | wc -l)" -eq 10 ] || fail "expected 10 action entries on the server"

# a clean clone with an empty local cache restores everything, runs nothing
make_project clone
cd clone
vl --remote-cache "$url" --cache-dir "$root/cache-clone"
expect_rc 0
expect_summary 0 0 0 10
cmp build/model.txt ../first/build/model.txt || fail "restored model differs"
cd "$root"

# a tampered blob on the server is refused and its action rebuilt
digest=$(cd first && python3 -c "
import sqlite3; c = sqlite3.connect('.vlbuild/state.db')
print(c.execute(\"select hex(hash) from files where path='build/model.txt'\").fetchone()[0].lower())")
blob=$(find www/cas -type f -name "$digest*" | head -n 1)
[ -n "$blob" ] || fail "model blob $digest not found on the server"
echo tampered >"$blob"
make_project clone2
cd clone2
vl --remote-cache "$url" --cache-dir "$root/cache-clone2"
expect_rc 0
expect_output "warning"
expect_summary 1 0 0 9
cmp build/model.txt ../first/build/model.txt || fail "rebuilt model differs"
cd "$root"

# read-only: new content is built but nothing is uploaded
before=$(find www -type f | wc -l)
make_project readonly
echo "new clip" >readonly/data/c9.txt
cd readonly
vl --remote-cache "$url" --remote-cache-readonly --cache-dir "$root/cache-ro"
expect_rc 0
expect_summary 4 0 0 9
cd "$root"
[ "$(find www -type f | wc -l)" -eq "$before" ] || fail "read-only mode uploaded files"

# two builds sharing one cache folder at once
make_project shared1
make_project shared2
for p in shared1 shared2; do echo "other $p" >$p/data/c4.txt; done
(cd shared1 && "$VLBUILD" --no-wait --cache-dir "$root/shared-cache" >../shared1.log 2>&1) &
one=$!
(cd shared2 && "$VLBUILD" --no-wait --cache-dir "$root/shared-cache" >../shared2.log 2>&1) &
two=$!
wait $one || fail "first of two concurrent builds failed: $(cat shared1.log)"
wait $two || fail "second of two concurrent builds failed: $(cat shared2.log)"
cmp shared1/build/feat/c1.feat first/build/feat/c1.feat || fail "shared-cache output differs"

# the server stopped in the middle of a build: warnings, then a correct build
make_project stopped
cd stopped
cat >>vlbuild.rules <<'RULES'
rule slow
    each f in raw
    run  sleep 0.4; cp $in $out
    out  build/slow/{f.stem}.txt
RULES
echo "fresh" >data/c5.txt
("$VLBUILD" -j1 --remote-cache "$url" --cache-dir "$root/cache-stopped" >../stopped.log 2>&1; echo $? >../stopped.rc) &
sleep 0.6
kill $nginx_pid
wait $nginx_pid 2>/dev/null || true
while [ ! -e ../stopped.rc ]; do sleep 0.1; done
[ "$(cat ../stopped.rc)" -eq 0 ] || fail "build failed when the server stopped: $(cat ../stopped.log)"
vl --no-cache
expect_summary 0 17 0
expect_file build/slow/c5.txt "fresh"
finish
