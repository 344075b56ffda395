#!/usr/bin/env bash
# binance-futures (USD-M), mode = "stream", against the local exchange of tests/ws_server/server.py
# in its USD-M dialect (--futures): aggregate trades (ids 41..45 never sent on the stream, repaired
# from /fapi/v1/aggTrades), book tickers, closed klines, 24-hour tickers, mark prices as funding
# rows, a forced order as a liquidation row, and a local order book whose update events chain by
# pu, with one event left out: every row in SQLite as served, and the last book equals the
# server's.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/streaming.sh"
B=$COINPIPE_BIN
D=$TMP/fut.db

levels() {
    sq "$D" "SELECT group_concat(price || ':' || size, ' ') FROM (SELECT price, size FROM book_level
        WHERE side = '$1' AND ts = (SELECT max(ts) FROM book_level) ORDER BY level)"
}

serve futures --futures
collect fut '"trade", "book_top", "ohlcv", "ticker", "book_level", "funding", "liquidation"' "" \
    'depth = 10; book_interval = "200ms";' binance-futures
wait_for "[ \"\$(status futures phase_done)\" = 1 ]" 30 || fail "futures: the server's frames did not end"
wait_for "ids_ok $D 60" 10 || fail "futures: aggregate trades 1..60 did not all arrive"
sleep 1.5 # more than a book_interval after the last update
stop; expect_eq "$(cat "$TMP/rc")" 0 "futures: coinpipe stops cleanly"

expect_eq "$(sq "$D" "SELECT count(*), count(DISTINCT trade_id), min(exchange), min(symbol) FROM trade")" \
    "60 60 binance-futures BTC-USDT-PERP" "trade: every aggregate trade id once, as binance-futures BTC-USDT-PERP"
expect_contains "$TMP/fut.err" "gap: BTCUSDT trade ids 41..45 skipped by the stream" "trade: the id gap is logged"
expect_contains "$TMP/fut.err" "repair: BTCUSDT trade ids 41..45 fetched over REST (5 rows" "trade: the gap is repaired"
expect_eq "$(status futures "[r for r in rest if 'aggTrades' in r]")" "['/fapi/v1/aggTrades?symbol=BTCUSDT&fromId=41&limit=1000']" \
    "trade: the repair asks /fapi/v1/aggTrades from the first missing id"
expect_eq "$(sq "$D" "SELECT price || ' ' || size || ' ' || side || ' ' || ts FROM trade WHERE trade_id = '43'")" \
    "42000.43 0.044 buy 1704067243000" "trade: a repaired aggregate trade has the exchange's values"
expect_eq "$(sq "$D" "SELECT price || ' ' || side FROM trade WHERE trade_id = '30'")" "42000.30 sell" \
    "trade: a streamed aggregate trade has the exchange's values"

expect_eq "$(sq "$D" "SELECT count(*) FROM book_top")" 6 "book_top: one row per book ticker"
expect_eq "$(sq "$D" "SELECT sequence || ' ' || ts || ' ' || bid || ' ' || bid_size || ' ' || ask || ' ' || ask_size FROM book_top ORDER BY ts DESC LIMIT 1")" \
    "5060 1704067260007 42060.10 3.5 42060.20 4.5" "book_top: the last one as served, ts = its event time"

expect_eq "$(sq "$D" "SELECT count(*) FROM funding")" 6 "funding: one row per mark price update"
expect_eq "$(sq "$D" "SELECT ts || ' ' || mark_price || ' ' || index_price || ' ' || estimated_settle_price || ' ' ||
    funding_rate || ' ' || next_funding_time || ' ' || coalesce(interest_rate, 'NULL') FROM funding ORDER BY ts DESC LIMIT 1")" \
    "1704067260000 42000.60 41999.50 42001.00 0.00010000 1704096000000 NULL" "funding: the last mark price update as served"

expect_eq "$(sq "$D" "SELECT group_concat(open_time, ' ') FROM (SELECT open_time FROM ohlcv ORDER BY open_time)")" \
    "$(status futures "' '.join(str(c) for c in candles)")" "ohlcv: every closed candle"

expect_eq "$(sq "$D" "SELECT ts || ' ' || side || ' ' || price || ' ' || avg_price || ' ' || size || ' ' || filled_size || ' ' ||
    last_filled_size || ' ' || order_type || ' ' || time_in_force || ' ' || status || ' ' || symbol FROM liquidation")" \
    "1704067230000 sell 41910.10 41912.30 0.014 0.014 0.014 LIMIT IOC FILLED BTC-USDT-PERP" "liquidation: the forced order as served"

expect_eq "$(sq "$D" "SELECT count(*) FROM ticker")" 6 "ticker: one row per ticker event"
expect_eq "$(sq "$D" "SELECT last || ' ' || coalesce(bid, 'NULL') || ' ' || coalesce(prev_close, 'NULL') || ' ' || trade_count
    || ' ' || ts FROM ticker ORDER BY ts DESC LIMIT 1")" "42000.00 NULL NULL 5060 1704067200060" \
    "ticker: the last one as served; USD-M gives no bid or previous close (NULL)"

expect_eq "$(levels bid)" "$(status futures "' '.join('%s:%s' % tuple(x) for x in depth_book['bids'])")" \
    "book_level: the 10 best bids written last are the server's"
expect_eq "$(levels ask)" "$(status futures "' '.join('%s:%s' % tuple(x) for x in depth_book['asks'])")" \
    "book_level: the 10 best asks written last are the server's"
expect_eq "$(sq "$D" "SELECT DISTINCT sequence FROM book_level WHERE ts = (SELECT max(ts) FROM book_level)")" \
    "$(status futures depth_uid)" "book_level: the last book carries the server's last update id"
expect_eq "$(status futures snapshots)" 2 "book_level: one snapshot to start, one after the pu gap"
expect_contains "$TMP/fut.err" "does not follow update id" "book_level: the pu gap is logged"
expect_contains "$TMP/fut.err" "book_resyncs=1" "book_level: one resync"
# the new stream's table, as the SQL sinks render it from the schema
COINPIPE_PLUGIN_PATH="$COINPIPE_BUILD_PLUGIN_DIR" $B ddl postgresql -c "$COINPIPE_SRC/etc/examples/binance-futures-stream.conf" \
    > "$TMP/ddl.sql" 2>&1
expect_contains "$TMP/ddl.sql" 'CREATE TABLE IF NOT EXISTS "public"."liquidation" (' "ddl: a liquidation table"
expect_contains "$TMP/ddl.sql" 'PRIMARY KEY ("exchange", "symbol", "ts", "side")' "ddl: keyed on exchange, symbol, ts, side"
finish
