#!/usr/bin/env bash
# Alerts: rules over the mock exchange's ticker, edge-triggered and durable, delivered to a local
# webhook receiver (tests/webhook_receiver/server.py) and stored in SQLite; `for`, `cooldown`,
# resolving, restarts, a receiver that is down then back, the quality preset, and --check.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
B=$COINPIPE_BIN
command -v sqlite3 >/dev/null || { fail "sqlite3 CLI missing (tools/deps-debian.txt)"; finish; exit 1; }
start_mock
python3 "$COINPIPE_SRC/tests/webhook_receiver/server.py" --port-file "$TMP/rport" > /dev/null 2>&1 &
PIDS+=($!)
wait_for "[ -s $TMP/rport ]" 10 || { fail "webhook receiver did not start"; finish; exit 1; }
RECV="http://127.0.0.1:$(cat "$TMP/rport")"
rctl() { python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())' "$RECV$1"; }
# posts FIELD: one line per recorded post, the body's FIELD
posts() { rctl /_recv/posts | python3 -c 'import json, sys; [print(p["body"].get(sys.argv[1], "")) for p in json.load(sys.stdin)]' "$1"; }
nposts() { rctl /_recv/posts | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))'; }

# conf NAME RULES [WEBHOOK-EXTRA] [ALERTS-EXTRA]: a binance-spot ticker pipeline with alert rules,
# SQLite and the webhook
conf() {
    { conf_head; cat <<C
pipelines = ( { name = "bn"; interval = "1m";
  source = { plugin = "binance-spot"; base_url = "$URL"; symbols = ["BTCUSDT"]; streams = ["ticker"]; };
  transforms = ( { plugin = "alerts"; rules = ( $2 ); ${4:-} } );
  sinks = ( { plugin = "sqlite"; path = "$TMP/$1.db"; },
            { plugin = "webhook"; url = "$RECV/hooks/T000/SECRET-TOKEN"; format = "${FMT:-slack}"; per_minute = 100000; ${3:-} } ); } );
C
    } > "$TMP/$1.conf"
    sed -i "s|state_dir = \"$TMP/state\"|state_dir = \"$TMP/state-$1\"|" "$TMP/$1.conf"
}

# 1. the issue's Done-when: a true and a false rule, three --once runs
conf done '{ name = "above-one"; when = "ticker.last > 1"; },
    { name = "above-billion"; when = "ticker.last > 1000000000"; }'
for i in 1 2 3; do
    $B --once -c "$TMP/done.conf" > /dev/null 2> "$TMP/done$i.err"
    expect_eq "$?" 0 "run $i succeeds"
done
expect_eq "$(nposts)" 1 "three runs post exactly one message"
expect_eq "$(posts text | grep -c 'above-one')" 1 "the message names the true rule"
expect_eq "$(posts text | grep -c 'above-billion')" 0 "nothing for the false rule"
expect_eq "$(rctl /_recv/posts | python3 -c 'import json,sys; p=json.load(sys.stdin)[0]; print(sorted(p["body"].keys()), p["content_type"])')" \
    "['text'] application/json" "Slack-shaped: a JSON object with one key, text"
expect_eq "$(sqlite3 "$TMP/done.db" "select rule, state, exchange, symbol, threshold = 1 from alert")" \
    "above-one|firing|binance|BTC-USDT|1" "SQLite holds one firing row"
expect_eq "$(sqlite3 "$TMP/done.db" "select count(*) from ticker")" 1 "the ticker passes through unchanged"
expect_eq "$(cat "$TMP"/done*.err | grep -c 'SECRET-TOKEN')" 0 "the webhook URL is never logged"
$B --describe webhook > "$TMP/describe.out"
expect_contains "$TMP/describe.out" "secret" "--describe marks the URL secret"

# 2. resolving: the same rule (same name, so the same state) stops holding after a reload
conf done '{ name = "above-one"; when = "ticker.last > 1000000000"; }'
$B --once -c "$TMP/done.conf" > /dev/null 2> "$TMP/res.err"
expect_eq "$(sqlite3 "$TMP/done.db" "select state from alert where rule = 'above-one' order by ts")" "firing
resolved" "a resolved row when the rule stops holding"
expect_eq "$(nposts)" 2 "the resolution is posted"
expect_contains <(posts text | tail -1) "[RESOLVED] above-one" "resolved message"
$B --once -c "$TMP/done.conf" > /dev/null 2>&1
expect_eq "$(nposts)" 2 "resolved once: nothing more while it stays false"

