#!/usr/bin/env bash
# `coinpipe gaps` on a real SQLite file with known holes: the exact gap lines and exit codes, head
# and tail gaps with --from/--to, series of other pipelines left alone, a configured symbol with no
# candle yet, a pipeline without SQL sink; --fill against the mock exchange (merged ranges only, an
# outage reported as what remains, then everything filled and a clean second check).
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
B=$COINPIPE_BIN
export COINPIPE_HTTP_BACKOFF_MS=20

start_mock
sq() { python3 -c 'import sqlite3, sys; print(*sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone())' "$@"; }
sq_exec() { python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()' "$@"; }

F=1704067200000 M=60000 # 2024-01-01T00:00:00Z, one minute
mkconf() { # $1 = config name, $2 = database, $3 = symbols
    { conf_head; cat <<C
pipelines = (
  { name = "spot"; interval = "1m";
    source = { plugin = "binance-spot"; base_url = "$URL"; symbols = [$3]; streams = ["ohlcv"]; };
    sinks = ( { plugin = "test-sink"; out = "$TMP/$1.sink"; }, { plugin = "sqlite"; path = "$2"; } ); },
  { name = "plain"; interval = "1m";
    source = { plugin = "binance-spot"; base_url = "$URL"; symbols = ["BNBBTC"]; streams = ["ohlcv"]; };
    sinks = ( { plugin = "stdout"; } ); },
  { name = "fake"; interval = "1m"; source = { plugin = "fake-source"; };
    sinks = ( { plugin = "sqlite"; path = "$2"; } ); } );
C
    } > "$TMP/$1.conf"
    sed -i "s|state_dir = \"[^\"]*\"|state_dir = \"$TMP/$1.state\"|" "$TMP/$1.conf"
}
gaps() { # $1 = config; the rest are arguments; stdout, stderr and exit code to $TMP/out, err, rc
    local c=$1; shift
    $B gaps -c "$TMP/$c.conf" "$@" > "$TMP/out" 2> "$TMP/err"; echo $? > "$TMP/rc"
}
rc() { cat "$TMP/rc"; }

# 12 h of 1m candles for two symbols through the pipeline itself, then holes punched into them
mkconf base "$TMP/base.db" '"BNBBTC", "ETHBTC"'
$B backfill --pipeline spot --from 2024-01-01 --to 2024-01-01T12:00:00Z -c "$TMP/base.conf" > /dev/null 2>&1 \
    || fail "backfill of the test data"
sq_exec "$TMP/base.db" "DELETE FROM ohlcv WHERE symbol = 'BNB-BTC' AND open_time BETWEEN $((F + 5 * M)) AND $((F + 8 * M));
DELETE FROM ohlcv WHERE symbol = 'BNB-BTC' AND open_time >= $((F + 630 * M)) AND open_time < $((F + 690 * M));
DELETE FROM ohlcv WHERE symbol = 'ETH-BTC' AND open_time = $((F + 7 * M));
DELETE FROM ohlcv WHERE symbol = 'ETH-BTC' AND open_time >= $((F + 360 * M)) AND open_time < $((F + 390 * M));
-- series of other pipelines sharing the table, each with a hole of its own
INSERT INTO ohlcv (exchange, symbol, native_symbol, interval, open_time) VALUES
  ('coinbase', 'BTC-USD', 'BTC-USD', '1m', $F), ('coinbase', 'BTC-USD', 'BTC-USD', '1m', $((F + 10 * M))),
  ('binance-futures', 'BNB-BTC-PERP', 'BNBBTC', '1m', $F), ('binance-futures', 'BNB-BTC-PERP', 'BNBBTC', '1m', $((F + 5 * M))),
  ('binance', 'BNB-BTC', 'BNBBTC', '5m', $F), ('binance', 'BNB-BTC', 'BNBBTC', '5m', $((F + 15 * M)));"
expect_eq "$(sq "$TMP/base.db" "SELECT count(*) FROM ohlcv WHERE interval = '1m' AND exchange = 'binance'")" \
    $((2 * 720 - 4 - 60 - 1 - 30)) "test data: 1440 candles less 95 punched out"

# 1. inner gaps only; other exchanges, the futures series with the same native symbol and the 5m
#    series are not the pipeline's
gaps base --pipeline spot
cat > "$TMP/want" <<W
binance  BNB-BTC  1m  2024-01-01T00:05:00Z  2024-01-01T00:09:00Z  4 candles
binance  BNB-BTC  1m  2024-01-01T10:30:00Z  2024-01-01T11:30:00Z  60 candles
binance  ETH-BTC  1m  2024-01-01T00:07:00Z  2024-01-01T00:08:00Z  1 candle
binance  ETH-BTC  1m  2024-01-01T06:00:00Z  2024-01-01T06:30:00Z  30 candles
W
expect_eq "$(cat "$TMP/out")" "$(cat "$TMP/want")" "the four holes, one line each, end exclusive"
expect_eq "$(rc)" 1 "gaps found: exit 1"
expect_eq "$(cat "$TMP/err")" "coinpipe gaps: pipeline 'spot', sink 'sqlite': 2 series checked, 4 gaps, 95 missing candles" \
    "one summary line on stderr"

# 2. --from/--to: head and tail gaps too
gaps base --pipeline spot --from 2023-12-31T23:50:00Z --to 2024-01-01T12:10:00Z
expect_eq "$(rc)" 1 "head and tail: exit 1"
expect_eq "$(wc -l < "$TMP/out")" 8 "head and tail: two more lines per series"
expect_eq "$(head -1 "$TMP/out")" "binance  BNB-BTC  1m  2023-12-31T23:50:00Z  2024-01-01T00:00:00Z  10 candles" "head gap"
expect_eq "$(sed -n 4p "$TMP/out")" "binance  BNB-BTC  1m  2024-01-01T12:00:00Z  2024-01-01T12:10:00Z  10 candles" "tail gap"
expect_contains "$TMP/err" "2 series checked, 8 gaps, 135 missing candles" "head and tail counted"
# the range limits the inner gaps; the edges of a full range are no gaps
gaps base --pipeline spot --from 2024-01-01 --to 2024-01-01T01:00:00Z
expect_eq "$(awk '{ print $4 }' "$TMP/out" | tr '\n' ' ')" "2024-01-01T00:05:00Z 2024-01-01T00:07:00Z " "only the holes inside the range"
gaps base --pipeline spot --from 2024-01-01T01:00:00Z --to 2024-01-01T06:00:00Z
expect_eq "$(rc)" 0 "a range without holes: exit 0"
expect_eq "$(cat "$TMP/out")" "" "nothing on stdout"
expect_contains "$TMP/err" "2 series checked, 0 gaps, 0 missing candles" "the summary says so"
# a tail beyond now: only closed candles are expected
before=$(( $(date +%s) * 1000 / M * M ))
gaps base --pipeline spot --from 2024-01-01T11:00:00Z --to 2099-01-01
after=$(( $(date +%s) * 1000 / M * M ))
end=$(python3 -c 'import sys, datetime; print(int(datetime.datetime.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp() * 1000))' "$(tail -1 "$TMP/out" | awk '{ print $5 }')")
[ "$end" -ge "$before" ] && [ "$end" -le "$after" ] && pass "the tail ends with the last closed candle" \
    || fail "tail ends at $end, expected $before..$after"

# 3. a configured symbol with no candle stored: reported from --from (by its native name), noted
mkconf three "$TMP/base.db" '"BNBBTC", "ETHBTC", "BTCUSDT"'
gaps three --pipeline spot
expect_eq "$(wc -l < "$TMP/out")" 4 "without --from a series with no candle is only noted"
expect_contains "$TMP/err" "binance BTCUSDT 1m: no candle stored" "the note names it"
gaps three --pipeline spot --from 2024-01-01 --to 2024-01-01T01:00:00Z
expect_contains "$TMP/out" "binance  BTCUSDT  1m  2024-01-01T00:00:00Z  2024-01-01T01:00:00Z  60 candles" \
    "with --from/--to the whole range is missing"
expect_contains "$TMP/err" "3 series checked, 3 gaps, 65 missing candles" "three series checked"

# 4. errors: exit 2 with one line
gaps base --pipeline plain
expect_eq "$(rc)" 2 "no SQL sink: exit 2"
expect_eq "$(cat "$TMP/err")" "coinpipe gaps: pipeline 'plain' has no SQL sink to read candles from (no sink plugin with the stored_series and candle_gaps callbacks)" \
    "no SQL sink: one clear line"
gaps base --pipeline nope
expect_eq "$(rc)" 2 "unknown pipeline: exit 2"
expect_contains "$TMP/err" "no pipeline named 'nope'" "unknown pipeline named"
gaps base
expect_eq "$(rc)" 2 "no --pipeline: exit 2"
gaps base --pipeline spot --from 2024-02-01 --to 2024-01-01
expect_eq "$(rc)" 2 "--to before --from: exit 2"
$B gaps --pipeline spot -c "$TMP/missing.conf" > /dev/null 2>&1
expect_eq "$?" 2 "unreadable config: exit 2"
# a source that does not list its series: every series of the table is checked, --fill refused
gaps base --pipeline fake
expect_eq "$(rc)" 1 "fallback: exit 1"
expect_contains "$TMP/err" "source plugin fake-source does not list its candle series: checking every series" "fallback warned"
expect_eq "$(wc -l < "$TMP/out")" 7 "fallback: the three foreign holes too"
expect_contains "$TMP/out" "binance-futures  BNB-BTC-PERP  1m  2024-01-01T00:01:00Z  2024-01-01T00:05:00Z  4 candles" \
    "fallback: a foreign series' hole"
gaps base --pipeline fake --fill
expect_eq "$(rc)" 2 "--fill without a listing source: exit 2"
# pipelines that write no candles, beside the table of others: nothing to check, exit 0
{ conf_head; cat <<C
pipelines = (
  { name = "cg"; interval = "1m"; source = { plugin = "coingecko"; base_url = "$URL"; streams = ["market"]; };
    sinks = ( { plugin = "sqlite"; path = "$TMP/base.db"; } ); },
  { name = "tick"; interval = "1m";
    source = { plugin = "binance-spot"; base_url = "$URL"; symbols = ["BNBBTC"]; streams = ["ticker"]; };
    sinks = ( { plugin = "sqlite"; path = "$TMP/base.db"; } ); } );
C
} > "$TMP/nocandles.conf"
sed -i "s|state_dir = \"[^\"]*\"|state_dir = \"$TMP/nocandles.state\"|" "$TMP/nocandles.conf"
gaps nocandles --pipeline cg
expect_eq "$(rc)" 0 "a coingecko pipeline: exit 0"
expect_eq "$(cat "$TMP/err")" "coinpipe gaps: pipeline 'cg' writes no candles (no ohlcv stream): nothing to check" \
    "a coingecko pipeline: nothing to check"
expect_eq "$(wc -l < "$TMP/out")" 0 "a coingecko pipeline: no other pipeline's gaps"
gaps nocandles --pipeline tick
expect_eq "$(rc)" 0 "a ticker-only pipeline: exit 0"
expect_contains "$TMP/err" "nothing to check" "a ticker-only pipeline: nothing to check"

# 5. --fill with an exchange outage over the 06:00 hole: one backfill per merged range (the two
#    early holes of both symbols are one range), not the whole history; what the outage keeps
#    missing is reported, not retried
cp "$TMP/base.db" "$TMP/fill.db"
mkconf fill "$TMP/fill.db" '"BNBBTC", "ETHBTC"'
ctl /_mock/reset
ctl "/_mock/config?outage=$((F + 355 * M))-$((F + 395 * M))"
gaps fill --pipeline spot --fill
expect_eq "$(rc)" 1 "an outage leaves a gap: exit 1"
expect_eq "$(cat "$TMP/out")" "binance  ETH-BTC  1m  2024-01-01T06:00:00Z  2024-01-01T06:30:00Z  30 candles" \
    "stdout lists what is left"
expect_contains "$TMP/err" "4 gaps, 95 missing candles found" "what was found is summed up"
expect_contains "$TMP/err" "backfilling 3 time ranges" "three merged ranges"
expect_contains "$TMP/err" "1 gap, 30 missing candles left after backfilling: the exchange has no candles there" \
    "the outage is said, not looped over"
expect_eq "$(klines | cut -d' ' -f1 | sort | tr '\n' ' ')" "$((F + 5 * M)) $((F + 5 * M)) $((F + 360 * M)) $((F + 360 * M)) $((F + 630 * M)) $((F + 630 * M)) " \
    "one klines request per range and symbol, starting at the holes"
expect_eq "$(awk '{ n += $2 } END { print n }' "$TMP/fill.sink")" $((2 * (4 + 60))) \
    "the backfilled candles went to every sink of the pipeline"
gaps fill --pipeline spot
expect_eq "$(rc)" 1 "a second check: still the outage"
expect_eq "$(wc -l < "$TMP/out")" 1 "a second check: one line"
expect_eq "$(sq "$TMP/fill.db" "SELECT count(*) FROM ohlcv WHERE exchange <> 'binance' OR interval <> '1m'")" 6 \
    "other pipelines' series untouched"

# 6. the outage is over; a new symbol is added: --fill completes everything, a second check is clean
ctl /_mock/reset
mkconf fill3 "$TMP/fill.db" '"BNBBTC", "ETHBTC", "BTCUSDT"'
gaps fill3 --pipeline spot --from 2024-01-01 --to 2024-01-01T12:00:00Z --fill
expect_eq "$(rc)" 0 "everything filled: exit 0"
expect_eq "$(cat "$TMP/out")" "" "nothing left"
expect_contains "$TMP/err" "0 gaps, 0 missing candles left after backfilling" "the summary says so"
gaps fill3 --pipeline spot --from 2024-01-01 --to 2024-01-01T12:00:00Z
expect_eq "$(rc)" 0 "second check: exit 0"
expect_eq "$(sq "$TMP/fill.db" "SELECT count(*), count(DISTINCT symbol) FROM ohlcv WHERE exchange = 'binance' AND interval = '1m'")" \
    "2160 3" "720 candles for each of the three symbols, BTCUSDT stored as BTC-USDT"
gaps fill --pipeline spot --fill
expect_eq "$(rc)" 0 "--fill with nothing to fill: exit 0"
expect_contains "$TMP/err" "nothing to fill" "nothing to fill said"

# 7. Coinbase (the product id is both symbol and native symbol): a hole found and filled
{ conf_head; cat <<C
pipelines = ( { name = "cb"; interval = "1m";
  source = { plugin = "coinbase"; base_url = "$URL"; symbols = ["btc-usd"]; streams = ["ohlcv"]; };
  sinks = ( { plugin = "sqlite"; path = "$TMP/cb.db"; } ); } );
C
} > "$TMP/cb.conf"
$B backfill --pipeline cb --from 2024-01-01 --to 2024-01-01T02:00:00Z -c "$TMP/cb.conf" > /dev/null 2>&1 \
    || fail "coinbase backfill of the test data"
sq_exec "$TMP/cb.db" "DELETE FROM ohlcv WHERE open_time >= $((F + 10 * M)) AND open_time < $((F + 20 * M))"
gaps cb --pipeline cb
expect_eq "$(cat "$TMP/out")" "coinbase  BTC-USD  1m  2024-01-01T00:10:00Z  2024-01-01T00:20:00Z  10 candles" "coinbase: the hole"
gaps cb --pipeline cb --fill
expect_eq "$(rc)" 0 "coinbase: filled"
expect_eq "$(sq "$TMP/cb.db" "SELECT count(*) FROM ohlcv")" 120 "coinbase: 120 candles again"

kill "$MOCK" 2>/dev/null; wait "$MOCK" 2>/dev/null
finish
