#!/usr/bin/env bash
# kraken into SQLite through the real daemon: one --once cycle of every stream against the mock
# exchange (recorded Ticker and Depth payloads, the generated OHLC and Trades), the rows and their
# exact decimal text in the database, the trades cursor carried into the next run (no trade
# twice), and `coinpipe backfill` of Kraken's candles; a pair Kraken does not list is named.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
B=$COINPIPE_BIN
export COINPIPE_HTTP_BACKOFF_MS=20
start_mock
q() { python3 -c 'import sqlite3, sys; print(*(" ".join(map(str, r)) for r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2])), sep="\n")' "$TMP/k.db" "$1"; }
cat > "$TMP/k.conf" <<C
global = { state_dir = "$TMP/state"; log_format = "logfmt"; plugin_path = ["$COINPIPE_TEST_PLUGIN_DIR"]; };
pipelines = ( { name = "kraken"; interval = "1m";
  source = { plugin = "kraken"; base_url = "$URL"; symbols = ["BTC-USD", "XETHZUSD", "NOPE-USD"];
             streams = ["ticker", "book_top", "book_level", "trade", "ohlcv"]; depth = 3; trade_limit = 20;
             warmup = 10; };
  sinks = ( { plugin = "sqlite"; path = "$TMP/k.db"; decimal_as = "text"; } ); } );
C
$B --check -c "$TMP/k.conf" > "$TMP/check.out" 2>&1 && pass "--check accepts the kraken pipeline" || { fail "--check"; cat "$TMP/check.out" >&2; }
$B --once -c "$TMP/k.conf" > /dev/null 2> "$TMP/once.err"; rc=$?
[ "$rc" -ne 0 ] && pass "an unknown pair fails the cycle (exit $rc)" || fail "--once exited 0 with an unknown pair"
expect_contains "$TMP/once.err" 'unknown pair \"NOPE-USD\"' "the unknown pair is named"
expect_eq "$(q "select symbol, native_symbol, last, bid, ask_size, open, vwap, base_volume, trade_count from ticker order by symbol")" \
"BTC-USD XXBTZUSD 30303.20000 30300.00000 1.000 30502.80000 30689.13205 4412.73601799 38907
ETH-USD XETHZUSD 30303.20000 30300.00000 1.000 30502.80000 30689.13205 4412.73601799 38907" "ticker rows, decimals verbatim"
expect_eq "$(q "select symbol, bid, bid_size, ask, ask_size, levels from book_top where symbol = 'BTC-USD'")" \
    "BTC-USD 30297.00000 0.115 30384.10000 2.059 3" "book_top verbatim"
expect_eq "$(q "select count(*), max(level) from book_level")" "12 2" "book_level: 3 levels a side, 2 pairs"
expect_eq "$(q "select count(*), count(distinct symbol || trade_id) from trade")" "40 40" "trade: the latest 20 per pair"
expect_eq "$(q "select count(*) from ohlcv where exchange = 'kraken' and interval = '1m'")" 20 "ohlcv: 10 closed candles per pair"
expect_eq "$(q "select count(*) from ohlcv where close_time >= $(date +%s)000")" 0 "no open candle stored"
first=$(q "select max(cast(trade_id as integer)) from trade where symbol = 'BTC-USD'")

# a second run after the trades moved on: from the stored cursor, nothing twice
sleep 8
$B --once -c "$TMP/k.conf" > /dev/null 2> "$TMP/once2.err"
expect_eq "$(q "select count(*) = count(distinct symbol || trade_id) from trade")" 1 "no trade stored twice"
now_max=$(q "select max(cast(trade_id as integer)) from trade where symbol = 'BTC-USD'")
[ "$now_max" -gt "$first" ] && pass "new trades after the cursor ($first → $now_max)" || fail "no new trades ($first, $now_max)"
expect_eq "$(q "select count(*) from trade where symbol = 'BTC-USD'")" "$((20 + now_max - first))" "contiguous from the cursor"
python3 - "$URL" > "$TMP/since" <<'P'
import json, sys, urllib.request
reqs = json.load(urllib.request.urlopen(sys.argv[1] + "/_mock/requests"))["requests"]
print(sum(1 for r in reqs if r["path"] == "/0/public/Trades" and "since=" in r["query"]))
P
[ "$(cat "$TMP/since")" -ge 2 ] && pass "the second run asked Trades with since" || fail "no since in Trades requests"

# backfill: the last two hours of 5m candles
sed -i 's/warmup = 10;/warmup = 10; kline_interval = "5m";/; s/"NOPE-USD"//; s/, ]/]/' "$TMP/k.conf"
sed -i 's/\["BTC-USD", "XETHZUSD", \]/["BTC-USD", "XETHZUSD"]/' "$TMP/k.conf"
to=$(date -u +%Y-%m-%dT%H:00:00Z)
from=$(date -u -d "$to - 2 hours" +%Y-%m-%dT%H:%M:%SZ)
$B backfill --pipeline kraken --from "$from" --to "$to" -c "$TMP/k.conf" > /dev/null 2> "$TMP/bf.err"; rc=$?
expect_eq "$rc" 0 "backfill exits 0"
expect_eq "$(q "select count(*), count(distinct open_time) from ohlcv where interval = '5m'")" "48 24" "24 five-minute candles per pair"
finish