# 3. for: must hold 2 s before firing; state survives the restarts in between
conf for '{ name = "held"; when = "ticker.last >= 4.00000200"; for = "2s"; }'
$B --once -c "$TMP/for.conf" > /dev/null 2>&1
$B --once -c "$TMP/for.conf" > /dev/null 2>&1
expect_eq "$(sqlite3 "$TMP/for.db" "select count(*) from sqlite_master where name = 'alert'")" 0 "pending: not fired before 'for' has passed"
sleep 2.2
$B --once -c "$TMP/for.conf" > /dev/null 2>&1
expect_eq "$(sqlite3 "$TMP/for.db" "select rule || ' ' || state || ' ' || value from alert")" "held firing 4.000002" \
    "fires once it has held for 2 s (value exact)"

# 4. cooldown: fire, resolve, true again inside the cooldown: no new firing; after it: fires
conf cd '{ name = "cool"; when = "ticker.last > 1"; cooldown = "3s"; }'
$B --once -c "$TMP/cd.conf" > /dev/null 2>&1
conf cd '{ name = "cool"; when = "ticker.last < 1"; cooldown = "3s"; }'
$B --once -c "$TMP/cd.conf" > /dev/null 2>&1
conf cd '{ name = "cool"; when = "ticker.last > 1"; cooldown = "3s"; }'
$B --once -c "$TMP/cd.conf" > /dev/null 2>&1
expect_eq "$(sqlite3 "$TMP/cd.db" "select group_concat(state, ' ') from (select state from alert order by ts)")" \
    "firing resolved" "no second firing inside the cooldown"
sleep 3.1
$B --once -c "$TMP/cd.conf" > /dev/null 2>&1
expect_eq "$(sqlite3 "$TMP/cd.db" "select group_concat(state, ' ') from (select state from alert order by ts)")" \
    "firing resolved firing" "fires again after the cooldown"

# 5. a receiver that is down, then back: the alert waits in the spool and is posted once
before=$(nposts)
rctl "/_recv/down?code=503" > /dev/null
conf down '{ name = "outage"; when = "ticker.last > 2"; }' 'max_attempts = 1; retry_initial_interval = "50ms"; retry_max_interval = "100ms";'
sed -i 's/shutdown_timeout = "20s"/shutdown_timeout = "1s"/' "$TMP/down.conf"
$B --once -c "$TMP/down.conf" > /dev/null 2> "$TMP/down.err"
expect_eq "$?" 1 "--once fails while the receiver answers 503"
expect_contains "$TMP/down.err" "stay in the spool" "the alert stays in the webhook's spool"
expect_eq "$(nposts)" "$before" "nothing recorded while down"
expect_eq "$(sqlite3 "$TMP/down.db" "select count(*) from alert")" 1 "SQLite stored the alert meanwhile"
rctl /_recv/up > /dev/null
$B --once -c "$TMP/down.conf" > /dev/null 2> "$TMP/up.err"
expect_eq "$?" 0 "next run succeeds"
expect_eq "$(($(nposts) - before))" 1 "the spooled alert is posted once the receiver is back"
expect_contains <(posts text | tail -1) "outage" "it is the outage rule's alert"
$B --once -c "$TMP/down.conf" > /dev/null 2>&1
expect_eq "$(($(nposts) - before))" 1 "and nothing more (still firing, no re-fire after restart)"

# 6. a 4xx that is not 429: rejected (dead-lettered), not retried forever
rctl "/_recv/down?code=404" > /dev/null
conf gone '{ name = "gone"; when = "ticker.last > 3"; }' 'max_attempts = 1;'
$B --once -c "$TMP/gone.conf" > /dev/null 2> "$TMP/gone.err"
expect_contains "$TMP/gone.err" "refused a alert row: HTTP 404" "a 404 is a permanent refusal"
expect_contains "$TMP/gone.err" "dead_lettered=1" "the batch is dead-lettered"
rctl /_recv/up > /dev/null

