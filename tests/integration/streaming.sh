#!/usr/bin/env bash
# Streaming (mode = "stream") against the local Binance exchange of tests/ws_server/server.py:
# trade, book_top and closed ohlcv for BTCUSDT into SQLite; the server cuts the connection
# without a close frame, trades happen while the client is away, and the next connection skips
# a run of trade ids: the table holds every trade id the server produced, once. Then a silent
# stall (stall_timeout), an oversized frame, and a server that never answers the upgrade.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/streaming.sh"
B=$COINPIPE_BIN

# 1. the Done-when: cut without a close frame, a hole while away, a trade-id gap on the stream
serve cut_gap
listen="127.0.0.1:$(free_port)"
collect cut '"trade", "book_top", "ohlcv"' "$listen"
wait_for "ids_ok $TMP/cut.db 200" 30 || fail "cut_gap: trades 1..200 did not all arrive"
wait_for "[ \"\$(status cut_gap phase_done)\" = 2 ]" 10 || fail "cut_gap: the server's second phase did not end"
sleep 0.3
# messages: 130 in phase 1 (100 trades, 20 book tickers, 5 open and 5 closed candles), 53 in
# phase 2 (40 trades, 8 book tickers, 2 + 2 candles, 1 malformed); 1 reconnect; 3 gaps (the
# reconnect's trades, ids 101..150, and candles, 6 and 7, and ids 171..180), all filled with 60
# trades and 2 candles; 1 bad message
$B status -c "$TMP/cut.conf" > "$TMP/status.out" 2>&1
expect_eq "$(awk '/^STREAM PIPELINE/ { t = 1; next } t && $1 == "live" { print $2, $3, $4, $5, $6, $7; exit }' "$TMP/status.out")" "183 1 3 3 62 1" \
    "cut_gap: coinpipe status shows messages, reconnects, gaps, filled, repaired rows, bad messages"
curl -s "http://$listen/metrics" > "$TMP/metrics"
expect_contains "$TMP/metrics" 'coinpipe_stream_reconnects_total{pipeline="live"} 1' "cut_gap: /metrics counts reconnects"
lat=$(sed -n 's/^coinpipe_stream_latency_ms_count{pipeline="live"} //p' "$TMP/metrics")
expect_eq "$(( ${lat:-0} >= 200 ))" 1 "cut_gap: the event-to-commit latency histogram holds every trade and book top"
stop; expect_eq "$(cat "$TMP/rc")" 0 "cut_gap: coinpipe stops cleanly on SIGTERM"
expect_eq "$(status cut_gap produced)" 200 "cut_gap: the server produced trade ids 1..200"
expect_eq "$(sq "$TMP/cut.db" "SELECT count(*), count(DISTINCT trade_id), min(CAST(trade_id AS INTEGER)), max(CAST(trade_id AS INTEGER)) FROM trade")" \
    "200 200 1 200" "cut_gap: every trade id the server produced is in SQLite, once"
expect_eq "$(sq "$TMP/cut.db" "SELECT price || ' ' || size || ' ' || side || ' ' || ts FROM trade WHERE trade_id = '175'")" \
    "42001.75 0.176 buy 1704067375000" "cut_gap: a repaired trade has the exchange's values"
expect_eq "$(sq "$TMP/cut.db" "SELECT printf('%.2f', price) || ' ' || side FROM trade WHERE trade_id = '120'")" \
    "42001.20 sell" "cut_gap: a trade from while the client was away has the exchange's values"
want=$(status cut_gap "' '.join(str(c) for c in candles)")
expect_eq "$(status cut_gap 'len(candles)')" 9 "cut_gap: the server closed 9 candles, 2 of them while the client was away"
expect_eq "$(sq "$TMP/cut.db" "SELECT group_concat(open_time, ' ') FROM (SELECT open_time FROM ohlcv ORDER BY open_time)")" \
    "$want" "cut_gap: every closed candle once, those closed during the cut too, and no open one"
expect_contains "$TMP/cut.err" "repair: 2 closed 1m candles fetched over REST after a reconnect" \
    "cut_gap: the candles closed while away come from the klines path"
expect_eq "$(sq "$TMP/cut.db" "SELECT count(*) FROM ohlcv WHERE close_time - open_time = 59999 AND close = '42001.50' AND trade_count = 20")" \
    "$(status cut_gap 'len(candles)')" "cut_gap: candle values as served"
expect_eq "$(sq "$TMP/cut.db" "SELECT sequence || ' ' || printf('%.2f', bid) || ' ' || printf('%.2f', ask) FROM book_top ORDER BY sequence DESC LIMIT 1")" \
    "$(status cut_gap "'%d %s %s' % (book['u'], book['b'], book['a'])")" "cut_gap: the last book top equals the server's"
expect_contains "$TMP/cut.err" "gap: BTCUSDT trade ids 171..180 skipped by the stream" "cut_gap: the id gap is logged"
expect_contains "$TMP/cut.err" "repair: BTCUSDT trade ids 171..180 fetched over REST (10 rows" "cut_gap: the gap repair is logged with its range"
expect_contains "$TMP/cut.err" "repair: BTCUSDT trades from id 101 fetched over REST after a reconnect (50 rows" \
    "cut_gap: the trades missed while away are repaired after the reconnect"
