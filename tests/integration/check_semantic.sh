#!/usr/bin/env bash
# Semantic checks (the plugins' check callbacks): `run --check` refuses what a start would refuse,
# each problem on one line with the file and the offending option's line first and what is allowed;
# a start (--once) refuses the same config with the same lines, before any request is sent.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
B=$COINPIPE_BIN

# check NAME SOURCE-LINES EXPECTED-STDERR: writes $TMP/NAME.conf with the source group (lines 3-5)
# and asserts --check and --once both exit 1 with exactly EXPECTED-STDERR
check() {
    local name=$1 src=$2 want=$3 conf="$TMP/$1.conf"
    { conf_head; printf 'pipelines = ( { name = "p"; interval = "1m";\n%s\n    sinks = ( { plugin = "stdout"; } ); } );\n' "$src"; } > "$conf"
    $B run --check -c "$conf" > "$TMP/$name.out" 2> "$TMP/$name.err"; rc=$?
    expect_eq "$rc" 1 "$name: --check exits 1"
    expect_eq "$(cat "$TMP/$name.err")" "$(printf '%s\ncoinpipe: %s: %s' "$want" "$conf" "$4")" "$name: --check's stderr"
    $B --once -c "$conf" > "$TMP/$name.out" 2> "$TMP/$name.err2"; rc=$?
    expect_eq "$rc" 1 "$name: a start exits 1"
    expect_eq "$(cat "$TMP/$name.err2")" "$(cat "$TMP/$name.err")" "$name: a start reports the same lines"
}

# 1. Binance spot: unknown stream names, each with what the source collects and where the name comes from
check binance_streams '    source = { plugin = "binance-spot"; symbols = ["BTCUSDT"];
               streams = ["tickers", "depth"]; };' \
"$TMP/binance_streams.conf:4: option 'streams' for plugin 'binance-spot': unknown stream \"tickers\" (this source collects: ticker, book_top, book_level, trade, ohlcv); 24-hour tickers (/ticker/24hr) are the ticker stream
$TMP/binance_streams.conf:4: option 'streams' for plugin 'binance-spot': unknown stream \"depth\" (this source collects: ticker, book_top, book_level, trade, ohlcv); the order book (/depth) is collected as book_top (best bid and ask) and book_level (depth levels)" "2 errors"

# 2. CoinGecko: spot_price needs coins
check coingecko_coins '    source = { plugin = "coingecko";
               streams = ["market", "spot_price"]; };' \
"$TMP/coingecko_coins.conf:4: option 'streams' for plugin 'coingecko': stream \"spot_price\" needs the option coins, a list of CoinGecko coin ids such as [\"bitcoin\", \"ethereum\"] (market and global need none)" "1 error"

# 3. Coinbase: "stats" is not a stream, and the reason is named
check coinbase_stats '    source = { plugin = "coinbase"; symbols = ["BTC-USD"];
               streams = ["ticker", "stats"]; };' \
"$TMP/coinbase_stats.conf:4: option 'streams' for plugin 'coinbase': unknown stream \"stats\" (this source collects: ticker, book_top, book_level, trade, ohlcv); Coinbase's 24-hour stats (/products/{id}/stats) are not a stream of their own: the ticker stream carries them (open, high, low and volume of each ticker row)" "1 error"

# 4. kline_interval as each exchange spells it: 60m is neither Binance's nor Coinbase's 1h
check binance_interval '    source = { plugin = "binance-spot"; symbols = ["BTCUSDT"]; streams = ["ohlcv"];
               kline_interval = "60m"; };' \
"$TMP/binance_interval.conf:4: option 'kline_interval' for plugin 'binance-spot': \"60m\" is not a Binance candle interval (allowed: 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w); write \"1h\" for this length" "1 error"
check coinbase_interval '    source = { plugin = "coinbase"; symbols = ["BTC-USD"]; streams = ["ohlcv"];
               kline_interval = "60m"; };' \
"$TMP/coinbase_interval.conf:4: option 'kline_interval' for plugin 'coinbase': \"60m\" is not a Coinbase candle interval (allowed: 1m 5m 15m 1h 6h 1d; granularities 60 300 900 3600 21600 86400 seconds); write \"1h\" for this length" "1 error"
check futures_interval '    source = { plugin = "binance-futures"; symbols = ["BTCUSDT"]; streams = ["ohlcv"];
               kline_interval = "2m"; };' \
"$TMP/futures_interval.conf:4: option 'kline_interval' for plugin 'binance-futures': \"2m\" is not a Binance candle interval (allowed: 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w)" "1 error"

# a near miss gets "did you mean"; every problem of a block is reported, each at its option's line
check coinbase_defaults '    source = { plugin = "coinbase"; symbols = ["BTC-USD", "not a product"];
               streams = ["tickr"]; };' \
"$TMP/coinbase_defaults.conf:4: option 'streams' for plugin 'coinbase': unknown stream \"tickr\" (this source collects: ticker, book_top, book_level, trade, ohlcv); did you mean \"ticker\"?
$TMP/coinbase_defaults.conf:3: option 'symbols' for plugin 'coinbase': \"not a product\" is not a Coinbase product id such as BTC-USD" "2 errors"

# an option the config does not write (a default) is reported at the line of the plugin's block
check stream_mode '    source = { plugin = "binance-futures"; symbols = ["BTCUSDT"];
               mode = "stream"; };' \
"$TMP/stream_mode.conf:3: option 'streams' for plugin 'binance-futures': mode = \"stream\" has no open_interest stream (use mode = \"poll\" for it, in a pipeline of its own)" "1 error"
check liq_poll '    source = { plugin = "binance-futures"; symbols = ["BTCUSDT"]; streams = ["liquidation"]; };' \
"$TMP/liq_poll.conf:3: option 'streams' for plugin 'binance-futures': liquidation is streamed only: set mode = \"stream\" (in a pipeline without interval)" "1 error"

# the same sources, configured right, pass --check (and the shipped examples do)
{ conf_head; cat <<'C'
pipelines = ( { name = "p"; interval = "1m";
    source = { plugin = "coinbase"; symbols = ["btc-usd"]; streams = ["ticker", "ohlcv"]; kline_interval = "1h"; };
    sinks = ( { plugin = "stdout"; } ); },
  { name = "q"; interval = "1m";
    source = { plugin = "coingecko"; streams = ["spot_price"]; coins = ["bitcoin"]; };
    sinks = ( { plugin = "stdout"; } ); } );
C
} > "$TMP/good.conf"
$B run --check -c "$TMP/good.conf" > "$TMP/good.out" 2>&1; rc=$?
expect_eq "$rc" 0 "a right config passes --check"
for f in "$COINPIPE_SRC"/etc/examples/*.conf "$COINPIPE_SRC"/etc/coinpipe.conf; do
    COINPIPE_PLUGIN_PATH="$COINPIPE_TEST_PLUGIN_DIR" $B run --check -c "$f" > "$TMP/ex.out" 2>&1; rc=$?
    expect_eq "$rc" 0 "shipped $(basename "$f") passes --check"
done
finish
