#!/usr/bin/env python3
"""A small Azure Blob client for the tests (Shared Key written from Microsoft's REST reference,
independently of plugins/sinks/azure_blob.c), against Azurite on 127.0.0.1.

Usage (COINPIPE_TEST_AZURE_ENDPOINT, _ACCOUNT, _KEY in the environment):
  azure_blob.py mkcontainer NAME        create a container (exists already: fine)
  azure_blob.py list CONTAINER [PREFIX] blob names, one per line, sorted
  azure_blob.py get CONTAINER NAME FILE the blob's bytes into FILE
  azure_blob.py props CONTAINER NAME    "content-type blob-type" of a blob
  azure_blob.py sas                     an account SAS token (blob service, write/list/read)
SPDX-License-Identifier: MIT
"""
import base64
import hashlib
import hmac
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from email.utils import formatdate

VERSION = "2021-08-06"
ENDPOINT = os.environ["COINPIPE_TEST_AZURE_ENDPOINT"].rstrip("/")
ACCOUNT = os.environ["COINPIPE_TEST_AZURE_ACCOUNT"]
KEY = base64.b64decode(os.environ["COINPIPE_TEST_AZURE_KEY"])


def call(method, path, query=None, body=b""):
    query = query or {}
    date = formatdate(usegmt=True)
    xms = {"x-ms-date": date, "x-ms-version": VERSION}
    url_path = urllib.parse.urlparse(ENDPOINT).path + path
    canon_q = "".join(f"\n{k.lower()}:{v}" for k, v in sorted(query.items()))
    length = str(len(body)) if body else ""
    sts = "\n".join([method, "", "", length, "", "", "", "", "", "", "", ""]) + "\n"
    sts += "".join(f"{k}:{v}\n" for k, v in sorted(xms.items()))
    sts += f"/{ACCOUNT}{url_path}{canon_q}"
    sig = base64.b64encode(hmac.new(KEY, sts.encode(), hashlib.sha256).digest()).decode()
    url = ENDPOINT + path + ("?" + urllib.parse.urlencode(query) if query else "")
    req = urllib.request.Request(url, data=body if method == "PUT" else None, method=method)
    for k, v in xms.items():
        req.add_header(k, v)
    req.add_header("Authorization", f"SharedKey {ACCOUNT}:{sig}")
    if method == "PUT":
        req.add_header("Content-Type", "")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers


def main():
    cmd = sys.argv[1]
    if cmd == "mkcontainer":
        code, body, _ = call("PUT", "/" + sys.argv[2], {"restype": "container"})
        if code not in (201, 409):
            sys.exit(f"mkcontainer: HTTP {code} {body[:200]!r}")
    elif cmd == "list":
        q = {"restype": "container", "comp": "list"}
        if len(sys.argv) > 3:
            q["prefix"] = sys.argv[3]
        names, marker = [], None
        while True:
            if marker:
                q["marker"] = marker
            code, body, _ = call("GET", "/" + sys.argv[2], q)
            if code != 200:
                sys.exit(f"list: HTTP {code} {body[:200]!r}")
            root = ET.fromstring(body)
            names += [b.findtext("Name") for b in root.iter("Blob")]
            marker = root.findtext("NextMarker")
            if not marker:
                break
        for n in sorted(names):
            print(n)
    elif cmd == "get":
        code, body, _ = call("GET", "/" + sys.argv[2] + "/" + urllib.parse.quote(sys.argv[3]))
        if code != 200:
            sys.exit(f"get: HTTP {code} {body[:200]!r}")
        with open(sys.argv[4], "wb") as f:
            f.write(body)
    elif cmd == "props":
        code, body, headers = call("HEAD", "/" + sys.argv[2] + "/" + urllib.parse.quote(sys.argv[3]))
        if code != 200:
            sys.exit(f"props: HTTP {code}")
        print(headers.get("Content-Type"), headers.get("x-ms-blob-type"))
    elif cmd == "sas":
        p = {"sv": "2019-12-12", "ss": "b", "srt": "sco", "sp": "rwlac", "se": "2099-01-01T00:00:00Z",
             "spr": "https,http"}
        sts = "\n".join([ACCOUNT, p["sp"], p["ss"], p["srt"], "", p["se"], "", p["spr"], p["sv"]]) + "\n"
        p["sig"] = base64.b64encode(hmac.new(KEY, sts.encode(), hashlib.sha256).digest()).decode()
        print(urllib.parse.urlencode(p))
    else:
        sys.exit("usage: azure_blob.py mkcontainer|list|get|props|sas ...")


main()
