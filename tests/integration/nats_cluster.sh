#!/usr/bin/env bash
# Three nats-server processes clustered with JetStream (replicas 3) on loopback ports; three
# collectors (two fake-source pipelines and a binance-spot one against the mock exchange)
# publish through the nats sink while the stream's leader is killed (SIGKILL) and started again; a
# writer consumes with nats-consumer into PostgreSQL. Every row a collector served (each
# collector's pipeline keeps a SQLite copy beside the nats sink) arrives in PostgreSQL exactly
# once, nothing is left in the collectors' spools, every message is acknowledged.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/nats.sh"
B=$COINPIPE_BIN
export COINPIPE_PLUGIN_PATH="$COINPIPE_BUILD_PLUGIN_DIR"
command -v sqlite3 >/dev/null && command -v psql >/dev/null || { fail "sqlite3 and psql needed (tools/deps-debian.txt)"; finish; exit 1; }
[ -n "${COINPIPE_TEST_PG:-}" ] || { echo "skipped: no COINPIPE_TEST_PG (run through tests/services/run.sh)"; exit 77; }
prefix="nc$$_"
pg() { psql "$COINPIPE_TEST_PG" -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
cleanup_pg() { for t in ticker ohlcv; do pg "DROP TABLE IF EXISTS public.${prefix}$t" 2>/dev/null; done; }
trap 'cleanup_pg; cleanup_lib' EXIT

start_mock
nats_define n1 n2 n3
for n in n1 n2 n3; do nats_start $n; done
servers="\"$(nats_url n1)\", \"$(nats_url n2)\", \"$(nats_url n3)\""
nats_sink="plugin = \"nats\"; servers = [$servers]; replicas = 3; stream = \"MD\"; subject_prefix = \"md\"; ack_timeout = \"3s\"; reconnect_wait = \"100ms\"; reconnect_wait_max = \"1s\";"

collector() { # NAME SOURCE
    { conf_head; cat <<C
pipelines = ( { name = "$1"; interval = "200ms";
  source = { $2 };
  sinks = ( { $nats_sink retry_initial_interval = "100ms"; retry_max_interval = "500ms"; },
            { plugin = "sqlite"; path = "$TMP/$1.db"; decimal_as = "text"; } ); } );
C
    } | sed "s|state_dir = \"$TMP/state\"|state_dir = \"$TMP/state-$1\"|" > "$TMP/$1.conf"
    $B -c "$TMP/$1.conf" > /dev/null 2> "$TMP/$1.err" &
    eval "PID_$1=$!"; PIDS+=($!)
}
{ conf_head; cat <<C
pipelines = ( { name = "wr"; batch_interval = "200ms";
  source = { plugin = "nats-consumer"; servers = [$servers]; stream = "MD"; durable = "pgwriter"; subject = "md.>";
             ack_wait = "5s"; reconnect_wait = "100ms"; reconnect_wait_max = "1s"; };
  sinks = ( { plugin = "postgresql"; conninfo = "$COINPIPE_TEST_PG"; table_prefix = "$prefix";
              retry_initial_interval = "100ms"; retry_max_interval = "500ms"; } ); } );
C
} | sed "s|state_dir = \"$TMP/state\"|state_dir = \"$TMP/state-wr\"|" > "$TMP/wr.conf"

collector fa 'plugin = "fake-source"; rows = 200; batches = 2; symbol = "AAA-USDT"; start = 1000000000000;'
collector fb 'plugin = "fake-source"; rows = 150; batches = 3; symbol = "BBB-USDT"; start = 2000000000000;'
collector bn "plugin = \"binance-spot\"; base_url = \"$URL\"; symbols = [\"BTCUSDT\", \"ETHBTC\", \"SYM001USDT\"]; streams = [\"ticker\", \"ohlcv\"];"
$B -c "$TMP/wr.conf" > /dev/null 2> "$TMP/wr.err" &
W=$!; PIDS+=($W)

sleep 4
before=$(sqlite3 "$TMP/fa.db" "SELECT count(*) FROM ticker" 2>/dev/null || echo 0)
# the server that leads the stream: its loss makes the others elect a new leader mid-publish
# (the stream may still be electing its first leader on a loaded machine: ask for up to 30 s)
victim=""
for _ in $(seq 60); do
    victim=$(nats_stream_leader MD)
    [ -n "$victim" ] && break
    sleep 0.5
done
case "$victim" in n1|n2|n3) pass "stream MD is led by $victim" ;; *) fail "no leader of MD ('$victim')"; victim=n2 ;; esac
nats_stop $victim KILL
pass "$victim killed (SIGKILL) while $before rows of fa were served"
sleep 4
nats_start $victim
pass "$victim started again"
sleep 4
for c in fa fb bn; do eval "kill -TERM \$PID_$c"; done
for c in fa fb bn; do eval "wait \$PID_$c"; rc=$?; expect_eq "$rc" 0 "collector $c stops cleanly"; done
for c in fa fb bn; do
    expect_contains "$TMP/$c.err" "sink $c/nats stats:" "collector $c reports its nats sink"
    grep -o "sink $c/nats stats:.*" "$TMP/$c.err" | grep -q " queued=0 spool_bytes=0" \
        && pass "collector $c: nothing left in the nats sink's spool" || fail "collector $c left batches: $(grep -o "sink $c/nats stats:.*" "$TMP/$c.err")"
