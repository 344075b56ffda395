#!/usr/bin/env bash
# Re-running the same `coinpipe backfill` into S3 replaces its objects instead of adding a second
# object per day with the same candles (Athena would count them twice): the object names follow
# from the rows' keys, not from received_at.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
: "${COINPIPE_TEST_S3_ENDPOINT:?run under tests/services/run.sh (make test)}"
aws=$(command -v /usr/bin/aws || command -v aws)
start_mock
prefix="rerun-$$-$RANDOM"
conf_head > "$TMP/c.conf"
cat >> "$TMP/c.conf" <<CONF
pipelines = ( { name = "klines"; interval = "1m";
  source = { plugin = "binance-spot"; base_url = "$URL"; symbols = ["BNBBTC"]; streams = ["ohlcv"]; };
  sinks = ( { plugin = "s3-csv"; bucket = "$COINPIPE_TEST_S3_BUCKET"; endpoint = "$COINPIPE_TEST_S3_ENDPOINT";
              region = "us-east-1"; prefix = "$prefix"; } ); } );
CONF
keys() { "$aws" --endpoint-url "$COINPIPE_TEST_S3_ENDPOINT" s3 ls --recursive "s3://$COINPIPE_TEST_S3_BUCKET/$prefix/" | awk '{ print $4 }' | sort; }
"$COINPIPE_BIN" backfill --pipeline klines --from 2024-01-01 --to 2024-01-03 -c "$TMP/c.conf" > /dev/null 2> "$TMP/1.err"
expect_eq "$?" 0 "the first backfill exits 0"
keys > "$TMP/keys1"
expect_eq "$(grep -c 'ohlcv/year=2024/month=01/day=01/' "$TMP/keys1")" 1 "one object for 2024-01-01"
expect_eq "$(grep -c 'ohlcv/year=2024/month=01/day=02/' "$TMP/keys1")" 1 "one object for 2024-01-02"
sleep 1 # another received_at
"$COINPIPE_BIN" backfill --pipeline klines --from 2024-01-01 --to 2024-01-03 -c "$TMP/c.conf" > /dev/null 2> "$TMP/2.err"
expect_eq "$?" 0 "the same backfill again exits 0"
keys > "$TMP/keys2"
expect_eq "$(cat "$TMP/keys2")" "$(cat "$TMP/keys1")" "the re-run wrote the same object names (replaced, nothing added)"
"$aws" --endpoint-url "$COINPIPE_TEST_S3_ENDPOINT" s3 cp --recursive "s3://$COINPIPE_TEST_S3_BUCKET/$prefix/" "$TMP/dl" > /dev/null 2>&1
expect_eq "$(find "$TMP/dl" -name '*.csv' -exec cat {} + | grep -c '^binance,')" 2880 "2880 candles in the bucket, each once"
finish
