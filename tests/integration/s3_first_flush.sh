#!/usr/bin/env bash
# s3-csv with its default flush_interval (5m): a new daemon's first rows are uploaded at once,
# so the first objects appear within seconds and the daemon does not look broken; the rows that
# follow are buffered for flush_interval (and uploaded at shutdown).
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
: "${COINPIPE_TEST_S3_ENDPOINT:?run under tests/services/run.sh (make test)}"
aws=$(command -v /usr/bin/aws || command -v aws)
prefix="first-$$-$RANDOM"
conf_head > "$TMP/c.conf"
cat >> "$TMP/c.conf" <<CONF
pipelines = ( { name = "p"; interval = "2s";
  source = { plugin = "fake-source"; rows = 3; batches = 1; };
  sinks = ( { plugin = "s3-csv"; bucket = "$COINPIPE_TEST_S3_BUCKET"; endpoint = "$COINPIPE_TEST_S3_ENDPOINT";
              region = "us-east-1"; prefix = "$prefix"; } ); } );
CONF
count() { "$aws" --endpoint-url "$COINPIPE_TEST_S3_ENDPOINT" s3 ls --recursive "s3://$COINPIPE_TEST_S3_BUCKET/$prefix/" | grep -c '\.csv$'; }
"$COINPIPE_BIN" -c "$TMP/c.conf" > /dev/null 2> "$TMP/err" &
pid=$!; PIDS+=($pid)
t0=$(date +%s)
while [ "$(count)" -lt 1 ] && [ $(($(date +%s) - t0)) -lt 15 ]; do sleep 0.5; done
if [ "$(count)" -ge 1 ]; then pass "the first object is uploaded within seconds"; else fail "no object after 15 s"; fi
sleep 5 # two or three more cycles: buffered for flush_interval
expect_eq "$(count)" 1 "later rows wait for flush_interval"
kill -TERM $pid; wait $pid
expect_eq "$?" 0 "SIGTERM exits 0"
[ "$(count)" -ge 2 ] && pass "the buffered rows are uploaded at shutdown" || { fail "nothing uploaded at shutdown"; cat "$TMP/err" >&2; "$aws" --endpoint-url "$COINPIPE_TEST_S3_ENDPOINT" s3 ls --recursive "s3://$COINPIPE_TEST_S3_BUCKET/$prefix/" >&2; }
finish