# 7. discord and json formats
before=$(nposts)
FMT=json conf fmt '{ name = "fmt"; when = "ticker.last > 1"; message = "{rule} says {value} > {threshold}"; }'
$B --once -c "$TMP/fmt.conf" > /dev/null 2> "$TMP/fmt.err" || cat "$TMP/fmt.err" >&2
expect_eq "$(rctl /_recv/posts | python3 -c 'import json,sys; b=json.load(sys.stdin)[-1]["body"]; print(b["stream"], b["rule"], b["state"], b["value"], b["threshold"], b["message"], type(b["ts"]).__name__)')" \
    "alert fmt firing 4.00000200 1 fmt says 4.00000200 > 1 int" "json: the row, decimals exact"
long=$(printf 'x%.0s' $(seq 1 2500))
FMT=discord conf dc "{ name = \"dc\"; when = \"ticker.last > 1\"; message = \"$long\"; }"
$B --once -c "$TMP/dc.conf" > /dev/null 2> "$TMP/dc.err" || cat "$TMP/dc.err" >&2
expect_eq "$(rctl /_recv/posts | python3 -c 'import json,sys; b=json.load(sys.stdin)[-1]["body"]; print(list(b), len(b["content"]))')" \
    "['content'] 2000" "discord: content cut to 2000 characters"

# 8. --check: an unknown column, with the line and a pointer; other mistakes too
conf bad '{ name = "ok"; when = "ticker.last > 1"; },
    { name = "typo"; when = "ticker.lst > 1"; }'
line=$(grep -n 'ticker.lst' "$TMP/bad.conf" | cut -d: -f1)
$B --check -c "$TMP/bad.conf" > /dev/null 2> "$TMP/bad.err"
expect_eq "$?" 1 "--check rejects the unknown column"
expect_contains "$TMP/bad.err" "bad.conf:$line: rule 'typo': unknown column 'lst' of stream 'ticker'" "names the column and the line"
expect_contains "$TMP/bad.err" "did you mean 'last'?" "suggests the column"
expect_eq "$(grep -A2 'unknown column' "$TMP/bad.err" | tail -1 | awk '{ print index($0, "^") }')" \
    "$(grep -A1 'unknown column' "$TMP/bad.err" | tail -1 | awk '{ print index($0, "lst") }')" "the caret points at the column"
for w in 'ticker.last >' 'nosuch.last > 1' 'change_pct(ticker.last) > 1' 'ticker.last > 1 and book_top.bid > 1' 'foo(ticker.last)'; do
    conf bad2 "{ name = \"b\"; when = \"$w\"; }"
    $B --check -c "$TMP/bad2.conf" > /dev/null 2> "$TMP/bad2.err"
    rc=$?
    [ $rc -eq 1 ] && grep -q "bad2.conf:[0-9]*: rule 'b'" "$TMP/bad2.err" && pass "--check rejects '$w' with file:line" \
        || { fail "--check accepted '$w' (rc $rc)"; cat "$TMP/bad2.err" >&2; }
done
conf bad3 '{ name = "x"; when = "ticker.last > 1"; bogus = 1; }'
$B --check -c "$TMP/bad3.conf" > /dev/null 2> "$TMP/bad3.err"
expect_contains "$TMP/bad3.err" "unknown option 'bogus' for element 1 of 'rules'" "unknown keys inside a rule are refused"
conf bad5 '{ name = "x"; when = "ticker.last > 1"; }'
sed -i 's/rules = ( { name = "x"; when = "ticker.last > 1"; } );/rules = "ticker.last > 1";/' "$TMP/bad5.conf"
$B --check -c "$TMP/bad5.conf" > /dev/null 2> "$TMP/bad5.err"
expect_contains "$TMP/bad5.err" "option 'rules' for plugin 'alerts' expects a list of groups" "rules must be a list of groups"
conf bad4 '{ when = "ticker.last > 1"; }'
$B --check -c "$TMP/bad4.conf" > /dev/null 2> "$TMP/bad4.err"
expect_contains "$TMP/bad4.err" "missing required option 'name'" "a rule without a name is refused"

# 9. the quality preset in one line: a crossed book is not in the recording, but a stale ticker is
conf q '' '' 'preset = "quality"; stale_after = "1s";'
sed -i 's/rules = (  );//' "$TMP/q.conf"
$B --check -c "$TMP/q.conf" > /dev/null 2>&1
expect_eq "$?" 0 "preset = \"quality\" alone is a valid config"
$B --once -c "$TMP/q.conf" > /dev/null 2>&1
expect_eq "$(sqlite3 "$TMP/q.db" "select rule || ' ' || state from alert")" "quality-stale-feed firing" \
    "the recorded ticker (old ts) is a stale feed"

