#!/usr/bin/env python3
"""A hostile HTTP server on 127.0.0.1 for the HTTP service's limits (tests/integration/http_hostile.sh).

Usage: hostile_http.py MODE PORT_FILE LOG_FILE. Every request (any path) gets the MODE's answer:
  bomb       200, Content-Encoding: gzip, 2 GB of zeros once decompressed (about 2 MB sent)
  huge       200, Content-Length 200 MB, the bytes streamed as fast as the client reads
  endless    200, chunked, chunks for ever (until the client goes away)
  slowloris  200, the header block one byte a second, never finished
  retryafter 429, Retry-After: 9223372036854775807
  redirect   302 to the same port as http://localhost (another host name)
  redirectftp 302 to ftp:// on the same host
Each request's Host header and path go to LOG_FILE, one line each. Stops with the test (pid).
SPDX-License-Identifier: MIT
"""
import http.server
import socketserver
import sys
import threading
import time
import zlib

MODE, PORT_FILE, LOG = sys.argv[1], sys.argv[2], sys.argv[3]
LOCK = threading.Lock()


def bomb():
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = bytes(1 << 20)
    out = [c.compress(chunk) for _ in range(2048)]
    out.append(c.flush())
    return b"".join(out)


BOMB = bomb() if MODE == "bomb" else b""


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        with LOCK, open(LOG, "a") as f:
            f.write("%s %s\n" % (self.headers.get("Host"), self.path))
        try:
            getattr(self, "m_" + MODE)()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def m_bomb(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(BOMB)))
        self.end_headers()
        self.wfile.write(BOMB)

    def m_huge(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(200 << 20))
        self.end_headers()
        chunk = b" " * (1 << 16)
        for _ in range((200 << 20) // len(chunk)):
            self.wfile.write(chunk)

    def m_endless(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b"%x\r\n%s\r\n" % (1 << 16, b" " * (1 << 16))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            self.wfile.write(chunk)

    def m_slowloris(self):
        deadline = time.monotonic() + 120
        for ch in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 1000:
            if time.monotonic() > deadline:
                break
            self.wfile.write(bytes([ch]))
            self.wfile.flush()
            time.sleep(1)

    def m_retryafter(self):
        body = b'{"code":-1003,"msg":"Too many requests."}'
        self.send_response(429)
        self.send_header("Retry-After", "9223372036854775807")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def m_redirectftp(self):
        self.m_redirect()

    def m_redirect(self):
        port = self.server.server_address[1]
        target = ("ftp://127.0.0.1:%d/x" % port) if MODE == "redirectftp" else \
            ("http://localhost:%d%s" % (port, self.path))
        self.send_response(302)
        self.send_header("Location", target)
        self.send_header("Content-Length", "0")
        self.end_headers()


class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


srv = S(("127.0.0.1", 0), H)
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(PORT_FILE + ".tmp", PORT_FILE)
srv.serve_forever()
