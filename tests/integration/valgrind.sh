#!/usr/bin/env bash
# Leak check of a real run under valgrind (release tree; the ASan tree has LeakSanitizer):
# --once through a transform-less pipeline into SQLite, stdout and a retrying sink, plus a
# long run stopped by SIGTERM after a reload.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
if ldd "$COINPIPE_BIN" | grep -q libasan; then
    echo "skipped: the ASan build checks leaks with LeakSanitizer"
    exit 77
fi
command -v valgrind >/dev/null || { fail "valgrind missing (tools/deps-debian.txt)"; finish; exit 1; }
VG=(valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect
    --error-exitcode=99 --log-file="$TMP/vg.%p.log")
{ conf_head; cat <<C
pipelines = ( { name = "v"; interval = "300ms";
  source = { plugin = "fake-source"; rows = 20; batches = 3; };
  sinks = ( { plugin = "sqlite"; path = "$TMP/v.db"; },
            { plugin = "stdout"; format = "jsonl"; },
            { plugin = "test-sink"; out = "$TMP/v.out"; mode = "retry"; fail_times = 2;
              retry_initial_interval = "10ms"; } ); } );
C
} > "$TMP/v.conf"
export COINPIPE_PLUGIN_PATH="$COINPIPE_BUILD_PLUGIN_DIR"
"${VG[@]}" "$COINPIPE_BIN" --once -c "$TMP/v.conf" > /dev/null 2> "$TMP/once.err"; rc=$?
expect_eq "$rc" 0 "--once under valgrind: no leaks, no invalid accesses"
[ $rc -eq 0 ] || cat "$TMP"/vg.*.log >&2
expect_eq "$(sqlite3 "$TMP/v.db" 'select count(*) from ticker')" 60 "rows written under valgrind"
rm -f "$TMP"/vg.*.log "$TMP/v.out"
"${VG[@]}" "$COINPIPE_BIN" -c "$TMP/v.conf" > /dev/null 2> "$TMP/run.err" &
pid=$!
wait_for "grep -q 'running 1 pipelines' $TMP/run.err && [ -s $TMP/v.out ]" 60 || fail "nothing written in the long run"
kill -HUP $pid
wait_for "grep -q 'reload done' $TMP/run.err" 60 || fail "reload under valgrind"
sleep 1
kill -TERM $pid; wait $pid; rc=$?
expect_eq "$rc" 0 "run + reload + SIGTERM under valgrind: no leaks, no invalid accesses"
[ $rc -eq 0 ] || cat "$TMP"/vg.*.log >&2
finish