# 9b. several changes of one series within one batch (a batch of 60 candles): one row each, none
#     lost to a key collision; the count of changes is computed from the stored candles themselves
#     The mock's candles depend on the clock, so the band is taken from a first fetch: three
#     closes around the middle of the window (a minute rolling over moves it by one candle only)
{ conf_head; cat <<C
pipelines = ( { name = "k0"; interval = "1m";
  source = { plugin = "binance-spot"; base_url = "$URL"; symbols = ["BTCUSDT"]; streams = ["ohlcv"]; };
  sinks = ( { plugin = "sqlite"; path = "$TMP/k0.db"; } ); } );
C
} > "$TMP/k0.conf"
sed -i "s|state_dir = \"$TMP/state\"|state_dir = \"$TMP/state-k0\"|" "$TMP/k0.conf"
$B --once -c "$TMP/k0.conf" > /dev/null 2>&1
mid=$(sqlite3 "$TMP/k0.db" "select close from ohlcv order by open_time limit 1 offset 30")
lo=$(python3 -c "print(float('$mid') - 1.5)"); hi=$(python3 -c "print(float('$mid') + 1.5)")
{ conf_head; cat <<C
pipelines = ( { name = "k"; interval = "1m";
  source = { plugin = "binance-spot"; base_url = "$URL"; symbols = ["BTCUSDT"]; streams = ["ohlcv"]; };
  transforms = ( { plugin = "alerts"; rules = ( { name = "band"; when = "ohlcv.close > $lo and ohlcv.close < $hi"; } ); } );
  sinks = ( { plugin = "sqlite"; path = "$TMP/k.db"; } ); } );
C
} > "$TMP/k.conf"
sed -i "s|state_dir = \"$TMP/state\"|state_dir = \"$TMP/state-k\"|" "$TMP/k.conf"
$B --once -c "$TMP/k.conf" > /dev/null 2>&1
changes=$(sqlite3 "$TMP/k.db" "select count(*) from (select (close > $lo and close < $hi) c,
    lag(close > $lo and close < $hi, 1, 0) over (order by open_time) p from ohlcv) where c != p")
[ "$changes" -ge 2 ] && pass "the candles enter and leave the band ($changes changes)" || fail "fixture: $changes changes"
expect_eq "$(sqlite3 "$TMP/k.db" "select count(*) from alert")" "$changes" "one alert row per change, in one batch"
expect_eq "$(sqlite3 "$TMP/k.db" "select group_concat(state, ' ') from (select state from alert order by ts)")" \
    "firing resolved" "firing, then resolved"

# 10. a rule that compares pipelines: binance's last against coinbase's (latest-rows table)
{ conf_head; cat <<C
pipelines = (
  { name = "cb"; interval = "1s";
    source = { plugin = "coinbase"; base_url = "$URL"; symbols = ["BTC-USD"]; streams = ["ticker"]; };
    sinks = ( { plugin = "sqlite"; path = "$TMP/cb.db"; } ); },
  { name = "bn"; interval = "1s";
    source = { plugin = "binance-spot"; base_url = "$URL"; symbols = ["BTCUSDT"]; streams = ["ticker"]; };
    transforms = ( { plugin = "alerts"; rules = (
      { name = "diverge"; when = "latest(ticker.last, \"coinbase\", \"BTC-USD\") - ticker.last > 100"; } ); } );
    sinks = ( { plugin = "sqlite"; path = "$TMP/x.db"; } ); } );
C
} > "$TMP/x.conf"
sed -i "s|state_dir = \"$TMP/state\"|state_dir = \"$TMP/state-x\"|" "$TMP/x.conf"
. "$COINPIPE_SRC/tests/services/free-port.sh"
addr="127.0.0.1:$(free_port)"
sed -i "s|shutdown_timeout = \"20s\"; };|shutdown_timeout = \"20s\"; http_listen = \"$addr\"; };|" "$TMP/x.conf"
$B -c "$TMP/x.conf" > /dev/null 2> "$TMP/x.err" &
xpid=$!
wait_for "[ \"\$(sqlite3 $TMP/x.db 'select count(*) from alert' 2>/dev/null)\" = 1 ]" 15 \
    && pass "the divergence fires once coinbase's ticker is in the latest-rows table" \
    || { fail "no divergence alert"; cat "$TMP/x.err" >&2; }
