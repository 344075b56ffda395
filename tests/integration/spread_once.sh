#!/usr/bin/env bash
# spread under --once: the first cycle's book_top rows reach the spread transform before their
# book_level rows; the stored spread row must be the complete one (bid_depth and ask_depth set)
# in SQLite and PostgreSQL, and every sink gets one spread row per symbol, not an incomplete
# row followed by the complete one.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
command -v sqlite3 > /dev/null || { fail "sqlite3 CLI missing (tools/deps-debian.txt)"; finish; exit 1; }
start_mock
pg=""
schema="spread_once_$$"
if [ -n "${COINPIPE_TEST_PG:-}" ]; then
    pg="{ plugin = \"postgresql\"; conninfo = \"$COINPIPE_TEST_PG\"; schema = \"$schema\"; },"
    trap 'psql "$COINPIPE_TEST_PG" -q -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1; cleanup_lib' EXIT
else
    echo "note: COINPIPE_TEST_PG not set, PostgreSQL not checked (run under tests/services/run.sh)"
fi
conf_head > "$TMP/c.conf"
cat >> "$TMP/c.conf" <<CONF
pipelines = (
  { name = "books"; interval = "1m";
    source = { plugin = "binance-spot"; base_url = "$URL"; symbols = ["BNBBTC", "ETHBTC"];
               streams = ["book_top", "book_level"]; depth = 5; };
    transforms = ( { plugin = "spread"; depth_bps = 10000.0; } );
    sinks = ( $pg { plugin = "sqlite"; path = "$TMP/c.db"; },
              { plugin = "stdout"; format = "jsonl"; } ); }
);
CONF
"$COINPIPE_BIN" --once -c "$TMP/c.conf" > "$TMP/out" 2> "$TMP/err"
expect_eq "$?" 0 "--once succeeds"
expect_eq "$(grep -c '"stream":"spread"' "$TMP/out")" 2 "one spread row per symbol reaches the sinks"
expect_eq "$(grep '"stream":"spread"' "$TMP/out" | grep -c '"bid_depth":null')" 0 "no incomplete spread row reaches the sinks"
expect_eq "$(sqlite3 "$TMP/c.db" "select count(*) from spread")" 2 "SQLite: two spread rows"
expect_eq "$(sqlite3 "$TMP/c.db" "select count(*) from spread where bid_depth is null or ask_depth is null")" 0 \
    "SQLite: bid_depth and ask_depth stored"
if [ -n "$pg" ]; then
    expect_eq "$(psql "$COINPIPE_TEST_PG" -At -c "select count(*) from $schema.spread where bid_depth is not null and ask_depth is not null")" 2 \
        "PostgreSQL: bid_depth and ask_depth stored"
fi
finish
