#!/usr/bin/env bash
# S3 durability: a sink with a wrong key (HTTP 403) fills the dead-letter directory while
# its SQLite sibling keeps every row; an S3 server that stops answering (SIGSTOP) and comes
# back (SIGCONT) loses nothing: the spool keeps the batches until the upload succeeds.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
: "${COINPIPE_TEST_S3_ENDPOINT:?run under tests/services/run.sh (make test)}"
export COINPIPE_PLUGIN_PATH="$COINPIPE_BUILD_PLUGIN_DIR"
prefix="dur-$$-$RANDOM"
s3conf() { # name extra-sink-options source-options
    { conf_head; cat <<C
pipelines = ( { name = "$1"; interval = "1m";
  source = { plugin = "fake-source"; $3 };
  sinks = ( { plugin = "s3-csv"; bucket = "$COINPIPE_TEST_S3_BUCKET"; endpoint = "$COINPIPE_TEST_S3_ENDPOINT";
              region = "us-east-1"; prefix = "$prefix/$1"; timeout = "2s";
              retry_initial_interval = "200ms"; retry_max_interval = "1s"; $2 },
            { plugin = "sqlite"; path = "$TMP/$1.db"; } ); } );
C
    } > "$TMP/$1.conf"
}
# 1. 403: dead letters for the S3 sink, every row for its sibling
s3conf forbidden 'access_key_id = "NOT-A-KEY"; secret_access_key = "x";' 'rows = 5; batches = 3;'
"$COINPIPE_BIN" --once -c "$TMP/forbidden.conf" > /dev/null 2> "$TMP/forbidden.err"; rc=$?
expect_eq "$rc" 1 "--once reports the failing S3 sink"
expect_contains "$TMP/forbidden.err" "$COINPIPE_TEST_S3_BUCKET" "the 403 error names the bucket"
expect_eq "$(ls "$TMP/state/dead/forbidden/s3-csv/" 2>/dev/null | wc -l)" 3 "three batches dead-lettered"
expect_eq "$(sqlite3 "$TMP/forbidden.db" 'select count(*) from ticker')" 15 "the SQLite sibling has all 15 rows"

# 2. the S3 server stops answering mid-run, then recovers
s3conf paused 'flush_interval = "1s";' 'rows = 4; batches = 1;'
sed -i 's/interval = "1m"/interval = "500ms"/' "$TMP/paused.conf"
"$COINPIPE_BIN" -c "$TMP/paused.conf" > /dev/null 2> "$TMP/paused.err" &
pid=$!; PIDS+=($pid)
sleep 2
kill -STOP "$COINPIPE_TEST_S3_PID"
sleep 5
kill -CONT "$COINPIPE_TEST_S3_PID"
sleep 4
kill -TERM $pid; wait $pid; rc=$?
expect_eq "$rc" 0 "SIGTERM after the S3 server came back exits 0"
expect_contains "$TMP/paused.err" "retrying in" "uploads were retried while the server was stopped"
rows_in=$(grep 's3-csv stats' "$TMP/paused.err" | grep -o 'rows_in=[0-9]*' | cut -d= -f2)
rows_out=$(grep 's3-csv stats' "$TMP/paused.err" | grep -o 'rows_out=[0-9]*' | cut -d= -f2)
[ -n "$rows_in" ] && [ "${rows_in:-0}" -gt 0 ] && pass "rows emitted: $rows_in" || fail "no rows counted"
expect_eq "$rows_out" "$rows_in" "every row uploaded after recovery"
aws=$(command -v /usr/bin/aws || command -v aws)
"$aws" --endpoint-url "$COINPIPE_TEST_S3_ENDPOINT" s3 cp --recursive "s3://$COINPIPE_TEST_S3_BUCKET/$prefix/paused/" "$TMP/dl" > /dev/null 2>&1
in_objects=$(find "$TMP/dl" -name '*.csv' -exec cat {} + 2>/dev/null | grep -c '^fake,')
distinct=$(find "$TMP/dl" -name '*.csv' -exec cat {} + 2>/dev/null | grep '^fake,' | cut -d, -f4 | sort -u | wc -l)
expect_eq "$distinct" "$rows_in" "the bucket holds every row's key"
[ "$in_objects" -ge "$distinct" ] && pass "objects read back with the aws client ($in_objects lines)" || fail "objects unreadable"
finish
