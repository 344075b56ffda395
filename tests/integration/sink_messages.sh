#!/usr/bin/env bash
# Sink log lines that say what happens: a batch dead-lettered after retry_max_attempts does not
# claim it "will retry", and a failing flush names the batches it holds instead of "stream '-'
# (0 rows)".
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
conf() { # $1 file, $2 sink options
    cat > "$1" <<CONF
global = { state_dir = "$TMP/state"; log_format = "logfmt"; plugin_path = ["$COINPIPE_TEST_PLUGIN_DIR"]; shutdown_timeout = "3s"; };
pipelines = ( { name = "p"; interval = "1m"; source = { plugin = "fake-source"; rows = 2; batches = 2; };
  sinks = ( { plugin = "test-sink"; $2 retry_initial_interval = "10ms"; retry_max_interval = "20ms"; } ); } );
CONF
}
conf "$TMP/a.conf" "out = \"$TMP/a.out\"; mode = \"retry\"; fail_times = 100; retry_max_attempts = 3;"
"$COINPIPE_BIN" --once -c "$TMP/a.conf" > /dev/null 2> "$TMP/a.err"
expect_eq "$?" 1 "--once reports the dead-lettered batches"
expect_contains "$TMP/a.err" "batch of stream 'ticker' (2 rows) not written: retry_max_attempts reached (after 3 attempts; the last one failed transiently: the sink asked to retry); saved to" \
    "the dead-letter line says how it ended"
expect_not_contains "$TMP/a.err" "reached (transient failure, will retry)" "no 'will retry' for a batch given up"
mkdir "$TMP/dir.out" # a directory: the pending sink's flush cannot append to it
conf "$TMP/b.conf" "out = \"$TMP/dir.out\"; mode = \"pending\"; retry_max_attempts = 2;"
"$COINPIPE_BIN" --once -c "$TMP/b.conf" > /dev/null 2> "$TMP/b.err"
expect_contains "$TMP/b.err" "flush failed (transient failure, will retry) for the 2 batches buffered since the last confirmed write; attempt 1" \
    "a failed flush names the batches it holds"
expect_not_contains "$TMP/b.err" "stream '-'" "no stream '-'"
finish
