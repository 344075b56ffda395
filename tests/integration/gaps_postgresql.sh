#!/usr/bin/env bash
# `coinpipe gaps` on PostgreSQL: holes punched into candles the pipeline wrote, the exact gap lines
# and exit codes (TIMESTAMPTZ open times), head and tail with --from/--to, a foreign series left
# alone, --fill against the mock exchange and a clean second check. Tables of its own (a prefix),
# so it runs alongside the other tests using the server.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
: "${COINPIPE_TEST_PG:?run under tests/services/run.sh (make test)}"
B=$COINPIPE_BIN
export COINPIPE_HTTP_BACKOFF_MS=20
prefix="gapsit$$_"
psqlq() { psql "$COINPIPE_TEST_PG" -Atqc "$1"; }
cleanup() { psqlq "DROP TABLE IF EXISTS ${prefix}ohlcv" > /dev/null 2>&1; cleanup_lib; }
trap cleanup EXIT

start_mock

{ conf_head; cat <<C
pipelines = ( { name = "pgspot"; interval = "1m";
  source = { plugin = "binance-spot"; base_url = "$URL"; symbols = ["BNBBTC", "ETHBTC"]; streams = ["ohlcv"]; };
  sinks = ( { plugin = "postgresql"; conninfo = "$COINPIPE_TEST_PG"; table_prefix = "$prefix"; } ); } );
C
} > "$TMP/pg.conf"
gaps() { $B gaps --pipeline pgspot -c "$TMP/pg.conf" "$@" > "$TMP/out" 2> "$TMP/err"; echo $? > "$TMP/rc"; }

# no table yet: nothing stored, nothing missing
gaps
expect_eq "$(cat "$TMP/rc")" 0 "no ohlcv table: exit 0"
expect_contains "$TMP/err" "binance BNBBTC 1m: no candle stored" "no ohlcv table: noted"

$B backfill --pipeline pgspot --from 2024-01-01 --to 2024-01-01T02:00:00Z -c "$TMP/pg.conf" > /dev/null 2>&1 \
    || fail "backfill of the test data"
t="'2024-01-01'::timestamptz"
psqlq "DELETE FROM ${prefix}ohlcv WHERE symbol = 'BNB-BTC' AND open_time >= $t + interval '5 min' AND open_time < $t + interval '9 min';
DELETE FROM ${prefix}ohlcv WHERE symbol = 'ETH-BTC' AND open_time = $t + interval '90 min';
INSERT INTO ${prefix}ohlcv (exchange, symbol, native_symbol, interval, open_time) VALUES
  ('coinbase', 'BTC-USD', 'BTC-USD', '1m', $t), ('coinbase', 'BTC-USD', 'BTC-USD', '1m', $t + interval '10 min');"
expect_eq "$(psqlq "SELECT count(*) FROM ${prefix}ohlcv WHERE exchange = 'binance'")" 235 "test data: 240 candles less 5"

gaps
cat > "$TMP/want" <<W
binance  BNB-BTC  1m  2024-01-01T00:05:00Z  2024-01-01T00:09:00Z  4 candles
binance  ETH-BTC  1m  2024-01-01T01:30:00Z  2024-01-01T01:31:00Z  1 candle
W
expect_eq "$(cat "$TMP/out")" "$(cat "$TMP/want")" "the holes, one line each (the coinbase series is not the pipeline's)"
expect_eq "$(cat "$TMP/rc")" 1 "gaps: exit 1"
expect_eq "$(cat "$TMP/err")" "coinpipe gaps: pipeline 'pgspot', sink 'postgresql': 2 series checked, 2 gaps, 5 missing candles" \
    "summary"
gaps --from 2023-12-31T23:58:00Z --to 2024-01-01T02:03:00Z
expect_eq "$(head -1 "$TMP/out")" "binance  BNB-BTC  1m  2023-12-31T23:58:00Z  2024-01-01T00:00:00Z  2 candles" "head gap"
expect_eq "$(sed -n 3p "$TMP/out")" "binance  BNB-BTC  1m  2024-01-01T02:00:00Z  2024-01-01T02:03:00Z  3 candles" "tail gap"
expect_contains "$TMP/err" "2 series checked, 6 gaps, 15 missing candles" "head and tail counted"
gaps --from 2024-01-01T00:10:00Z --to 2024-01-01T01:30:00Z
expect_eq "$(cat "$TMP/rc")" 0 "a range without holes (its end exclusive): exit 0"

gaps --fill
expect_eq "$(cat "$TMP/rc")" 0 "--fill: exit 0"
expect_eq "$(cat "$TMP/out")" "" "--fill: nothing left"
expect_contains "$TMP/err" "backfilling 1 time range" "the holes of both symbols in one range"
gaps
expect_eq "$(cat "$TMP/rc")" 0 "second check: exit 0"
expect_eq "$(psqlq "SELECT count(*), count(DISTINCT open_time) FROM ${prefix}ohlcv WHERE exchange = 'binance'")" "240|120" \
    "every candle back, none twice"
expect_eq "$(psqlq "SELECT count(*) FROM ${prefix}ohlcv WHERE exchange = 'coinbase'")" 2 "the foreign series untouched"

kill "$MOCK" 2>/dev/null; wait "$MOCK" 2>/dev/null
finish
