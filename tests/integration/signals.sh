#!/usr/bin/env bash
# Long-running behaviour: SIGTERM drains queued batches and exits 0; SIGHUP reloads a good
# config and refuses a bad one; a slow cycle makes ticks be skipped and counted; retries.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
B=$COINPIPE_BIN

# SIGTERM while a slow sink has a backlog: every queued batch is still written, exit 0
{ conf_head; cat <<C
pipelines = ( { name = "p"; interval = "200ms";
  source = { plugin = "fake-source"; rows = 5; batches = 4; };
  sinks = ( { plugin = "test-sink"; out = "$TMP/slow.out"; delay = "150ms"; } ); } );
C
} > "$TMP/slow.conf"
$B -c "$TMP/slow.conf" > /dev/null 2> "$TMP/slow.err" &
pid=$!; PIDS+=($pid)
wait_for "[ -s $TMP/slow.out ]" 10 || fail "slow sink never wrote"
sleep 1
kill -TERM $pid
wait $pid; rc=$?
expect_eq "$rc" 0 "SIGTERM exits 0"
rin=$(grep -o 'rows_in=[0-9]*' "$TMP/slow.err" | cut -d= -f2)
rout=$(grep -o 'rows_out=[0-9]*' "$TMP/slow.err" | cut -d= -f2)
written=$(awk '{s += $2} END {print s}' "$TMP/slow.out")
expect_eq "$rout" "$rin" "every queued row was written before exit"
expect_eq "$written" "$rin" "the sink saw every row ($rin)"
expect_contains "$TMP/slow.err" "dropped=0" "nothing dropped"
expect_contains "$TMP/slow.err" "received SIGTERM" "SIGTERM logged"

# skipped ticks: a cycle that takes 1.2 s with a 500 ms interval
{ conf_head; cat <<C
pipelines = ( { name = "busy"; interval = "500ms";
  source = { plugin = "fake-source"; sleep = "1200ms"; };
  sinks = ( { plugin = "test-sink"; out = "$TMP/busy.out"; } ); } );
C
} > "$TMP/busy.conf"
$B -c "$TMP/busy.conf" > /dev/null 2> "$TMP/busy.err" &
pid=$!; PIDS+=($pid)
sleep 3
kill -TERM $pid; wait $pid
expect_contains "$TMP/busy.err" "tick skipped: the previous cycle is still running" "skipped tick logged"
skipped=$(grep -o 'skipped_ticks=[0-9]*' "$TMP/busy.err" | cut -d= -f2)
[ "${skipped:-0}" -ge 1 ] && pass "skipped ticks counted ($skipped)" || fail "no skipped ticks counted"

# transient sink failures are retried with backoff, then succeed
{ conf_head; cat <<C
pipelines = ( { name = "r"; interval = "1m";
  source = { plugin = "fake-source"; rows = 1; };
  sinks = ( { plugin = "test-sink"; out = "$TMP/retry.out"; mode = "retry"; fail_times = 3;
              retry_initial_interval = "50ms"; retry_max_interval = "200ms"; } ); } );
C
} > "$TMP/retry.conf"
$B --once -c "$TMP/retry.conf" > /dev/null 2> "$TMP/retry.err"; rc=$?
expect_eq "$rc" 0 "--once succeeds after retries"
expect_contains "$TMP/retry.err" "attempt 3, retrying in" "retry attempts logged"
expect_contains "$TMP/retry.err" "retries=3" "retries counted"
expect_eq "$(cat "$TMP/retry.out")" "ticker 1 1700000000000" "batch written once after retries"
# a pending (buffering) sink is flushed at exit
sed -e 's/mode = "retry"; fail_times = 3;/mode = "pending";/' -e "s#retry.out#pending.out#" "$TMP/retry.conf" > "$TMP/pending.conf"
$B --once -c "$TMP/pending.conf" > /dev/null 2>&1; rc=$?
expect_eq "$rc" 0 "--once with a buffering sink"
expect_eq "$(cat "$TMP/pending.out")" "ticker 1 1700000000000" "buffered batch flushed at exit"
# a permanently failing sink: --once fails and names the stream
sed -e 's/mode = "retry"; fail_times = 3;/mode = "reject";/' "$TMP/retry.conf" > "$TMP/reject.conf"
$B --once -c "$TMP/reject.conf" > /dev/null 2> "$TMP/reject.err"; rc=$?
expect_eq "$rc" 1 "--once fails when a sink rejects"
expect_contains "$TMP/reject.err" "batch of stream 'ticker' (1 rows) not written" "rejection names the stream"

# SIGHUP: a bad config is refused and the old one keeps running; a good one is swapped in
{ conf_head; cat <<C
pipelines = ( { name = "a"; interval = "300ms";
  source = { plugin = "fake-source"; rows = 1; };
  sinks = ( { plugin = "test-sink"; out = "$TMP/a.out"; } ); } );
C
} > "$TMP/live.conf"
$B -c "$TMP/live.conf" > /dev/null 2> "$TMP/live.err" &
pid=$!; PIDS+=($pid)
wait_for "[ -s $TMP/a.out ]" 10 || fail "pipeline a never wrote"
cp "$TMP/live.conf" "$TMP/live.good"
echo 'pipelines = ( { name = "a"; interval = "300ms"; source = { plugin = "fake-source"; rowz = 1; }; sinks = ( { plugin = "stdout"; } ); } );' > "$TMP/live.conf"
kill -HUP $pid
wait_for "grep -q 'reload refused' $TMP/live.err" 10 || fail "bad reload not refused"
expect_contains "$TMP/live.err" "unknown option 'rowz'" "refused reload says why"
n1=$(wc -l < "$TMP/a.out"); sleep 1; n2=$(wc -l < "$TMP/a.out")
[ "$n2" -gt "$n1" ] && pass "old config keeps running after a refused reload" || fail "old pipeline stopped"
{ conf_head; cat <<C
pipelines = ( { name = "a"; interval = "300ms";
  source = { plugin = "fake-source"; rows = 1; };
  sinks = ( { plugin = "test-sink"; out = "$TMP/a.out"; } ); },
  { name = "b"; interval = "300ms";
  source = { plugin = "fake-source"; rows = 2; };
  sinks = ( { plugin = "test-sink"; out = "$TMP/b.out"; } ); } );
C
} > "$TMP/live.conf"
kill -HUP $pid
wait_for "[ -s $TMP/b.out ]" 10 || fail "pipeline b never started after reload"
expect_contains "$TMP/live.err" "reload done: 2 pipelines running" "reload swapped in the new config"
kill -TERM $pid; wait $pid; rc=$?
expect_eq "$rc" 0 "exit 0 after reloads"
expect_contains "$TMP/b.out" "ticker 2" "new pipeline writes"
finish
