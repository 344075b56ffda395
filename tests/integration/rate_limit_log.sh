#!/usr/bin/env bash
# A rate-limit wait longer than a second is not silent: logged once at info with the host and the
# budget, later waits at debug.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
start_mock
export COINPIPE_HTTP_RATE_WINDOW_MS=2500 # the budget's window, shortened for the test
conf_head > "$TMP/c.conf"
cat >> "$TMP/c.conf" <<CONF
pipelines = ( { name = "p"; interval = "1m";
  source = { plugin = "binance-spot"; base_url = "$URL"; symbols = ["BNBBTC", "ETHBTC"]; streams = ["book_top"];
             weight_per_minute = 6.0; };
  sinks = ( { plugin = "stdout"; format = "csv"; } ); } );
CONF
"$COINPIPE_BIN" --once -c "$TMP/c.conf" > /dev/null 2> "$TMP/err"
expect_eq "$?" 0 "--once succeeds after waiting"
host=${URL#http://}; host=${host%%:*}
expect_eq "$(grep -c 'level=info.*msg="http: waiting' "$TMP/err")" 1 "one info line for the waits"
expect_contains "$TMP/err" "for $host: request budget 6 weight/window spent (the source's rate-limit option sets it" \
    "it names the host and the budget"
finish
