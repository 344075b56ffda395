#!/usr/bin/env python3
# Points a shipped example config at the test services, changing nothing else: a base_url for
# every exchange source, the S3 server's endpoint and bucket (the example's bucket and prefix
# become a prefix under the test bucket), the test PostgreSQL (conninfo and a schema of its own),
# SQLite paths and the state directory under --dir, the listener on --port. Prints the result.
# SPDX-License-Identifier: MIT
import argparse
import re
import sys

SOURCES = ("binance-spot", "binance-futures", "coinbase", "coingecko", "kraken")

a = argparse.ArgumentParser()
a.add_argument("conf")
for opt in ("url", "s3", "bucket", "prefix", "pg", "schema", "dir", "port"):
    a.add_argument("--" + opt, required=True)
o = a.parse_args()
text = open(o.conf).read()


def value(block, key):
    m = re.search(r'\b%s\s*=\s*"([^"]*)"' % key, block)
    return m.group(1) if m else None


def put(block, key, val):
    """sets key = "val" in a { ... } block, replacing the value written there"""
    if re.search(r'\b%s\s*=' % key, block):
        return re.sub(r'\b%s\s*=\s*"[^"]*"' % key, '%s = "%s"' % (key, val), block, count=1)
    return re.sub(r'(plugin\s*=\s*"[^"]+"\s*;)', r'\1 %s = "%s";' % (key, val), block, count=1)


def element(m):
    block = m.group(0)
    plugin = value(block, "plugin")
    if plugin in SOURCES:
        block = put(block, "base_url", o.url)
    elif plugin == "s3-csv":
        where = "/".join(p for p in (value(block, "bucket"), value(block, "prefix") or "crypto/tabular") if p)
        block = put(put(put(block, "bucket", o.bucket), "endpoint", o.s3), "prefix", o.prefix + "/" + where)
        block = put(block, "region", "us-east-1")
    elif plugin == "postgresql":
        block = put(put(block, "conninfo", o.pg), "schema", o.schema)
    elif plugin == "sqlite":
        block = put(block, "path", o.dir + "/" + value(block, "path").split("/")[-1])
    return block


# every { ... } group holding a plugin (none nests another group)
text = re.sub(r'\{[^{}]*\bplugin\s*=\s*"[^"]+"[^{}]*\}', element, text)
text = re.sub(r'state_dir\s*=\s*"[^"]*"', 'state_dir = "%s/state"' % o.dir, text)
text = re.sub(r'http_listen\s*=\s*"[^"]*"', 'http_listen = "127.0.0.1:%s"' % o.port, text)
sys.stdout.write(text)