done
served=$(for c in fa fb bn; do sqlite3 "$TMP/$c.db" "SELECT exchange || '|' || symbol || '|' || ts || '|' || last FROM ticker"; done | sort)
nserved=$(echo "$served" | wc -l)
[ "$nserved" -gt 1000 ] && pass "$nserved ticker rows served in all" || fail "only $nserved ticker rows served"
candles=$(for c in bn; do sqlite3 "$TMP/$c.db" "SELECT symbol || '|' || open_time || '|' || close FROM ohlcv"; done | sort)
wait_for "[ \"\$(pg 'SELECT count(*) FROM public.${prefix}ticker' 2>/dev/null)\" = $nserved ]" 60 \
    && pass "PostgreSQL holds $nserved ticker rows" || fail "PostgreSQL holds $(pg "SELECT count(*) FROM public.${prefix}ticker" 2>&1) of $nserved ticker rows"
got=$(pg "SELECT exchange || '|' || symbol || '|' || (extract(epoch from ts) * 1000)::bigint || '|' || last FROM public.${prefix}ticker" | sort)
expect_eq "$(echo "$got" | md5sum)" "$(echo "$served" | md5sum)" "every served ticker row arrived, once, with its exact decimal"
gotc=$(pg "SELECT symbol || '|' || (extract(epoch from open_time) * 1000)::bigint || '|' || close FROM public.${prefix}ohlcv" | sort)
expect_eq "$(echo "$gotc" | md5sum)" "$(echo "$candles" | md5sum)" "every served candle arrived ($(echo "$candles" | wc -l))"
wait_for "[ \"\$(nats_consumer_field n1 MD pgwriter num_ack_pending)\" = 0 ]" 30 && pass "every message acknowledged" \
    || fail "$(nats_consumer_field n1 MD pgwriter num_ack_pending) messages unacknowledged"
wait_for "[ \"\$(nats_consumer_field n1 MD pgwriter num_pending)\" = 0 ]" 30 && pass "the consumer has nothing left to read" \
    || fail "the consumer has $(nats_consumer_field n1 MD pgwriter num_pending) messages left to read"
expect_eq "$(pg "SELECT count(*) FROM public.${prefix}ticker")" "$nserved" "still every served row once after the consumer caught up"
grep -q "reconnected to NATS" "$TMP/fa.err" "$TMP/fb.err" "$TMP/bn.err" "$TMP/wr.err" \
    && pass "a client lost its server and reconnected" || echo "note: no client was connected to $victim"
kill -TERM $W; wait $W; expect_eq "$?" 0 "the writer stops cleanly"
finish
