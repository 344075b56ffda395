#!/usr/bin/env bash
# NATS faults: (1) the server is down when the collector starts: its batches wait in the
# nats sink's spool and are delivered once the server is there; (2) the writer is killed with
# SIGKILL in the middle of a backlog: what it had not acknowledged is delivered again to the next
# writer, and SQLite ends with every row once; (3) messages in an unknown format are
# dead-lettered (named in the log with subject, sequence and reason, republished to the
# dead-letter subject, terminated) while the good ones keep flowing.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/nats.sh"
B=$COINPIPE_BIN
export COINPIPE_PLUGIN_PATH="$COINPIPE_BUILD_PLUGIN_DIR"
command -v sqlite3 >/dev/null || { fail "sqlite3 CLI missing (tools/deps-debian.txt)"; finish; exit 1; }
NPUB="python3 $(dirname "$0")/lib/nats_pub.py"
nats_define n1

collector() { # NAME START ROWS BATCHES [SINK-OPTIONS]
    { conf_head; cat <<C
pipelines = ( { name = "$1"; interval = "1m";
  source = { plugin = "fake-source"; rows = $3; batches = $4; start = $2; symbol = "F-USDT"; };
  sinks = ( { plugin = "nats"; servers = ["$(nats_url n1)"]; stream = "MD"; subject_prefix = "md"; ack_timeout = "1s";
              retry_initial_interval = "100ms"; retry_max_interval = "200ms"; ${5:-} } ); } );
C
    } | sed "s|shutdown_timeout = \"20s\"|shutdown_timeout = \"2s\"|" > "$TMP/$1.conf"
    $B --once -c "$TMP/$1.conf" > /dev/null 2>> "$TMP/$1.err"
}
LISTEN=127.0.0.1:$(free_port)
{ conf_head; cat <<C
pipelines = ( { name = "wr"; batch_interval = "100ms"; batch_rows = 5000;
  source = { plugin = "nats-consumer"; servers = ["$(nats_url n1)"]; stream = "MD"; durable = "w"; subject = "md.>";
             ack_wait = "2s"; fetch_batch = 16; dead_letter_subject = "dead.md"; };
  sinks = ( { plugin = "sqlite"; path = "$TMP/w.db"; } ); } );
C
} | sed "s|state_dir = \"$TMP/state\"|state_dir = \"$TMP/wstate\"; http_listen = \"$LISTEN\"|" > "$TMP/wr.conf"
metric() { curl -s "http://$LISTEN/metrics" | awk -v m="$1{pipeline=\"wr\"}" '$1 == m {print $2}'; }
count() { sqlite3 "$TMP/w.db" "SELECT count(*) FROM ticker" 2>/dev/null || echo 0; }

# 1. no server: the batch stays in the spool; the next run delivers it first
collector c 1000000 500 2; rc=$?
expect_eq "$rc" 1 "--once fails while no NATS server answers"
expect_contains "$TMP/c.err" "no NATS server answers yet" "the sink says the server is not there"
expect_contains "$TMP/c.err" "2 batches not yet written stay in the spool" "the spool holds both batches"
nats_start n1
collector c 2000000 500 2; rc=$?
expect_eq "$rc" 0 "the next run, with the server up, succeeds"
expect_contains "$TMP/c.err" "replaying 2 unconfirmed batches from the spool" "the spooled batches are replayed"
$B -c "$TMP/wr.conf" > /dev/null 2> "$TMP/wr1.err" &
W=$!; PIDS+=($W)
wait_for "[ \$(count) = 2000 ]" 30 && pass "the writer has both runs' 2000 rows" || fail "the writer has $(count) of 2000 rows"
kill -TERM $W; wait $W

