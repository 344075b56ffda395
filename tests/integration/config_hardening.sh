#!/usr/bin/env bash
# Config and log edges: a relative plugin_path is relative to the config file, not the current
# directory; an oversized config file is refused at once with its size; every config error
# names FILE:LINE; names that are not UTF-8 still give valid JSON log lines.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
B=$COINPIPE_BIN

# 1. plugin_path = ["plugins"] beside the config, run from another directory
mkdir -p "$TMP/conf" "$TMP/elsewhere"
ln -s "$COINPIPE_TEST_PLUGIN_DIR" "$TMP/conf/plugins"
cat > "$TMP/conf/rel.conf" <<C
global = { state_dir = "$TMP/state"; plugin_path = ["plugins"]; };
pipelines = ( { name = "p"; interval = "1m"; source = { plugin = "fake-source"; };
  sinks = ( { plugin = "test-sink"; out = "$TMP/rel.out"; } ); } );
C
(cd "$TMP/elsewhere" && $B --check -c "$TMP/conf/rel.conf" > "$TMP/rel.log" 2>&1); rc=$?
expect_eq "$rc" 0 "a relative plugin_path is found beside the config file, from another directory"
(cd "$TMP/conf" && $B --check -c rel.conf > "$TMP/rel2.log" 2>&1); rc=$?
expect_eq "$rc" 0 "and from the config's own directory with a relative -c"

# 2. a config file beyond 1 MiB is refused before libconfig reads it
{ conf_head; printf 'pipelines = ( { name = "'; head -c 2000000 /dev/zero | tr '\0' a; printf '"; } );\n'; } > "$TMP/big.conf"
t0=$(date +%s%N)
$B --check -c "$TMP/big.conf" > "$TMP/big.log" 2>&1; rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
expect_eq "$rc" 1 "an oversized config is refused"
expect_contains "$TMP/big.log" "big.conf:1: the config file is" "the refusal names the file, line 1 and the size"
[ "$ms" -lt 5000 ] && pass "refused in ${ms} ms" || fail "refusing the oversized config took ${ms} ms"

# 3. every config error carries FILE:LINE
bad_conf() { # $1 name, then the text after the global line
    { conf_head; printf '%s\n' "$2"; } > "$TMP/$1.conf"
    $B --check -c "$TMP/$1.conf" > "$TMP/$1.log" 2>&1
    # every line but the closing count ("coinpipe: FILE: N errors") is an error
    grep -v "^coinpipe: .*: [0-9]* errors*$" "$TMP/$1.log" > "$TMP/$1.errs"
    local n; n=$(wc -l < "$TMP/$1.errs")
    [ "$n" -ge 1 ] || { fail "$1: no error"; cat "$TMP/$1.log" >&2; return; }
    if grep -qv "^$TMP/$1.conf:[0-9][0-9]*: " "$TMP/$1.errs"; then
        fail "$1: an error without FILE:LINE:"; grep -v "^$TMP/$1.conf:[0-9][0-9]*: " "$TMP/$1.errs" >&2
    else
        pass "$1: every error carries a line ($n)"
    fi
}
bad_conf nopipelines ''
bad_conf syntax 'pipelines = ( { name = "p" ; ) );'
bad_conf unknown 'pipelines = ( { name = "p"; interval = "1m"; colour = 1; source = { plugin = "fake-source"; }; sinks = ( { plugin = "stdout"; } ); } );'
bad_conf badplugin 'pipelines = ( { name = "p"; interval = "1m"; source = { plugin = "no-such"; }; sinks = ( { plugin = "stdout"; } ); } );'
bad_conf badopt 'pipelines = ( { name = "p"; interval = "1m"; source = { plugin = "fake-source"; rows = "x"; }; sinks = ( { plugin = "stdout"; format = "xml"; } ); } );'

# 4. a pipeline name with bytes that are not UTF-8: every JSON log line still parses
printf 'global = { state_dir = "%s/state"; log_format = "json"; plugin_path = ["%s"]; };\n' "$TMP" "$COINPIPE_TEST_PLUGIN_DIR" > "$TMP/utf.conf"
printf 'pipelines = ( { name = "p\xff\xfe\xc3("; interval = "1m"; source = { plugin = "fake-source"; };\n' >> "$TMP/utf.conf"
printf '  sinks = ( { plugin = "test-sink"; out = "%s/utf.out"; } ); } );\n' "$TMP" >> "$TMP/utf.conf"
$B --once -c "$TMP/utf.conf" > /dev/null 2> "$TMP/utf.log"; rc=$?
expect_eq "$rc" 0 "--once with a non-UTF-8 pipeline name"
python3 - "$TMP/utf.log" <<'P' && pass "every log line is valid JSON and keeps the bytes as \\u00XX" || fail "invalid JSON log lines"
import json, sys
raw = open(sys.argv[1], "rb").read()
lines = [l for l in raw.split(b"\n") if l]
assert lines, "no log lines"
names = set()
for l in lines:
    l.decode("utf-8")          # strict: raises on invalid UTF-8
    o = json.loads(l)
    if "pipeline" in o:
        names.add(o["pipeline"])
assert "p\u00ff\u00fe\u00c3(" in names, names
P
finish
