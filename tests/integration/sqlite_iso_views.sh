#!/usr/bin/env bash
# The SQLite sink ships a view per table, "<stream>_iso", with every timestamp column as ISO-8601
# UTC text exact to the millisecond, so that nobody has to convert integer milliseconds by hand.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
command -v sqlite3 > /dev/null || { fail "sqlite3 CLI missing (tools/deps-debian.txt)"; finish; exit 1; }
start_mock
conf_head > "$TMP/c.conf"
cat >> "$TMP/c.conf" <<CONF
pipelines = ( { name = "p"; interval = "1m";
  source = { plugin = "binance-spot"; base_url = "$URL"; symbols = ["BNBBTC"]; streams = ["ticker", "trade", "ohlcv"]; };
  sinks = ( { plugin = "sqlite"; path = "$TMP/c.db"; } ); } );
CONF
"$COINPIPE_BIN" --once -c "$TMP/c.conf" > /dev/null 2> "$TMP/err"
expect_eq "$?" 0 "--once succeeds"
iso() { python3 -c 'import sys, datetime; ms = int(sys.argv[1]); print(datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (ms % 1000))' "$1"; }
for q in "ticker ts" "ticker close_time" "trade ts" "ohlcv open_time" "ohlcv received_at"; do
    set -- $q
    ms=$(sqlite3 "$TMP/c.db" "select $2 from $1 order by $2 desc limit 1")
    expect_eq "$(sqlite3 "$TMP/c.db" "select $2 from ${1}_iso order by $2 desc limit 1")" "$(iso "$ms")" "${1}_iso.$2 is ISO-8601 UTC ($ms)"
done
expect_eq "$(sqlite3 "$TMP/c.db" "select count(*) from ohlcv_iso")" "$(sqlite3 "$TMP/c.db" "select count(*) from ohlcv")" "every row in the view"
expect_eq "$(sqlite3 "$TMP/c.db" "select symbol, trade_id from trade_iso order by trade_id limit 1")" \
    "$(sqlite3 "$TMP/c.db" "select symbol, trade_id from trade order by trade_id limit 1")" "the other columns as they are"
finish
