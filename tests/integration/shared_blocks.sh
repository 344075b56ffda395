#!/usr/bin/env bash
# A source or sink defined once in the top-level `shared` group and used by several pipelines
# (use = "NAME"), each pipeline adding or overriding options; wrong references and bad options
# in a shared block are reported with their own file:line.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
command -v sqlite3 > /dev/null || { fail "sqlite3 CLI missing (tools/deps-debian.txt)"; finish; exit 1; }
start_mock
conf_head > "$TMP/c.conf"
cat >> "$TMP/c.conf" <<CONF
shared = {
  db = { plugin = "sqlite"; path = "$TMP/c.db"; };
  spot = { plugin = "binance-spot"; base_url = "$URL"; symbols = ["BNBBTC", "ETHBTC"]; streams = ["ticker"]; };
};
pipelines = (
  { name = "tickers"; interval = "1m"; source = { use = "spot"; }; sinks = ( { use = "db"; } ); },
  { name = "books"; interval = "1m";
    source = { use = "spot"; streams = ["book_top"]; symbols = ["BNBBTC"]; };
    sinks = ( { use = "db"; }, { plugin = "stdout"; format = "csv"; } ); }
);
CONF
"$COINPIPE_BIN" --check -c "$TMP/c.conf" > "$TMP/check.out" 2>&1
expect_eq "$?" 0 "--check accepts shared blocks"
"$COINPIPE_BIN" --once -c "$TMP/c.conf" > /dev/null 2> "$TMP/err"
expect_eq "$?" 0 "--once succeeds"
expect_eq "$(sqlite3 "$TMP/c.db" "select count(*) from ticker")" 2 "the shared source's symbols and streams"
expect_eq "$(sqlite3 "$TMP/c.db" "select group_concat(symbol) from book_top")" "BNB-BTC" "a pipeline's own options override the block's"
expect_contains "$TMP/err" "sink books/db stats" "the instance is named after the block"
# mistakes
line() { grep -n -- "$1" "$2" | head -1 | cut -d: -f1; }
cat > "$TMP/bad.conf" <<CONF
global = { state_dir = "$TMP/state"; plugin_path = ["$COINPIPE_TEST_PLUGIN_DIR"]; };
shared = {
  db = { plugin = "sqlite"; paht = "$TMP/c.db"; };
};
pipelines = (
  { name = "a"; interval = "1m"; source = { plugin = "fake-source"; }; sinks = ( { use = "bd"; } ); },
  { name = "b"; interval = "1m"; source = { plugin = "fake-source"; }; sinks = ( { use = "db"; path = "$TMP/c.db"; } ); }
);
CONF
"$COINPIPE_BIN" --check -c "$TMP/bad.conf" > "$TMP/bad.out" 2>&1
expect_eq "$?" 1 "--check refuses the mistakes"
expect_contains "$TMP/bad.out" "bad.conf:$(line 'use = "bd"' "$TMP/bad.conf"): pipeline 'a': use = \"bd\": no such block in the top-level 'shared' group (defined: db)" \
    "a wrong reference: file:line and the blocks defined"
expect_contains "$TMP/bad.out" "bad.conf:$(line 'paht' "$TMP/bad.conf"): unknown option 'paht'" "a typo in a shared block: at its own line"
finish
