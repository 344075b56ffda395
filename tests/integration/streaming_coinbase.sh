#!/usr/bin/env bash
# coinbase mode = "stream" against the local Coinbase Exchange feed of tests/ws_server/server.py
# (scenario cb_feed): a refused subscription, a cut without a close frame while trades happen,
# a run of lost messages (trade ids and the book's changes), a ticker replayed with an old
# sequence, trades only a heartbeat tells of, a malformed and an oversized frame. SQLite holds
# every trade id the server produced once, with the taker's side, and a book equal to the server's.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
. "$COINPIPE_SRC/tests/services/free-port.sh"
B=$COINPIPE_BIN
PY=/usr/bin/python3 # Debian's, with python3-websockets
export COINPIPE_HTTP_BACKOFF_MS=20

sq() { $PY -c 'import sqlite3, sys; print(*sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone())' "$@"; }
status() { $PY -c 'import json, sys; print(eval(sys.argv[2], {}, json.load(open(sys.argv[1]))))' "$TMP/cb.status" "$1"; }

$PY "$COINPIPE_SRC/tests/ws_server/server.py" --scenario cb_feed --port-file "$TMP/cb.ports" \
    --status "$TMP/cb.status" --max-message 16384 > "$TMP/server.log" 2>&1 &
PIDS+=($!)
wait_for "[ -s $TMP/cb.ports ]" 10 || { echo "ws server did not start" >&2; exit 1; }
read -r wp rp < "$TMP/cb.ports"
listen="127.0.0.1:$(free_port)"
{ conf_head | sed "s|};\$|http_listen = \"$listen\"; };|"; cat <<C
pipelines = (
  { name = "cb"; batch_interval = "50ms";
    source = { plugin = "coinbase"; mode = "stream"; ws_url = "ws://127.0.0.1:$wp"; base_url = "http://127.0.0.1:$rp";
               symbols = ["BTC-USD"]; streams = ["trade", "ticker", "book_top", "book_level"];
               depth = 5; book_interval = "100ms"; stall_timeout = "5s"; max_message = "16k"; };
    sinks = ( { plugin = "sqlite"; path = "$TMP/cb.db"; } ); } );
C
} > "$TMP/cb.conf"
$B --check -c "$TMP/cb.conf" > /dev/null 2> "$TMP/check.err"
expect_eq $? 0 "the streaming coinbase config passes --check"
$B -c "$TMP/cb.conf" > /dev/null 2> "$TMP/cb.err" &
CP=$!
ids_ok() { [ "$(sq "$TMP/cb.db" "SELECT count(*), count(DISTINCT trade_id), min(CAST(trade_id AS INTEGER)), max(CAST(trade_id AS INTEGER)) FROM trade" 2>/dev/null)" = "221 221 1000 1220" ]; }
wait_for "[ \"\$(status phase_done)\" = 4 ]" 60 || fail "the server's four phases did not run (phase $(status phase_done))"
wait_for ids_ok 20 || fail "trades 1000..1220 did not all arrive"
sleep 0.5
$B status -c "$TMP/cb.conf" > "$TMP/status.out" 2>&1
kill -TERM $CP; wait $CP; rc=$?
expect_eq $rc 0 "coinpipe stops cleanly on SIGTERM"

# trades: every id once, the values of the exchange, the taker's side
expect_eq "$(status produced)" 1220 "the server produced trade ids up to 1220"
expect_eq "$(sq "$TMP/cb.db" "SELECT count(*), count(DISTINCT trade_id), min(CAST(trade_id AS INTEGER)), max(CAST(trade_id AS INTEGER)) FROM trade")" \
    "221 221 1000 1220" "every trade id the server produced is in SQLite, once (stream and repairs)"
for id in 1002 1120 1175 1202 1210; do # streamed, repaired after the cut, lost, heartbeat-only, streamed
    want=$($PY - "$COINPIPE_SRC/tests/ws_server" $id <<'P'
import sys; sys.path.insert(0, sys.argv[1]); import server
t = server.cb_trade(int(sys.argv[2])); import datetime
ms = server.T0 + int(sys.argv[2]) * 1000 + int(sys.argv[2]) % 997
print(t["price"], t["size"], "sell" if t["side"] == "buy" else "buy", ms)
P
)
    expect_eq "$(sq "$TMP/cb.db" "SELECT printf('%.2f %.8f', price, size) || ' ' || side || ' ' || ts FROM trade WHERE trade_id = '$id'")" \
        "$want" "trade $id: price, size, ts as served and side = the taker's (the maker's opposite)"
done

