#!/usr/bin/env python3
"""A few NATS client requests over the plain text protocol, for the tests (no client library).

  nats_pub.py pub PORT SUBJECT PAYLOAD [NAME=VALUE ...]   publish (with headers when given)
  nats_pub.py stream PORT NAME SUBJECT                      create a JetStream stream (R1, file)
  nats_pub.py stream-msgs PORT NAME                         messages the stream holds
"""
# SPDX-License-Identifier: MIT
import json
import socket
import sys


def connect(port):
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
    f = s.makefile("rb")
    if not f.readline().startswith(b"INFO"):
        sys.exit("not a NATS server")
    s.sendall(b'CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true}\r\n')
    return s, f


def ping(s, f):
    s.sendall(b"PING\r\n")
    while True:
        line = f.readline()
        if line.startswith(b"PONG"):
            return
        if line.startswith(b"-ERR"):
            sys.exit(line.decode().strip())


def request(s, f, subject, body):
    s.sendall(b"SUB _INBOX.t 1\r\n")
    data = json.dumps(body).encode()
    s.sendall(b"PUB %s _INBOX.t %d\r\n%s\r\n" % (subject.encode(), len(data), data))
    while True:
        line = f.readline()
        if line.startswith(b"MSG") or line.startswith(b"HMSG"):
            parts = line.split()
            n = int(parts[-1])
            payload = f.read(n + 2)[:n]
            if line.startswith(b"HMSG"):
                payload = payload[int(parts[-2]):]
            return json.loads(payload) if payload else {}
        if line.startswith(b"-ERR"):
            sys.exit(line.decode().strip())


def main():
    cmd, port = sys.argv[1], sys.argv[2]
    s, f = connect(port)
    if cmd == "pub":
        subject, payload = sys.argv[3], sys.argv[4].encode()
        headers = sys.argv[5:]
        if headers:
            h = b"NATS/1.0\r\n" + b"".join(kv.replace("=", ": ", 1).encode() + b"\r\n" for kv in headers) + b"\r\n"
            s.sendall(b"HPUB %s %d %d\r\n%s%s\r\n" % (subject.encode(), len(h), len(h) + len(payload), h, payload))
        else:
            s.sendall(b"PUB %s %d\r\n%s\r\n" % (subject.encode(), len(payload), payload))
        ping(s, f)
    elif cmd == "stream":
        r = request(s, f, "$JS.API.STREAM.CREATE." + sys.argv[3],
                    {"name": sys.argv[3], "subjects": [sys.argv[4]], "storage": "file", "num_replicas": 1})
        if "error" in r:
            sys.exit(str(r["error"]))
    elif cmd == "stream-msgs":
        r = request(s, f, "$JS.API.STREAM.INFO." + sys.argv[3], {})
        print(r.get("state", {}).get("messages", -1))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
