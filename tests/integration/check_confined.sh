#!/usr/bin/env bash
# `run --check` confines the plugin code it has to run: a test plugin (tests/plugins/ctor_marker.c)
# whose library constructor writes a marker file and whose check callback writes another and
# connects to a TCP listener on 127.0.0.1 leaves no file and makes no connection under --check,
# which still validates the config (exit 0, "OK"; a bad option still refused). The control: a
# normal start of the same config leaves all three traces, so the plugin really does what
# --check prevents.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
B=$COINPIPE_BIN
# the kernel's Landlock ABI version (0: none); connect() is confined from ABI 4 on
abi=$(python3 -c 'import ctypes; l = ctypes.CDLL(None, use_errno=True); l.syscall.restype = ctypes.c_long
print(max(0, l.syscall(444, None, 0, 1)))')
python3 - "$TMP/lport" "$TMP/conns" <<'P' &
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    c, _ = s.accept()
    with open(sys.argv[2], "a") as f:
        f.write("connection\n")
    c.close()
P
PIDS+=($!)
wait_for "[ -s $TMP/lport ]" 10 || { echo "listener did not start" >&2; exit 1; }
export COINPIPE_TEST_CTOR_MARKER="$TMP/ctor" COINPIPE_TEST_CTOR_PORT=$(cat "$TMP/lport")
conf() { # FILE MARKER-OPTION-VALUE
    { conf_head; cat <<C; } > "$1"
pipelines = ( { name = "p"; interval = "1m"; run_at_start = true;
    source = { plugin = "fake-source"; };
    sinks = ( { plugin = "ctor-marker"; marker = "$2"; } ); } );
C
}
conf "$TMP/ok.conf" "$TMP/check"
$B run --check -c "$TMP/ok.conf" > "$TMP/check.out" 2> "$TMP/check.err"; rc=$?
expect_eq "$rc" 0 "--check exits 0"
expect_contains "$TMP/check.out" "ok.conf: OK (1 pipelines, 2 plugin instances)" "--check says OK"
if [ "$abi" -lt 1 ]; then
    expect_contains "$TMP/check.err" "warning: --check cannot confine the plugins' code" "no Landlock: --check says so"
    echo "this kernel has no Landlock: the confinement itself is not tested"
    finish; exit 77
fi
expect_eq "$(cat "$TMP/check.err")" "" "--check: nothing on stderr"
[ -e "$TMP/ctor" ] && fail "--check: the constructor wrote its marker" || pass "--check: the constructor could not write a file"
[ -e "$TMP/check" ] && fail "--check: the check callback wrote its marker" || pass "--check: the check callback could not write a file"
if [ "$abi" -ge 4 ]; then
    sleep 0.3
    [ -e "$TMP/conns" ] && fail "--check: the check callback connected to 127.0.0.1" || pass "--check: no TCP connection (Landlock ABI $abi)"
fi
# a bad option is still refused under --check, with its line
conf "$TMP/bad.conf" "$TMP/check"
sed -i 's/marker = /marker = 5; x = /' "$TMP/bad.conf"
$B run --check -c "$TMP/bad.conf" > /dev/null 2> "$TMP/bad.err"; rc=$?
expect_eq "$rc" 1 "--check of a bad config exits 1"
expect_contains "$TMP/bad.err" "bad.conf:4: option 'marker' for plugin 'ctor-marker' expects a string" "the bad option named with its line"
# the control: a start runs the same code unconfined
$B --once -c "$TMP/ok.conf" > /dev/null 2> "$TMP/once.err"; rc=$?
expect_eq "$rc" 0 "--once exits 0"
expect_eq "$(cat "$TMP/ctor" 2>/dev/null | sort -u)" "constructor" "--once: the constructor wrote its marker"
expect_contains "$TMP/check" "check" "--once: the check callback wrote its marker"
if [ "$abi" -ge 4 ]; then
    wait_for "[ -s $TMP/conns ]" 5
    expect_contains "$TMP/conns" "connection" "--once: the check callback connected"
fi
finish