# the book: the newest book_level rows equal the server's top 5 levels per side
book=$(sq "$TMP/cb.db" "SELECT group_concat(side || ':' || printf('%.2f:%.8f', price, size), ' ') FROM (SELECT * FROM book_level WHERE ts = (SELECT max(ts) FROM book_level) ORDER BY side DESC, level)")
want=$(status "' '.join(['bid:%s:%s' % tuple(l) for l in bids] + ['ask:%s:%s' % tuple(l) for l in asks])")
expect_eq "$book" "$want" "the newest book_level rows equal the server's book (after lost changes and a resync)"
expect_eq "$(sq "$TMP/cb.db" "SELECT count(DISTINCT ts) > 5 FROM book_level")" 1 "book_level rows are written every book_interval as the book moves"
# book_top and ticker from the ticker channel
expect_eq "$(sq "$TMP/cb.db" "SELECT sequence || ' ' || printf('%.2f', bid) || ' ' || printf('%.2f', ask) FROM book_top ORDER BY ts DESC, sequence DESC LIMIT 1")" \
    "$(status "'%d %s %s' % (ticker['sequence'], ticker['best_bid'], ticker['best_ask'])")" "the last book_top equals the server's last ticker"
expect_eq "$(sq "$TMP/cb.db" "SELECT count(*) FROM book_top WHERE bid < 2")" 0 "the ticker replayed with an old sequence wrote nothing"
expect_eq "$(sq "$TMP/cb.db" "SELECT printf('%.2f %.2f %.2f %.8f', open, high, low, base_volume) || ' ' || (last IS NOT NULL) || ' ' || count(*) FROM ticker WHERE high > 3")" \
    "29000.00 30500.00 28900.00 1234.50000000 1 $(sq "$TMP/cb.db" "SELECT count(*) FROM ticker")" "ticker rows carry the 24h values (and none from the replayed ticker)"

# what was logged and counted
expect_contains "$TMP/cb.err" "the feed refused the subscription: Failed to subscribe: level2_batch is not available right now" \
    "an error message from the feed is logged with its reason"
expect_contains "$TMP/cb.err" "repair: BTC-USD trade ids 1101..1149 fetched over REST (49 rows" "the trades missed while away are repaired (last_match 1150)"
expect_contains "$TMP/cb.err" "gap: BTC-USD trade ids 1171..1180 missed (skipped by the feed)" "the lost trade ids are logged"
expect_contains "$TMP/cb.err" "repair: BTC-USD trade ids 1171..1180 fetched over REST (10 rows" "the lost trades are repaired with their range"
expect_contains "$TMP/cb.err" "gap: BTC-USD trade ids 1201..1203 missed (heartbeat last_trade_id)" "a heartbeat reveals trades never streamed"
expect_contains "$TMP/cb.err" "repair: BTC-USD trade ids 1201..1203 fetched over REST (3 rows" "and they are repaired"
expect_contains "$TMP/cb.err" "repair: BTC-USD order book resubscribed for a fresh snapshot (messages were lost; resync 1)" "the book is resynced after the loss"
expect_contains "$TMP/cb.err" "out of order: BTC-USD sequence" "the replayed ticker is dropped by its sequence"
expect_contains "$TMP/cb.err" "feed message ignored" "the malformed frame is logged and skipped"
expect_contains "$TMP/cb.err" "message larger than 16384 bytes" "the oversized frame closes the connection (1009)"
expect_contains "$TMP/cb.err" "repair: BTC-USD order book rebuilt from a fresh snapshot (" "the resynced book comes from a new snapshot"
expect_contains "$TMP/cb.err" "reconnects=3 repairs=3 repaired_trades=62 book_resyncs=2 out_of_order=1 bad_messages=2" \
    "reconnects, repairs, resyncs and bad messages (malformed, replayed) counted"
expect_eq "$(awk '/^STREAM PIPELINE/ { t = 1; next } t && $1 == "cb" { print $3, $4, $5, $6, $7; exit }' "$TMP/status.out")" "3 5 5 62 2" \
    "coinpipe status: reconnects, gaps (3 trade holes, 2 book resyncs), gaps filled, repaired rows, bad messages"
# REST pages: after = the end of the hole + 1
$PY -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))["rest"]))' "$TMP/cb.status" > "$TMP/rest.txt"
expect_contains "$TMP/rest.txt" "/products/BTC-USD/trades?after=1181&limit=1000" "the repair pages back from the end of the hole (?after=)"

# configuration: ohlcv has no channel; poll mode without an interval
sed 's/streams = \["trade", "ticker", "book_top", "book_level"\]/streams = ["trade", "ohlcv"]/' "$TMP/cb.conf" > "$TMP/bad.conf"
$B --check -c "$TMP/bad.conf" > /dev/null 2> "$TMP/bad.err"
expect_eq $? 1 "config: ohlcv in stream mode is refused"
expect_contains "$TMP/bad.err" "the Exchange feed has no candles" "config: the refusal says why"
sed 's|ws_url = "ws://|ws_url = "http://|' "$TMP/cb.conf" > "$TMP/bad2.conf"
$B --check -c "$TMP/bad2.conf" > /dev/null 2> "$TMP/bad2.err"
expect_eq $? 1 "config: a ws_url that is not ws:// or wss:// is refused"
expect_contains "$TMP/bad2.err" "is not a WebSocket URL" "config: the ws_url refusal names it"
finish
