#!/usr/bin/env bash
# coinpipe_rows_invalid_total: rows a source drops for a bad value are counted per pipeline on
# /metrics (coingecko markets from a recorded payload with 1e400 and an integer beyond uint64:
# two of four coins dropped, each logged), zero for a pipeline with clean values; `coinpipe
# status` shows the same counts in its pipeline table.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
. "$COINPIPE_SRC/tests/services/free-port.sh"
command -v curl > /dev/null || { echo "SKIP: curl is not installed"; exit 77; }
start_mock
ctl "/_mock/fault?path=/api/v3/coins/markets&kind=fixture&count=-1&file=bad_values/coingecko_coins_markets.json"
port=$(free_port)
cat > "$TMP/c.conf" <<CONF
global = { state_dir = "$TMP/state"; log_format = "logfmt"; plugin_path = ["$COINPIPE_BUILD_PLUGIN_DIR"];
           http_listen = "127.0.0.1:$port"; shutdown_timeout = "5s"; };
pipelines = (
  { name = "cg"; interval = "1h"; source = { plugin = "coingecko"; base_url = "$URL";
      streams = ["market"]; top = 4; };
    sinks = ( { plugin = "stdout"; format = "jsonl"; } ); },
  { name = "cg-global"; interval = "1h"; source = { plugin = "coingecko"; base_url = "$URL";
      streams = ["global"]; };
    sinks = ( { plugin = "stdout"; format = "jsonl"; } ); }
);
CONF
"$COINPIPE_BIN" -c "$TMP/c.conf" > "$TMP/out" 2> "$TMP/err" &
PIDS+=($!)
metric() { awk -v k="$2" 'index($0, k" ") == 1 { print $2 }' "$1"; }
if wait_for "curl -sf http://127.0.0.1:$port/metrics > $TMP/m && [ \"\$(metric $TMP/m 'coinpipe_pipeline_cycles_total{pipeline=\"cg\",plugin=\"coingecko\"}')\" -ge 1 ] 2>/dev/null && [ \"\$(metric $TMP/m 'coinpipe_pipeline_cycles_total{pipeline=\"cg-global\",plugin=\"coingecko\"}')\" -ge 1 ] 2>/dev/null" 30; then
    pass "both pipelines ran a cycle"
else
    fail "no cycle within 30 s"; sed 's/^/    /' "$TMP/err" >&2
fi
grep -q '^# TYPE coinpipe_rows_invalid_total counter' "$TMP/m" && pass "rows_invalid is a counter" || fail "no TYPE line"
expect_eq "$(metric "$TMP/m" 'coinpipe_rows_invalid_total{pipeline="cg"}')" 2 "two bad coins counted for cg"
expect_eq "$(metric "$TMP/m" 'coinpipe_rows_invalid_total{pipeline="cg-global"}')" 0 "none for the clean pipeline"
expect_eq "$(grep -c '"coin_id":"bitcoin"\|"coin_id":"solana"' "$TMP/out")" 2 "the good coins' rows are written"
expect_contains "$TMP/err" "field 'market_cap': not a finite decimal number; row dropped" "each dropped row logged"
# coinpipe status shows the count in the pipeline table's INVALID column
"$COINPIPE_BIN" status "127.0.0.1:$port" > "$TMP/status" 2>&1
expect_contains "$TMP/status" "ROWS OUT  INVALID  LAST SUCCESS" "status: the pipeline table has an INVALID column"
col() { awk -v p="$1" '$1 == p { print $7 }' "$TMP/status"; } # PIPELINE CYCLES FAILED SKIPPED AVG ROWS INVALID
expect_eq "$(col cg)" 2 "status: two invalid rows for cg"
expect_eq "$(col cg-global)" 0 "status: none for cg-global"
finish
