#!/usr/bin/env bash
# Binance stream connections (binance-spot, mode = "stream") against the local exchange of
# tests/ws_server/server.py: a connection older than ws_max_age is replaced by one opened before
# it closes, with no trade lost or written twice across the switch; more than 1024 streams open
# a second connection, streams past the URL's budget are asked for in SUBSCRIBE messages, never
# more than 5 control messages a second on a connection (the server cuts a connection that sends
# more, as Binance does).
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/streaming.sh"
B=$COINPIPE_BIN

# 1. handover: 2000 trades, one every 5 ms, to every open connection; connections live 2 s
serve handover --trades 2000
collect hand '"trade"' "" 'ws_max_age = "2s";'
wait_for "[ \"\$(status handover phase_done)\" = 1 ]" 60 || fail "handover: the server's trades did not end"
wait_for "ids_ok $TMP/hand.db 2000" 20 || fail "handover: trades 1..2000 did not all arrive"
stop; sleep 0.3 # the server logs the last close
 expect_eq "$(cat "$TMP/rc")" 0 "handover: coinpipe stops cleanly"
expect_eq "$(sq "$TMP/hand.db" "SELECT count(*), count(DISTINCT trade_id) FROM trade")" "2000 2000" \
    "handover: every trade id once across the switches"
n=$(status handover 'len(conn_log)')
expect_eq "$(( n >= 3 ))" 1 "handover: connections were replaced (got $n)"
expect_eq "$(status handover 'all(conn_log[i + 1][0] < conn_log[i][1] for i in range(len(conn_log) - 1))')" True \
    "handover: each replacement opened before the connection it replaced closed"
opened=$(grep -c '(ws_max_age): opening its replacement' "$TMP/hand.err")
switched=$(grep -c 'handed over to its replacement' "$TMP/hand.err")
expect_eq "$opened" "$((n - 1))" "handover: each replacement is logged"
# the last replacement may still be catching up when coinpipe is stopped
expect_eq "$(( switched == opened || switched == opened - 1 ))" 1 "handover: each switch is logged ($switched of $opened)"
expect_contains "$TMP/hand.err" "(ws_max_age): opening its replacement" "handover: the reason is logged"
expect_not_contains "$TMP/hand.err" "reconnecting in" "handover: no reconnect, no backoff"
expect_not_contains "$TMP/hand.err" "gap: " "handover: no trade id skipped at a switch"

# 2. 401 symbols x 3 streams = 1203: two connections (1024 + 179), each with SUBSCRIBEs; the
#    second carries only quiet symbols for seconds: its answers to GET_PROPERTY keep it from
#    being taken for stalled (stall_timeout 2s)
serve many --symbols 400
syms=$($PY -c 'print(", ".join(["\"BTCUSDT\""] + ["\"S%03dUSDT\"" % i for i in range(400)]))')
collect many '"trade", "book_top", "ohlcv"' "" "" binance-spot "$syms"
wait_for "[ \"\$(status many phase_done)\" = 1 ]" 60 || fail "many: the server's trades did not end"
wait_for "ids_ok $TMP/many.db 100 && ids_ok $TMP/many.db 100 S399USDT" 20 || fail "many: trades did not all arrive"
stop; expect_eq "$(cat "$TMP/rc")" 0 "many: coinpipe stops cleanly"
expect_eq "$(status many 'violations')" "[]" "many: never more than 5 control messages a second, no stream asked for twice"
expect_eq "$(status many 'sorted(len(s) for s in subs)')" "[179, 1024]" "many: 1024 streams on one connection, the rest on a second"
expect_eq "$(status many 'len(set(x for s in subs for x in s))')" 1203 "many: every stream subscribed once"
expect_eq "$(sq "$TMP/many.db" "SELECT count(*), count(DISTINCT native_symbol || trade_id) FROM trade")" "200 200" \
    "many: the trades of the first and the last symbol (second connection), once each"
expect_contains "$TMP/many.err" "stream: 1203 streams on 2 connections" "many: the split is logged"
expect_not_contains "$TMP/many.err" "reconnecting in" "many: no connection lost, none taken for stalled while quiet"
expect_eq "$(status many "extra.get('probes', 0) > 0")" True "many: a quiet connection was asked whether it is alive"
expect_not_contains "$TMP/many.err" "stream request refused" "many: no request refused"
finish