expect_contains "$TMP/cut.err" "stream message ignored" "cut_gap: a malformed frame is logged and skipped"
expect_contains "$TMP/cut.err" "reconnects=1 repairs=3 repaired_rows=62" "cut_gap: reconnects and repairs counted"

# 2. a silent stall: the connection is dropped after stall_timeout and the stream resumes
serve stall
collect stall '"trade"'
wait_for "ids_ok $TMP/stall.db 80" 30 || fail "stall: trades 1..80 did not all arrive"
stop; expect_eq "$(cat "$TMP/rc")" 0 "stall: clean stop"
expect_contains "$TMP/stall.err" "stream stalled: nothing for" "stall: the stall is detected"
expect_eq "$(sq "$TMP/stall.db" "SELECT count(DISTINCT trade_id) FROM trade")" 80 "stall: every trade once"

# 3. an oversized frame closes the connection (1009); nothing is lost after the reconnect
serve oversized
collect big '"trade"'
wait_for "ids_ok $TMP/big.db 60" 30 || fail "oversized: trades 1..60 did not all arrive"
stop; expect_eq "$(cat "$TMP/rc")" 0 "oversized: clean stop"
expect_contains "$TMP/big.err" "message larger than 4096 bytes" "oversized: the bound is enforced and named"

# 3b. a restart: the last trade id is a checkpoint, and what was traded while coinpipe was down
#     is fetched over REST when it starts again
serve restart
collect restart '"trade", "ohlcv"'
wait_for "ids_ok $TMP/restart.db 50" 30 || fail "restart: trades 1..50 did not arrive"
stop; expect_eq "$(cat "$TMP/rc")" 0 "restart: first run stops cleanly"
mv "$TMP/restart.err" "$TMP/restart1.err"
collect restart '"trade", "ohlcv"'
wait_for "ids_ok $TMP/restart.db 100" 30 || fail "restart: trades 1..100 did not all arrive after the restart"
stop; expect_eq "$(cat "$TMP/rc")" 0 "restart: second run stops cleanly"
expect_eq "$(sq "$TMP/restart.db" "SELECT count(*), count(DISTINCT trade_id) FROM trade")" "100 100" "restart: every trade id once across the restart"
expect_contains "$TMP/restart.err" "repair: BTCUSDT trades from id 51 fetched over REST after a restart (30 rows" \
    "restart: the trades made while coinpipe was down are repaired from the checkpoint"
expect_contains "$TMP/restart.err" "repair: 2 closed 1m candles fetched over REST after a restart" \
    "restart: the candles closed while coinpipe was down come from the klines path, from the ohlcv checkpoint"
expect_eq "$(sq "$TMP/restart.db" "SELECT group_concat(open_time, ' ') FROM (SELECT open_time FROM ohlcv ORDER BY open_time)")" \
    "$(status restart "' '.join(str(c) for c in candles)")" "restart: every closed candle once across the restart"

# 4. a server that never answers the upgrade: timed out, retried, and SIGTERM still stops at once
serve no_upgrade
collect silent '"trade"'
wait_for "grep -q 'reconnecting in' $TMP/silent.err" 30 || fail "no_upgrade: no reconnect after the upgrade timed out"
t0=$(date +%s%N)
stop
t1=$(date +%s%N)
expect_eq "$(cat "$TMP/rc")" 0 "no_upgrade: clean stop"
expect_eq "$(( (t1 - t0) / 1000000000 < 5 ))" 1 "no_upgrade: SIGTERM is not held up by the pending upgrade"

# 5. configuration: a source without run() needs an interval; mode = "poll" without one stops
{ conf_head; cat <<C
pipelines = ( { name = "p"; source = { plugin = "coingecko"; }; sinks = ( { plugin = "stdout"; } ); } );
C
} > "$TMP/nointerval.conf"
$B --check -c "$TMP/nointerval.conf" > /dev/null 2> "$TMP/nointerval.err"
expect_eq $? 1 "config: a pipeline without interval and a polling-only source is refused"
expect_contains "$TMP/nointerval.err" "pipeline 'p' needs interval = \"1m\"; or schedule = \"*/5 * * * *\"; (plugin 'coingecko' cannot run continuously)" \
    "config: the refusal names the plugin"
{ conf_head; cat <<C
pipelines = ( { name = "p"; source = { plugin = "binance-spot"; base_url = "$REST"; symbols = ["BTCUSDT"]; streams = ["trade"]; };
                sinks = ( { plugin = "stdout"; } ); } );
C
} > "$TMP/poll.conf"
$B -c "$TMP/poll.conf" > /dev/null 2> "$TMP/poll.err" &
CP=$!
wait_for "grep -q 'stopped for good' $TMP/poll.err" 10 || fail "mode = poll without interval: not stopped"
stop
expect_contains "$TMP/poll.err" 'mode = \"poll\" needs the pipeline'"'"'s interval or schedule' "config: mode = poll without interval is named"
finish
