#!/usr/bin/env python3
"""httpd.py - a tiny stand-in for a remote cache server, for the cache tests.

Serves GET, HEAD and PUT of any path under --root (as nginx's WebDAV module
does for Bazel's /ac/ and /cas/ layout), on 127.0.0.1 only, on a free port
that it writes to --port-file once listening.  Every request is appended to
--log as "METHOD PATH STATUS".  --sleep S delays every answer by S seconds (a
slow server); --require-header "Name: value" answers 401 to requests without
it.  --stream-under PREFIX answers a GET of a missing file under PREFIX with
200 and bytes without end (no Content-Length; stopped at 256 MiB, or when
the client goes away), a hostile server; the log line then ends in "sent=N".
Stops on SIGTERM.
"""
import argparse
import http.server
import os
import signal
import sys
import tempfile
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--sleep", type=float, default=0.0)
    ap.add_argument("--require-header", default="")
    ap.add_argument("--stream-under", default="")
    args = ap.parse_args()
    root = os.path.abspath(args.root)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            pass

        def note(self, status):
            with open(args.log, "a") as f:
                f.write("%s %s %d\n" % (self.command, self.path, status))

        def local_path(self):
            rel = os.path.normpath(self.path.split("?")[0]).lstrip("/")
            if rel.startswith(".."):
                return None
            return os.path.join(root, rel)

        def answer(self, status, body=b"", length=None):
            self.note(status)
            self.send_response(status)
            self.send_header("Content-Length", str(len(body) if length is None else length))
            self.end_headers()
            if self.command != "HEAD" and body:
                self.wfile.write(body)

        def allowed(self):
            if args.sleep:
                time.sleep(args.sleep)
            if args.require_header:
                name, _, value = args.require_header.partition(":")
                if self.headers.get(name.strip()) != value.strip():
                    self.answer(401)
                    return False
            return True

        def do_GET(self):
            if not self.allowed():
                return
            path = self.local_path()
            if args.stream_under and self.path.startswith(args.stream_under) and path and \
                    not os.path.isfile(path):
                return self.stream()
            if not path or not os.path.isfile(path):
                return self.answer(404)
            with open(path, "rb") as f:
                body = f.read()
            self.answer(200, body, len(body))

        def stream(self):
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            chunk, sent = b"x" * 65536, 0
            try:
                while sent < (256 << 20):
                    self.wfile.write(chunk)
                    sent += len(chunk)
            except OSError:
                pass
            with open(args.log, "a") as f:
                f.write("%s %s 200 sent=%d\n" % (self.command, self.path, sent))

        def do_HEAD(self):
            if not self.allowed():
                return
            path = self.local_path()
            if not path or not os.path.isfile(path):
                return self.answer(404)
            self.answer(200, length=os.path.getsize(path))

        def do_PUT(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            if not self.allowed():
                return
            path = self.local_path()
            if not path:
                return self.answer(400)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path))
            with os.fdopen(fd, "wb") as f:
                f.write(body)
            os.replace(tmp, path)
            self.answer(201)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.replace(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
