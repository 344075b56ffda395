#!/usr/bin/env bash
# The metrics listener: GET /metrics counters move, GET /health turns 503 with a JSON reason
# for a failing pipeline and back to 200 after a reload without it, counters survive the
# reload, `coinpipe status` prints the tables, bad addresses are refused.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
. "$COINPIPE_SRC/tests/services/free-port.sh"
command -v curl > /dev/null || { echo "SKIP: curl is not installed"; exit 77; }
port=$(free_port)
addr="127.0.0.1:$port"
conf() { # conf WITH_BAD
    cat <<CONF
global = { state_dir = "$TMP/state"; log_format = "logfmt"; plugin_path = ["$COINPIPE_TEST_PLUGIN_DIR"];
           http_listen = "$addr"; shutdown_timeout = "20s"; };
pipelines = (
  { name = "good"; interval = "500ms"; source = { plugin = "fake-source"; rows = 2; };
    sinks = ( { plugin = "test-sink"; out = "$TMP/good.out"; } ); }
CONF
    [ "$1" = 1 ] && cat <<CONF
  , { name = "bad"; interval = "500ms"; source = { plugin = "fake-source"; fail = true; };
      sinks = ( { plugin = "test-sink"; out = "$TMP/bad.out"; } ); }
CONF
    echo ");"
}
conf 1 > "$TMP/m.conf"
"$COINPIPE_BIN" -c "$TMP/m.conf" > "$TMP/out" 2> "$TMP/err" &
pid=$!
PIDS+=("$pid")
if wait_port "$port" 20; then pass "listener accepts connections on $addr"; else fail "no listener on $addr"; cat "$TMP/err" >&2; finish; exit 1; fi
metric() { # metric FILE 'name{labels}' -> value
    awk -v k="$2" 'index($0, k" ") == 1 { print $2 }' "$1"
}
wait_for "curl -sf http://$addr/metrics > $TMP/m1 && [ \"\$(metric $TMP/m1 'coinpipe_sink_rows_written_total{pipeline=\"good\",sink=\"test-sink\",plugin=\"test-sink\"}')\" -ge 2 ] 2>/dev/null" 20 \
    && pass "first scrape shows rows written" || fail "no rows written in first scrape"
curl -s -D "$TMP/h1" -o /dev/null "http://$addr/metrics"
expect_contains "$TMP/h1" "text/plain; version=0.0.4" "Prometheus content type"
bad_lines=$(grep -v '^#' "$TMP/m1" | grep -Evc '^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? -?[0-9.e+Inf]+$')
expect_eq "$bad_lines" 0 "every sample line is valid exposition format"
for m in coinpipe_pipeline_cycles_total coinpipe_pipeline_cycle_duration_seconds_bucket coinpipe_pipeline_skipped_ticks_total \
    coinpipe_rows_emitted_total coinpipe_sink_rows_written_total coinpipe_sink_queue_depth coinpipe_sink_retries_total \
    coinpipe_sink_batches_dead_lettered_total coinpipe_sink_batches_dropped_total coinpipe_sink_spool_bytes coinpipe_sink_batches_rejected_total coinpipe_pipeline_last_success_timestamp_seconds \
    coinpipe_http_requests_total; do
    grep -q "^# TYPE $m\|^$m" "$TMP/m1" || fail "metric $m missing"
done
pass "all metric families present"
c1=$(metric "$TMP/m1" 'coinpipe_pipeline_cycles_total{pipeline="good",plugin="fake-source"}')
r1=$(metric "$TMP/m1" 'coinpipe_rows_emitted_total{pipeline="good",kind="source",plugin="fake-source",instance="fake-source"}')
sleep 1.5
curl -sf "http://$addr/metrics" > "$TMP/m2"
c2=$(metric "$TMP/m2" 'coinpipe_pipeline_cycles_total{pipeline="good",plugin="fake-source"}')
r2=$(metric "$TMP/m2" 'coinpipe_rows_emitted_total{pipeline="good",kind="source",plugin="fake-source",instance="fake-source"}')
w2=$(metric "$TMP/m2" 'coinpipe_sink_rows_written_total{pipeline="good",sink="test-sink",plugin="test-sink"}')
[ "${c2:-0}" -gt "${c1:-0}" ] && pass "cycles counter moves ($c1 -> $c2)" || fail "cycles did not move ($c1 -> $c2)"
[ "${r2:-0}" -gt "${r1:-0}" ] && pass "rows emitted counter moves ($r1 -> $r2)" || fail "rows emitted did not move ($r1 -> $r2)"
expect_eq "$(metric "$TMP/m2" 'coinpipe_pipeline_cycle_duration_seconds_count{pipeline="good"}')" "$c2" "histogram count equals cycles"
expect_eq "$(metric "$TMP/m2" 'coinpipe_pipeline_cycle_duration_seconds_bucket{pipeline="good",le="+Inf"}')" "$c2" "+Inf bucket equals cycles"
fails=$(metric "$TMP/m2" 'coinpipe_pipeline_cycle_failures_total{pipeline="bad",plugin="fake-source"}')
[ "${fails:-0}" -ge 1 ] && pass "failed cycles counted ($fails)" || fail "failed cycles not counted"
[ "$(metric "$TMP/m2" 'coinpipe_pipeline_last_success_timestamp_seconds{pipeline="good"}' | cut -d. -f1)" -gt 1700000000 ] \
    && pass "last success timestamp set" || fail "no last success timestamp"

code=$(curl -s -o "$TMP/health" -w '%{http_code}' "http://$addr/health")
expect_eq "$code" 503 "/health is 503 while a pipeline fails"
expect_contains "$TMP/health" '"status":"unhealthy","reason":"pipeline '"'"'bad'"'"' has not succeeded' "/health gives the reason in JSON"
"$COINPIPE_BIN" status -c "$TMP/m.conf" > "$TMP/status" 2>&1
expect_eq "$?" 1 "coinpipe status exits 1 when unhealthy"
expect_contains "$TMP/status" "UNHEALTHY" "status shows the health"
expect_contains "$TMP/status" "PIPELINE                   CYCLES  FAILED  SKIPPED" "status prints the pipeline table"
expect_contains "$TMP/status" "good/test-sink" "status prints the sink table"

conf 0 > "$TMP/m.conf"
kill -HUP "$pid"
wait_for "grep -q 'reload done' $TMP/err" 20 && pass "reload without the failing pipeline" || fail "reload"
code=$(curl -s -o "$TMP/health" -w '%{http_code}' "http://$addr/health")
expect_eq "$code" 200 "/health is 200 once every pipeline succeeds"
expect_contains "$TMP/health" '{"status":"ok"' "/health JSON says ok"
curl -sf "http://$addr/metrics" > "$TMP/m3"
c3=$(metric "$TMP/m3" 'coinpipe_pipeline_cycles_total{pipeline="good",plugin="fake-source"}')
w3=$(metric "$TMP/m3" 'coinpipe_sink_rows_written_total{pipeline="good",sink="test-sink",plugin="test-sink"}')
[ "${c3:-0}" -ge "${c2:-0}" ] && pass "cycles survive the reload ($c2 -> $c3)" || fail "cycles reset by reload ($c2 -> $c3)"
[ "${w3:-0}" -ge "${w2:-0}" ] && pass "rows written survive the reload ($w2 -> $w3)" || fail "rows written reset ($w2 -> $w3)"
"$COINPIPE_BIN" status "$addr" > "$TMP/status" 2>&1
expect_eq "$?" 0 "coinpipe status ADDR exits 0 when healthy"
expect_contains "$TMP/status" "healthy" "status reports healthy"
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' "http://$addr/nope")" 404 "unknown path is 404"
expect_eq "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://$addr/metrics")" 405 "POST is 405"

# a second instance on the same address fails to start, clearly
"$COINPIPE_BIN" -c "$TMP/m.conf" > /dev/null 2> "$TMP/err2"
expect_eq "$?" 1 "address in use: exit 1"
expect_contains "$TMP/err2" "cannot listen" "address in use is reported"
kill -TERM "$pid"
wait "$pid"
expect_eq "$?" 0 "SIGTERM with the listener running exits 0"

sed -i "s|http_listen = \"$addr\"|http_listen = \"localhost:9273\"|" "$TMP/m.conf"
"$COINPIPE_BIN" --check -c "$TMP/m.conf" > "$TMP/check" 2>&1
expect_contains "$TMP/check" "m.conf:2: global.http_listen: \"localhost:9273\": the host must be a numeric IP address" "--check refuses a non-numeric listen address"
"$COINPIPE_BIN" status 127.0.0.1:1 > "$TMP/status" 2>&1
expect_eq "$?" 1 "status of nothing listening exits 1"
expect_contains "$TMP/status" "cannot reach" "status explains an unreachable instance"
finish
