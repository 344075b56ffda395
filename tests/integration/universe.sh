#!/usr/bin/env bash
# A dynamic universe: a kraken pipeline with symbols = ["top:2"] as a daemon against the mock
# exchange into SQLite. --check explains the rule; the first cycle picks the two pairs with the
# largest 24 h volume in USD; the mock then changes the volumes, the next refresh logs the change
# ("added SOL-USD; removed ETH-USD") and the rows follow (SOL-USD rows from then on, none of
# ETH-USD after them); a rule mixed with symbols is refused with its file:line.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
export COINPIPE_HTTP_BACKOFF_MS=20
start_mock
q() { python3 -c 'import sqlite3, sys; print(*(" ".join(map(str, r)) for r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2])), sep="\n")' "$TMP/u.db" "$1" 2>/dev/null; }
cat > "$TMP/u.conf" <<C
global = { state_dir = "$TMP/state"; log_format = "logfmt"; plugin_path = ["$COINPIPE_BUILD_PLUGIN_DIR"];
           shutdown_timeout = "10s"; };
pipelines = ( { name = "kraken-top"; interval = "1s";
  source = { plugin = "kraken"; base_url = "$URL"; symbols = ["top:2"]; streams = ["ticker"];
             universe_quote = "USD"; universe_refresh = "3s"; requests_per_minute = 6000.0; };
  sinks = ( { plugin = "sqlite"; path = "$TMP/u.db"; } ); } );
C
"$COINPIPE_BIN" run --check -c "$TMP/u.conf" > "$TMP/check.out" 2>&1; rc=$?
expect_eq "$rc" 0 "--check accepts the rule"
expect_contains "$TMP/check.out" "u.conf:4: note: option 'symbols' for plugin 'kraken': \"top:2\" collects the 2 Kraken pairs quoted in USD with the largest 24 h volume on the exchange itself (universe_source = exchange); resolved at the first cycle and again every 3s (universe_refresh)" \
    "--check explains the rule with its file:line"
"$COINPIPE_BIN" -c "$TMP/u.conf" > /dev/null 2> "$TMP/d.err" &
pid=$!; PIDS+=($pid)
wait_for "[ \"\$(q \"select count(distinct symbol) from ticker\")\" = 2 ]" 30 && pass "the first cycles collect two pairs" || fail "no rows"
expect_eq "$(q "select distinct symbol from ticker order by symbol" | tr '\n' ' ')" "BTC-USD ETH-USD " "BTC-USD and ETH-USD by volume"
expect_contains "$TMP/d.err" "universe: 2 of top 2 by 24 h volume in USD: added BTC-USD, ETH-USD; removed none" "the first set is logged"
ctl "/_mock/config?kraken_volume=SOLUSD:9000"
wait_for "grep -q 'added SOL-USD; removed ETH-USD' $TMP/d.err" 30 && pass "the change is logged at the next refresh" || fail "no change logged"
wait_for "[ \"\$(q \"select count(*) from ticker where symbol = 'SOL-USD'\")\" -ge 2 ] 2>/dev/null" 30 && pass "SOL-USD rows follow" || fail "no SOL-USD rows"
expect_eq "$(q "select (select max(ts) from ticker where symbol = 'ETH-USD') < (select min(ts) from ticker where symbol = 'SOL-USD')")" 1 \
    "no ETH-USD row after the first SOL-USD row"
expect_eq "$(grep -c 'universe: .*added' "$TMP/d.err")" 2 "an unchanged refresh logs nothing at info"
kill -TERM $pid; wait $pid; rc=$?
expect_eq "$rc" 0 "SIGTERM exits 0"

sed -i 's/symbols = \["top:2"\]/symbols = ["top:2", "XBTUSD"]/' "$TMP/u.conf"
"$COINPIPE_BIN" run --check -c "$TMP/u.conf" > "$TMP/bad.out" 2>&1; rc=$?
expect_eq "$rc" 1 "--check refuses a rule mixed with symbols"
expect_contains "$TMP/bad.out" "u.conf:4: option 'symbols' for plugin 'kraken': a rule such as \"top:50\" stands alone" "the refusal names the place"
finish
