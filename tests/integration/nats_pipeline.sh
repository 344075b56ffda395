#!/usr/bin/env bash
# Collector → NATS JetStream → writer: a binance-spot collector (mock exchange) publishes through
# the nats sink, a second coinpipe process consumes with nats-consumer into SQLite. The writer's
# ohlcv table equals what the collector fetched (a SQLite sink beside the nats sink in the
# collector's pipeline records it), a second collection of the same candles adds no message to
# the stream and no row, and the consumer has acknowledged everything (the broker, the writer's
# /metrics and `coinpipe status` agree).
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/nats.sh"
B=$COINPIPE_BIN
export COINPIPE_PLUGIN_PATH="$COINPIPE_BUILD_PLUGIN_DIR"
command -v sqlite3 >/dev/null || { fail "sqlite3 CLI missing (tools/deps-debian.txt)"; finish; exit 1; }

start_mock
ctl "/_mock/config?now_ms=$(( ($(date +%s) / 60) * 60000 + 30000 ))" # candles stand still
nats_define n1
nats_start n1

collector() { # STATE_DIR
    { conf_head; cat <<C
pipelines = ( { name = "col"; interval = "1m";
  source = { plugin = "binance-spot"; base_url = "$URL"; symbols = ["BTCUSDT", "ETHBTC"]; streams = ["ohlcv", "ticker"]; };
  sinks = ( { plugin = "nats"; servers = ["$(nats_url n1)"]; stream = "MD"; subject_prefix = "md"; },
            { plugin = "sqlite"; path = "$TMP/fetched.db"; } ); } );
C
    } | sed "s|state_dir = \"$TMP/state\"|state_dir = \"$1\"|" > "$TMP/col.conf"
    $B --once -c "$TMP/col.conf" > /dev/null 2>> "$TMP/col.err"
}
LISTEN=127.0.0.1:$(free_port)
{ conf_head; cat <<C
pipelines = ( { name = "wr"; batch_interval = "100ms";
  source = { plugin = "nats-consumer"; servers = ["$(nats_url n1)"]; stream = "MD"; durable = "w"; subject = "md.>"; };
  sinks = ( { plugin = "sqlite"; path = "$TMP/written.db"; } ); } );
C
} | sed "s|state_dir = \"$TMP/state\"|state_dir = \"$TMP/wstate\"; http_listen = \"$LISTEN\"|" > "$TMP/wr.conf"
metric() { # NAME: its value for pipeline wr on the writer's /metrics
    curl -s "http://$LISTEN/metrics" | awk -v m="$1{pipeline=\"wr\"}" '$1 == m {print $2}'
}

collector "$TMP/cstate1"; rc=$?
expect_eq "$rc" 0 "collector publishes (--once)"
expect_contains "$TMP/col.err" "created JetStream stream 'MD' on md.>" "the sink creates the stream"
fetched=$(sqlite3 "$TMP/fetched.db" "SELECT count(*) FROM ohlcv")
[ "$fetched" -gt 50 ] && pass "collector fetched $fetched candles" || fail "collector fetched $fetched candles"
msgs1=$(nats_jsz n1 messages)
[ "$msgs1" -ge 4 ] && pass "$msgs1 messages in the stream (one per stream and symbol)" || fail "$msgs1 messages in the stream"

$B -c "$TMP/wr.conf" > /dev/null 2> "$TMP/wr.err" &
W=$!; PIDS+=($W)
wait_for "[ \"\$(sqlite3 $TMP/written.db 'SELECT count(*) FROM ohlcv' 2>/dev/null)\" = $fetched ]" 30 \
    && pass "the writer stored $fetched candles" || fail "the writer stored $(sqlite3 "$TMP/written.db" 'SELECT count(*) FROM ohlcv' 2>&1) of $fetched candles"
q="SELECT * FROM ohlcv ORDER BY exchange, symbol, interval, open_time"
expect_eq "$(sqlite3 "$TMP/written.db" "$q" | md5sum)" "$(sqlite3 "$TMP/fetched.db" "$q" | md5sum)" "written ohlcv equals fetched ohlcv, cell for cell"
qt="SELECT * FROM ticker ORDER BY exchange, symbol, ts"
wait_for "[ \"\$(sqlite3 $TMP/written.db '$qt' 2>/dev/null | md5sum)\" = \"$(sqlite3 "$TMP/fetched.db" "$qt" | md5sum)\" ]" 10 \
    && pass "written ticker equals fetched ticker" || fail "ticker differs"
cp "$TMP/fetched.db" "$TMP/fetched1.db"

# the same candles collected again (fresh checkpoints): JetStream's duplicate window drops them
collector "$TMP/cstate2"; rc=$?
expect_eq "$rc" 0 "second collection publishes"
expect_eq "$(nats_jsz n1 messages)" "$msgs1" "no message added by the second collection (Nats-Msg-Id from the keys)"
sleep 1
expect_eq "$(sqlite3 "$TMP/written.db" 'SELECT count(*) FROM ohlcv')" "$fetched" "no row added by the second collection"
expect_eq "$(sqlite3 "$TMP/written.db" "$q" | md5sum)" "$(sqlite3 "$TMP/fetched1.db" "$q" | md5sum)" \
    "the writer's rows are the first collection's (received_at too): nothing was re-delivered"
wait_for "[ \"\$(nats_consumer_field n1 MD w num_ack_pending)\" = 0 ]" 10 && pass "every message acknowledged" \
    || fail "$(nats_consumer_field n1 MD w num_ack_pending) messages unacknowledged"
expect_eq "$(nats_consumer_field n1 MD w num_pending)" 0 "the consumer has nothing left to read"
expect_eq "$(metric coinpipe_messages_acked_total)" "$msgs1" "/metrics: every message acked once"
expect_eq "$(metric coinpipe_messages_redelivered_total)" 0 "/metrics: nothing redelivered"
expect_eq "$(metric coinpipe_consumer_lag_messages)" 0 "/metrics: no consumer lag"
$B status -c "$TMP/wr.conf" > "$TMP/status" 2>&1
expect_contains "$TMP/status" "BROKER PIPELINE" "coinpipe status shows the broker table"
expect_eq "$(awk '$1 == "wr" && NF == 5 {print $3, $4, $5}' "$TMP/status")" "$msgs1 0 0" "status: acked, redelivered, lag"

kill -TERM $W; wait $W; rc=$?
expect_eq "$rc" 0 "the writer stops cleanly on SIGTERM"
expect_not_contains "$TMP/wr.err" "level=error" "the writer logged no error"
finish