# 2. a backlog, the writer killed with SIGKILL while it works through it: large enough that the
#    writer is still at it when it is killed (the SQLite sink writes 120,000 rows before the first
#    poll of its row count can see them)
BIG=600000 ALL=602000
collector big 3000000 2000 $((BIG / 2000)) 'compression = "zstd";'; rc=$?
expect_eq "$rc" 0 "$BIG rows published (zstd-compressed messages)"
$B -c "$TMP/wr.conf" > /dev/null 2> "$TMP/wr2.err" &
W=$!; PIDS+=($W)
wait_for "[ \$(count) -gt 2000 ]" 30
kill -KILL $W; wait $W 2>/dev/null
mid=$(count)
[ "$mid" -gt 2000 ] && [ "$mid" -lt $ALL ] && pass "writer killed mid-backlog at $mid rows" || fail "writer killed at $mid rows (not mid-backlog)"
$B -c "$TMP/wr.conf" > /dev/null 2> "$TMP/wr3.err" &
W=$!; PIDS+=($W)
wait_for "[ \$(count) = $ALL ]" 60 && pass "the next writer completes the backlog: $ALL rows" || fail "$(count) of $ALL rows"
expect_eq "$(sqlite3 "$TMP/w.db" "SELECT count(DISTINCT ts) FROM ticker")" $ALL "every row once (distinct keys = rows)"
wait_for "[ \"\$(nats_consumer_field n1 MD w num_ack_pending)\" = 0 ]" 20 && pass "everything acknowledged" || fail "unacknowledged messages remain"
red=$(metric coinpipe_messages_redelivered_total)
[ "${red:-0}" -gt 0 ] && pass "$red messages the killed writer had not acknowledged were delivered again" \
    || echo "note: the killed writer had acknowledged all it fetched (no redelivery)"

# 3. messages another producer put there: not coinpipe-rows/1
$NPUB stream "${NATS_PORT[n1]}" DEAD "dead.>" || fail "cannot create the dead-letter stream"
$NPUB pub "${NATS_PORT[n1]}" md.junk.x.y "hello"
$NPUB pub "${NATS_PORT[n1]}" md.junk.x.z '{"a":1}' "Coinpipe-Format=avro/1"
$NPUB pub "${NATS_PORT[n1]}" md.ticker.fake.F-USDT '["fake","F-USDT"]' "Coinpipe-Format=coinpipe-rows/1" \
    "Coinpipe-Stream=ticker" "Coinpipe-Columns=exchange:text:key,symbol:text:key,ts:ts:key"
$NPUB pub "${NATS_PORT[n1]}" md.ticker.fake.G-USDT '["fake","G-USDT",1]' "Coinpipe-Format=coinpipe-rows/1" \
    "Coinpipe-Stream=ticker" "Coinpipe-Columns=exchange:text:key,symbol:text:key,ts:ts:key" "Coinpipe-Encoding=gzip"
collector after 4000000 100 1
wait_for "[ \$(count) = $((ALL + 100)) ]" 30 && pass "good messages keep flowing after bad ones" || fail "$(count) of $((ALL + 100)) rows"
wait_for "grep -c 'dead letter' $TMP/wr3.err | grep -qx 4" 10 && pass "four dead letters logged" || fail "dead letters: $(grep -c 'dead letter' "$TMP/wr3.err")"
expect_contains "$TMP/wr3.err" "on subject 'md.junk.x.y' cannot be read: no Coinpipe-Format header (not a coinpipe message); republished to dead.md" "a message without headers is named with its subject and reason"
expect_contains "$TMP/wr3.err" "cannot be read: unknown format 'avro/1' (this reader knows coinpipe-rows/1)" "an unknown format is named"
expect_contains "$TMP/wr3.err" "cannot be read: a row has 2 cells, the columns header 3" "a short row is named"
expect_contains "$TMP/wr3.err" "cannot be read: unknown Coinpipe-Encoding 'gzip' (this reader knows zstd)" "an unknown encoding is named"
grep -q "dead letter: message [0-9]* of stream 'MD'" "$TMP/wr3.err" && pass "the stream sequence is named" || fail "no sequence in the dead-letter line"
expect_eq "$($NPUB stream-msgs "${NATS_PORT[n1]}" DEAD)" 4 "the four are republished to dead.md"
expect_eq "$(metric coinpipe_stream_bad_messages_total)" 4 "/metrics counts four bad messages"
wait_for "[ \"\$(nats_consumer_field n1 MD w num_ack_pending)\" = 0 ]" 20 && pass "dead letters are terminated, not redelivered" || fail "dead letters still pending"
kill -TERM $W; wait $W; expect_eq "$?" 0 "the writer stops cleanly"
finish
