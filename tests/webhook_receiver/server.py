#!/usr/bin/env python3
"""A local webhook receiver for the tests: records every POST it accepts, one JSON line each.

Listens on 127.0.0.1 only. --port-file PATH writes the chosen port; --log PATH appends
{"path": ..., "body": <parsed JSON or text>} for every accepted POST. Control endpoints:
GET /_recv/down?code=503 answers every POST with that code (nothing recorded) until
GET /_recv/up; GET /_recv/posts returns the recorded posts as a JSON array.
SPDX-License-Identifier: MIT
"""
import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

LOCK = threading.Lock()
STATE = {"down": 0, "posts": []}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, code, body=b""):
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        u = urlparse(self.path)
        if u.path == "/_recv/down":
            STATE["down"] = int(parse_qs(u.query).get("code", ["503"])[0])
            return self.reply(200, b"down")
        if u.path == "/_recv/up":
            STATE["down"] = 0
            return self.reply(200, b"up")
        if u.path == "/_recv/posts":
            with LOCK:
                return self.reply(200, json.dumps(STATE["posts"]).encode())
        self.reply(404)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(n)
        if STATE["down"]:
            return self.reply(STATE["down"], b'{"error":"down"}')
        try:
            body = json.loads(raw)
        except ValueError:
            return self.reply(400, b'{"error":"not json"}')
        rec = {"path": self.path, "content_type": self.headers.get("Content-Type"), "body": body}
        with LOCK:
            STATE["posts"].append(rec)
            if ARGS.log:
                with open(ARGS.log, "a") as f:
                    f.write(json.dumps(rec) + "\n")
        self.reply(200, b"ok")


ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, default=0)
ap.add_argument("--port-file")
ap.add_argument("--log")
ARGS = ap.parse_args()
srv = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
if ARGS.port_file:
    with open(ARGS.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.replace(ARGS.port_file + ".tmp", ARGS.port_file)
srv.serve_forever()
