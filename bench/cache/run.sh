#!/usr/bin/env bash
# run.sh - the artifact cache's cost and benefit on the quickstart pipeline
# (issue 8), side by side in one run:
#   scratch   a fresh copy built with --no-cache
#   cold      a fresh copy built with an empty cache (the overhead of storing)
#   local     a fresh copy restored from the warm cache folder
#   http      a fresh copy restored from nginx (WebDAV) on loopback, empty local cache
# Usage: bench/cache/run.sh [VLBUILD] [NAME=VALUE...]   (default: build/vlbuild per_class=4 epochs=5)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
vlbuild=${1:-$repo/build/vlbuild}
shift || true
vars=("$@")
[ ${#vars[@]} -gt 0 ] || vars=(per_class=4 epochs=5)
work=$(mktemp -d /tmp/vlbench-cache.XXXXXX)
trap '[ -n "${nginx_pid:-}" ] && kill $nginx_pid 2>/dev/null; rm -rf "$work"' EXIT

fresh() { mkdir -p "$work/$1" && cp "$repo"/examples/quickstart/*.rules "$work/$1/"; }
timed() { # timed NAME ARGS...: builds a fresh copy, prints seconds and the summary
    local name=$1; shift
    fresh "$name"
    local t0 t1 out
    t0=$(date +%s.%N)
    out=$(cd "$work/$name" && "$vlbuild" -q -j2 "${vars[@]}" "$@" | tail -n 1)
    t1=$(date +%s.%N)
    printf '%-8s %8.2f s   %s\n' "$name" "$(echo "$t1 - $t0" | bc)" "$out"
}

echo "vlbuild: $vlbuild; variables: ${vars[*]}; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
timed scratch --no-cache
timed cold --cache-dir "$work/cache"
timed local --cache-dir "$work/cache"

if command -v nginx >/dev/null; then
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    mkdir -p "$work/www" "$work/ngx"
    cat >"$work/nginx.conf" <<CONF
daemon off; master_process off; worker_processes 1;
error_log $work/nginx.err; pid $work/nginx.pid;
$( [ "$(id -u)" -eq 0 ] && echo "user root;" )
events {}
http { access_log off; client_body_temp_path $work/ngx;
  server { listen 127.0.0.1:$port; root $work/www; dav_methods PUT DELETE;
           create_full_put_path on; client_max_body_size 0; } }
CONF
    nginx -c "$work/nginx.conf" -p "$work" &
    nginx_pid=$!
    sleep 0.5
    timed upload --cache-dir "$work/cache-up" --remote-cache "http://127.0.0.1:$port"
    timed http --cache-dir "$work/cache-http" --remote-cache "http://127.0.0.1:$port"
fi
