#!/usr/bin/env python3
"""SigV4 verifier in front of the S3 test server (started by start-s3.sh).

Every request must carry an AWS4-HMAC-SHA256 Authorization header whose signature botocore's
own S3SigV4Auth (AWS's Python implementation) computes from the request as received: only the
headers named in SignedHeaders, each of which must have been sent, with the X-Amz-Date time,
the payload hash in X-Amz-Content-SHA256 checked against the body. A request that fails is
answered 403 SignatureDoesNotMatch (or InvalidAccessKeyId, AccessDenied) in S3's XML, and
logged; one that passes is forwarded unchanged to the server behind and its answer relayed.
The log file gets one line per request: "ok METHOD PATH" or "refused METHOD PATH: why".

Usage: s3_verifier.py LISTEN_PORT UPSTREAM_PORT LOG_FILE (credentials: AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY of the environment; 127.0.0.1 only).
SPDX-License-Identifier: MIT
"""
import hashlib
import hmac
import http.client
import http.server
import os
import re
import sys
import threading

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

AUTH_RE = re.compile(r"^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request,\s*"
                     r"SignedHeaders=([a-z0-9;\-]+),\s*Signature=([0-9a-f]{64})$")
HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "expect", "proxy-connection"}
LOCK = threading.Lock()


def verify(method, path, headers, body, key_id, secret):
    """None when the signature is AWS's, else the S3 error code and why."""
    auth = headers.get("Authorization")
    if not auth:
        return "AccessDenied", "no Authorization header"
    m = AUTH_RE.match(auth.strip())
    if not m:
        return "AccessDenied", "malformed Authorization header"
    akid, day, region, service, signed, signature = m.groups()
    if akid != key_id:
        return "InvalidAccessKeyId", "unknown access key id %s" % akid
    present = {k.lower(): v for k, v in headers.items()}
    names = signed.split(";")
    missing = [n for n in names if n not in present]
    if missing:
        return "SignatureDoesNotMatch", "signed header(s) not sent: %s" % ", ".join(missing)
    amz_date = present.get("x-amz-date", "")
    if not amz_date.startswith(day):
        return "SignatureDoesNotMatch", "X-Amz-Date %r does not match the credential scope" % amz_date
    sha = present.get("x-amz-content-sha256")
    if sha and sha not in ("UNSIGNED-PAYLOAD",) and not sha.startswith("STREAMING-"):
        if hashlib.sha256(body).hexdigest() != sha:
            return "XAmzContentSHA256Mismatch", "X-Amz-Content-SHA256 is not the body's hash"
    # the request as the client signed it: only the headers it named
    req = AWSRequest(method=method, url="http://%s%s" % (present.get("host", ""), path), data=body,
                     headers={n: present[n] for n in names})
    req.context["timestamp"] = amz_date
    signer = S3SigV4Auth(Credentials(key_id, secret, present.get("x-amz-security-token")), service, region)
    botocore_signed = signer.signed_headers(signer.headers_to_sign(req))
    canonical = signer.canonical_request(req)
    expect = signer.signature(signer.string_to_sign(req, canonical), req)
    if not hmac.compare_digest(expect, signature):
        why = "signature differs from botocore's"
        if botocore_signed != signed:
            why += " (client signed %s, botocore signs %s)" % (signed, botocore_signed)
        return "SignatureDoesNotMatch", why
    return None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def note(self, line):
        with LOCK, open(self.server.log_file, "a") as f:
            f.write(line + "\n")

    def handle_one(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n > 0 else b""
        bad = verify(self.command, self.path, self.headers, body, self.server.key_id, self.server.secret)
        if bad:
            self.note("refused %s %s: %s" % (self.command, self.path, bad[1]))
            xml = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s</Message>"
                   "</Error>" % bad).encode()
            self.send_response(403)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(xml)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(xml)
            return
        self.note("ok %s %s" % (self.command, self.path))
        up = http.client.HTTPConnection("127.0.0.1", self.server.upstream, timeout=300)
        fwd = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
        fwd["Content-Length"] = str(len(body))
        up.request(self.command, self.path, body=body, headers=fwd)
        r = up.getresponse()
        data = r.read()
        self.send_response(r.status, r.reason)
        for k, v in r.getheaders():
            if k.lower() not in HOP and k.lower() != "content-length":
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        up.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_one


def main():
    port, upstream, log_file = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    srv.daemon_threads = True
    srv.upstream = upstream
    srv.log_file = log_file
    srv.key_id = os.environ["AWS_ACCESS_KEY_ID"]
    srv.secret = os.environ["AWS_SECRET_ACCESS_KEY"]
    srv.serve_forever()


if __name__ == "__main__":
    main()
