#!/usr/bin/env bash
# The dashboard's history from PostgreSQL: /api/v1/candles returns exactly the candles stored
# (TIMESTAMPTZ open times as UTC ms, NUMERIC prices as their text), a window and a limit, recent
# trades through /api/v1/rows, and a restarted daemon serves the stored latest rows before its
# first cycle. Tables of its own (a prefix), so it runs alongside the other tests on the server.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
. "$COINPIPE_SRC/tests/services/free-port.sh"
: "${COINPIPE_TEST_PG:?run under tests/services/run.sh (make test)}"
command -v curl > /dev/null || { echo "SKIP: curl is not installed"; exit 77; }
prefix="dashit$$_"
psqlq() { psql "$COINPIPE_TEST_PG" -Atqc "$1"; }
cleanup() {
    for t in ohlcv ticker book_top trade spread; do psqlq "DROP TABLE IF EXISTS ${prefix}$t" > /dev/null 2>&1; done
    cleanup_lib
}
trap cleanup EXIT
start_mock
port=$(free_port)
api="http://127.0.0.1:$port"
conf() { # conf RUN_AT_START INTERVAL
    cat <<CONF
global = { state_dir = "$TMP/state"; log_format = "logfmt"; http_listen = "127.0.0.1:$port"; shutdown_timeout = "10s"; };
pipelines = (
 { name = "pgspot"; interval = "$2"; run_at_start = $1;
   source = { plugin = "binance-spot"; base_url = "$URL"; symbols = ["BTCUSDT"];
              streams = ["ticker", "ohlcv", "trade"]; kline_interval = "1h"; };
   sinks = ( { plugin = "postgresql"; conninfo = "$COINPIPE_TEST_PG"; table_prefix = "$prefix"; } ); }
);
CONF
}
conf true 1s > "$TMP/c.conf"
"$COINPIPE_BIN" -c "$TMP/c.conf" > /dev/null 2> "$TMP/err" &
pid=$!
PIDS+=("$pid")
wait_port "$port" 20 || { fail "no listener"; cat "$TMP/err" >&2; finish; exit 1; }
wait_for "[ \"\$(psqlq 'SELECT (SELECT count(*) FROM ${prefix}ticker) * (SELECT count(*) FROM ${prefix}trade) * (SELECT count(*) FROM ${prefix}ohlcv)' 2>/dev/null)\" -ge 1 ] 2>/dev/null" 20 \
    && pass "rows stored in PostgreSQL" || fail "nothing stored"
kill -TERM "$pid"
wait "$pid"

# with no cycle running, compare what the API reads back with what is stored
conf false 1d > "$TMP/c.conf"
"$COINPIPE_BIN" -c "$TMP/c.conf" > /dev/null 2> "$TMP/err" &
pid=$!
PIDS+=("$pid")
wait_port "$port" 20
curl -s "$api/api/v1/candles?exchange=binance&symbol=BTC-USDT&interval=1h" > "$TMP/candles.json"
psqlq "SELECT (extract(epoch FROM open_time) * 1000)::int8 || ' ' || close::text || ' ' || volume::text
       FROM ${prefix}ohlcv WHERE exchange = 'binance' AND symbol = 'BTC-USDT' AND interval = '1h' ORDER BY open_time" > "$TMP/stored"
python3 -c '
import json, sys
for c in json.load(open(sys.argv[1])):
    print(c["open_time"], c["close"], c["volume"])' "$TMP/candles.json" > "$TMP/got" 2>&1
python3 - "$TMP/candles.json" > "$TMP/got_text" <<'PY'
import re, sys
for m in re.finditer(r'"open_time":(\d+),.*?"close":([-0-9.eE+]+),"volume":([-0-9.eE+]+)', open(sys.argv[1]).read()):
    print(m.group(1), m.group(2), m.group(3))
PY
[ -s "$TMP/stored" ] && cmp -s "$TMP/stored" "$TMP/got_text" \
    && pass "/api/v1/candles returns exactly the stored candles, decimals as stored ($(wc -l < "$TMP/stored"))" \
    || { fail "candles differ"; diff "$TMP/stored" "$TMP/got_text" | head >&2; }
set -- $(sed -n '1p;3p' "$TMP/stored" | cut -d' ' -f1 | tr '\n' ' ')
expect_eq "$(curl -s "$api/api/v1/candles?exchange=binance&symbol=BTC-USDT&interval=1h&from=$1&to=$2" | grep -c open_time)" 2 \
    "from/to select [from, to)"
expect_eq "$(curl -s "$api/api/v1/candles?exchange=binance&symbol=BTC-USDT&interval=1h&limit=2" | grep -c open_time)" 2 \
    "limit"
n=$(psqlq "SELECT count(*) FROM ${prefix}trade WHERE symbol = 'BTC-USDT'")
expect_eq "$(curl -s "$api/api/v1/rows?stream=trade&exchange=binance&symbol=BTC-USDT&limit=50" | grep -c trade_id)" \
    "$([ "$n" -gt 50 ] && echo 50 || echo "$n")" "/api/v1/rows reads the stored trades"
curl -s "$api/api/v1/latest?stream=ticker" > "$TMP/latest"
last=$(psqlq "SELECT last::text FROM ${prefix}ticker WHERE symbol = 'BTC-USDT' ORDER BY ts DESC LIMIT 1")
expect_contains "$TMP/latest" "\"last\":$last," "after a restart the latest ticker comes from PostgreSQL"
psqlq "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%${prefix}%' AND state = 'idle in transaction'" > "$TMP/idle"
expect_eq "$(cat "$TMP/idle")" 0 "no read transaction is left open"
kill -TERM "$pid"
wait "$pid"
finish
