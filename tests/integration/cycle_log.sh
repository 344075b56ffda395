#!/usr/bin/env bash
# One info line per poll cycle: pipeline, rows per stream that reached the sinks, duration and
# the ticks skipped while it ran; cycle_log = "debug" (global or per pipeline) quiets it.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
conf() { # $1 file, $2 global extra, $3 pipeline extra, $4 source extra
    cat > "$1" <<CONF
global = { state_dir = "$TMP/state"; log_format = "logfmt"; plugin_path = ["$COINPIPE_TEST_PLUGIN_DIR"]; $2 };
pipelines = ( { name = "p"; interval = "500ms"; $3
  source = { plugin = "fake-source"; rows = 3; batches = 2; $4 };
  sinks = ( { plugin = "stdout"; format = "csv"; } ); } );
CONF
}
conf "$TMP/a.conf" "" "" ""
"$COINPIPE_BIN" --once -c "$TMP/a.conf" > /dev/null 2> "$TMP/a.err"
expect_eq "$?" 0 "--once succeeds"
line=$(grep 'msg="cycle 1 done' "$TMP/a.err")
expect_eq "$(grep -c 'msg="cycle 1 done' "$TMP/a.err")" 1 "one line for the cycle"
case "$line" in
    *level=info*pipeline=p*'msg="cycle 1 done in '*' ms: 6 rows (ticker=6), 0 ticks skipped"'*) pass "pipeline, rows per stream, duration, skipped ticks at info" ;;
    *) fail "the cycle's line: '$line'" ;;
esac
conf "$TMP/b.conf" 'cycle_log = "debug";' "" ""
"$COINPIPE_BIN" --once -c "$TMP/b.conf" > /dev/null 2> "$TMP/b.err"
expect_not_contains "$TMP/b.err" 'msg="cycle 1' "global cycle_log = debug: no cycle line at info"
conf "$TMP/c.conf" 'cycle_log = "debug"; log_level = "debug";' "" ""
"$COINPIPE_BIN" --once -c "$TMP/c.conf" > /dev/null 2> "$TMP/c.err"
expect_contains "$TMP/c.err" 'level=debug pipeline=p' "... at debug with log_level = debug"
conf "$TMP/d.conf" "" 'cycle_log = "debug";' ""
"$COINPIPE_BIN" --once -c "$TMP/d.conf" > /dev/null 2> "$TMP/d.err"
expect_not_contains "$TMP/d.err" 'msg="cycle 1' "a pipeline's cycle_log overrides the global one"
# a cycle longer than the interval: the ticks skipped meanwhile are in its line
conf "$TMP/e.conf" "" "" 'sleep = "1300ms";'
"$COINPIPE_BIN" -c "$TMP/e.conf" > /dev/null 2> "$TMP/e.err" &
pid=$!; PIDS+=($pid)
wait_for "grep -q 'msg=\"cycle 2 done' $TMP/e.err" 20 || fail "no second cycle"
kill -TERM $pid; wait $pid
grep 'msg="cycle [0-9]* done' "$TMP/e.err" | grep -qv ' 0 ticks skipped' && pass "skipped ticks counted in the cycle's line" \
    || { fail "no cycle line with skipped ticks"; grep 'cycle' "$TMP/e.err" >&2; }
finish