sleep 2.5
if command -v curl > /dev/null; then
    curl -sf "http://$addr/metrics" > "$TMP/metrics"
    expect_contains "$TMP/metrics" "coinpipe_alerts_firing 1" "/metrics: one rule firing"
fi
kill -HUP $xpid # a reload while firing: the new instance reads the state, nothing new is emitted
sleep 2.5
grep -q "reload" "$TMP/x.err" && pass "reloaded" || fail "no reload in the log"
kill -TERM $xpid; wait $xpid
expect_eq "$(sqlite3 "$TMP/x.db" "select rule || ' ' || state || ' ' || (threshold = 100) from alert")" "diverge firing 1" \
    "once, over several cycles"
# 11. a feed that stops altogether: every cycle fails (the exchange answers 400), so no row passes
#     the transform; stale() is evaluated at the tick after each cycle, fires once, and resolves
#     when data comes back. book_top is stamped when received, so it is fresh while it flows.
ctl /_mock/reset
before=$(nposts)
{ conf_head; cat <<C
pipelines = ( { name = "st"; interval = "1s";
  source = { plugin = "binance-spot"; base_url = "$URL"; symbols = ["BTCUSDT"]; streams = ["book_top"]; };
  transforms = ( { plugin = "alerts"; rules = ( { name = "feed-stale"; when = "stale(book_top, 2s)"; } ); } );
  sinks = ( { plugin = "sqlite"; path = "$TMP/st.db"; },
            { plugin = "webhook"; url = "$RECV/hooks/T000/SECRET-TOKEN"; format = "json"; per_minute = 100000; } ); } );
C
} > "$TMP/st.conf"
sed -i "s|state_dir = \"$TMP/state\"|state_dir = \"$TMP/state-st\"|" "$TMP/st.conf"
$B -c "$TMP/st.conf" > /dev/null 2> "$TMP/st.err" &
spid=$!
wait_for "[ \"\$(sqlite3 $TMP/st.db 'select count(*) from book_top' 2>/dev/null)\" -ge 1 ]" 15 \
    || { fail "no book_top collected"; cat "$TMP/st.err" >&2; }
ctl "/_mock/fault?path=/api/v3/depth&kind=status&status=400&count=-1"
wait_for "[ \"\$(sqlite3 $TMP/st.db \"select count(*) from alert where state = 'firing'\" 2>/dev/null)\" = 1 ]" 15 \
    && pass "stale() fires while every cycle fails" || { fail "no firing row while the feed is down"; cat "$TMP/st.err" >&2; }
nrows=$(sqlite3 "$TMP/st.db" "select count(*) from book_top")
sleep 3 # several more failed cycles: still one firing row
expect_eq "$(sqlite3 "$TMP/st.db" "select count(*) from book_top")" "$nrows" "no row collected meanwhile (the source is down)"
grep -q "cycle failed" "$TMP/st.err" && pass "the cycles fail" || fail "no failed cycle in the log"
expect_eq "$(sqlite3 "$TMP/st.db" "select rule || ' ' || state from alert")" "feed-stale firing" "one firing row over the failed cycles"
expect_eq "$(rctl /_recv/posts | python3 -c 'import json,sys; print(" ".join(p["body"]["rule"] + ":" + p["body"]["state"] for p in json.load(sys.stdin)[int(sys.argv[1]):]))' "$before")" \
    "feed-stale:firing" "one webhook post, the firing"
ctl /_mock/reset # the exchange is back
wait_for "[ \"\$(sqlite3 $TMP/st.db \"select count(*) from alert where state = 'resolved'\" 2>/dev/null)\" = 1 ]" 15 \
    && pass "resolves when data comes back" || { fail "no resolved row"; cat "$TMP/st.err" >&2; }
wait_for "[ \$((\$(nposts) - before)) -ge 2 ]" 10
kill -TERM $spid; wait $spid
expect_eq "$(sqlite3 "$TMP/st.db" "select group_concat(state, ' ') from (select state from alert order by ts)")" \
    "firing resolved" "firing, then resolved, nothing more"
expect_eq "$(rctl /_recv/posts | python3 -c 'import json,sys; print(" ".join(p["body"]["state"] for p in json.load(sys.stdin)[int(sys.argv[1]):]))' "$before")" \
    "firing resolved" "the webhook got the firing and the resolution"
finish
