#!/usr/bin/env bash
# The shipped examples of etc/examples/ (one per setup coinpipe replaces), each run against the
# mock exchange and the real stores: the S3 server, PostgreSQL and SQLite. A config is used as
# shipped except where it must point at the test services (base_url, S3 endpoint and bucket,
# conninfo, file paths, listener port), rewritten by tests/integration/lib/example_conf.py.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
. "$COINPIPE_SRC/tests/services/free-port.sh"
: "${COINPIPE_TEST_S3_ENDPOINT:?run under tests/services/run.sh (make test)}"
: "${COINPIPE_TEST_PG:?run under tests/services/run.sh (make test)}"
command -v sqlite3 > /dev/null || { fail "sqlite3 CLI missing (tools/deps-debian.txt)"; finish; exit 1; }
export COINPIPE_PLUGIN_PATH="$COINPIPE_BUILD_PLUGIN_DIR"
aws=$(command -v /usr/bin/aws || command -v aws)
start_mock
tag="ex$$"
schemas=()
cleanup_pg() { for s in "${schemas[@]:-}"; do [ -n "$s" ] && psql "$COINPIPE_TEST_PG" -q -c "DROP SCHEMA IF EXISTS $s CASCADE" >/dev/null 2>&1; done; }
trap 'cleanup_pg; cleanup_lib' EXIT
# conf NAME [PORT]: etc/examples/NAME.conf pointed at the test services, as $TMP/NAME.conf
conf() {
    python3 "$COINPIPE_SRC/tests/integration/lib/example_conf.py" "$COINPIPE_SRC/etc/examples/$1.conf" \
        --url "$URL" --s3 "$COINPIPE_TEST_S3_ENDPOINT" --bucket "$COINPIPE_TEST_S3_BUCKET" --prefix "$tag/$1" \
        --pg "$COINPIPE_TEST_PG" --schema "${tag}_$2" --dir "$TMP/$1" --port "${3:-0}" > "$TMP/$1.conf"
    schemas+=("${tag}_$2")
}
keys() { "$aws" --endpoint-url "$COINPIPE_TEST_S3_ENDPOINT" s3 ls --recursive "s3://$COINPIPE_TEST_S3_BUCKET/$tag/$1/" | awk '{ print $4 }'; }
# csv_rows NAME STREAM: data rows in the objects of that stream (gzip or not)
csv_rows() {
    rm -rf "$TMP/dl"; "$aws" --endpoint-url "$COINPIPE_TEST_S3_ENDPOINT" s3 cp --recursive \
        "s3://$COINPIPE_TEST_S3_BUCKET/$tag/$1/" "$TMP/dl" > /dev/null 2>&1
    find "$TMP/dl" -path "*/$2/year=*" -name '*.csv*' | while read -r f; do
        case "$f" in *.gz) zcat "$f" ;; *) cat "$f" ;; esac | tail -n +2
    done | wc -l
}
pg() { psql "$COINPIPE_TEST_PG" -At -c "$1"; }
run_once() { # NAME: --check, then one cycle of every pipeline
    "$COINPIPE_BIN" --check -c "$TMP/$1.conf" > "$TMP/$1.check" 2>&1 || { fail "$1: --check"; cat "$TMP/$1.check" >&2; }
    "$COINPIPE_BIN" --once -c "$TMP/$1.conf" > /dev/null 2> "$TMP/$1.err"
    expect_eq "$?" 0 "$1: --once succeeds"
    grep -q 'level=error' "$TMP/$1.err" && { fail "$1: errors logged"; grep 'level=error' "$TMP/$1.err" | head -5 >&2; }
    expect_contains "$TMP/$1.err" 'msg="cycle 1 done' "$1: a line per cycle"
}

# (a) the S3 lake: CoinGecko, Binance and Coinbase as partitioned CSV
n=s3-lake-coingecko-binance-coinbase
conf $n a; run_once $n
keys $n > "$TMP/a.keys"
for s in market global spot_price ticker book_top book_level ohlcv; do
    grep -q "^$tag/$n/my-market-data/crypto/$s/year=[0-9]\{4\}/month=[0-9][0-9]/day=[0-9][0-9]/[a-z-]*-[0-9TZ]*-[0-9a-f]\{16\}\.csv\.gz$" "$TMP/a.keys" \
        && pass "$n: $s objects under my-market-data/crypto/$s/year=/month=/day=/" || { fail "$n: no $s object"; cat "$TMP/a.keys" >&2; }
done
expect_eq "$(csv_rows $n ticker)" 5 "$n: 5 tickers (3 Binance, 2 Coinbase)"
expect_eq "$(csv_rows $n market)" 100 "$n: CoinGecko's top 100"
expect_eq "$(csv_rows $n spot_price)" 3 "$n: the spot prices the mock's recorded payload has (bitcoin usd/eur, ethereum usd)"

# (b) Binance klines: raw and transformed
n=binance-klines-raw-and-transformed
conf $n b; run_once $n
keys $n > "$TMP/b.keys"
expect_eq "$(grep -c "^$tag/$n/my-raw-bucket/binance/ohlcv/year=.*\.csv$" "$TMP/b.keys")" "$(grep -c "^$tag/$n/my-raw-bucket/" "$TMP/b.keys")" \
    "$n: the raw location holds candles only, uncompressed"
grep -q "^$tag/$n/my-transformed-bucket/binance/indicator/year=.*\.csv\.gz$" "$TMP/b.keys" && pass "$n: indicators in the transformed location" \
    || { fail "$n: no indicator object"; cat "$TMP/b.keys" >&2; }
raw=$(csv_rows $n/my-raw-bucket ohlcv)
[ "$raw" -ge 60 ] && pass "$n: $raw raw candles" || fail "$n: $raw raw candles"
expect_eq "$(csv_rows $n/my-transformed-bucket indicator)" "$(csv_rows $n/my-transformed-bucket ohlcv)" "$n: one indicator row per transformed candle"

# (c) ticker, spread and the average of the last five trades, every five minutes, into PostgreSQL
n=ticker-spread-last-trades-5m
conf $n c; run_once $n
s="${tag}_c"
expect_eq "$(pg "select count(*) from $s.ticker")" 5 "$n: 5 tickers"
expect_eq "$(pg "select count(*) from $s.spread where bid_depth is null and spread_bps is not null")" 5 "$n: 5 spreads (no book levels asked: no depth)"
expect_eq "$(pg "select count(*) from $s.trade_summary t where window_size = 5 and mean_price > 0 and vwap > 0 and volume > 0 and trades = (select least(5, count(*)) from $s.trade r where r.exchange = t.exchange and r.symbol = t.symbol)")" 5 \
    "$n: one summary of the last (up to) five trades for each of the 5 symbols"
expect_eq "$(pg "select bool_and(abs(t.mean_price - a.avg) < 1e-9) from $s.trade_summary t join (select exchange, symbol, avg(price) as avg from $s.trade group by 1, 2) a using (exchange, symbol)")" t \
    "$n: mean_price is the average of the stored trades"

# (d) the SQLite tracker with its dashboard
n=sqlite-tracker-dashboard
port=$(free_port)
conf $n d "$port"
"$COINPIPE_BIN" -c "$TMP/$n.conf" > /dev/null 2> "$TMP/$n.err" &
pid=$!; PIDS+=($pid)
if wait_for "curl -sf http://127.0.0.1:$port/api/v1/symbols > $TMP/d.sym && grep -q BTC-USDT $TMP/d.sym && sqlite3 $TMP/$n/tracker.db 'select count(*) from market' 2>/dev/null | grep -qv '^0$'" 30; then
    pass "$n: the dashboard lists the collected symbols"
else
    fail "$n: dashboard or database not ready in 30 s"; tail -5 "$TMP/$n.err" >&2
fi
curl -sf "http://127.0.0.1:$port/" | grep -qi '<html' && pass "$n: the dashboard page is served" || fail "$n: no dashboard page"
kill -TERM $pid; wait $pid
expect_eq "$?" 0 "$n: SIGTERM exits 0"
db="$TMP/$n/tracker.db"
expect_eq "$(sqlite3 "$db" "select count(*) from ticker")" 3 "$n: 3 tickers"
[ "$(sqlite3 "$db" "select count(*) from indicator")" -gt 0 ] && pass "$n: indicators" || fail "$n: no indicator rows"
expect_eq "$(sqlite3 "$db" "select count(*) from market")" 20 "$n: CoinGecko's top 20"
sqlite3 "$db" "select ts from ticker_iso limit 1" | grep -q '^20[0-9-]*T[0-9:]*\.[0-9]\{3\}Z$' && pass "$n: readable times in ticker_iso" \
    || fail "$n: ticker_iso"

# (e) CoinGecko and Binance USD-M into PostgreSQL with indicators
n=coingecko-binance-futures-postgresql-indicators
conf $n e; run_once $n
s="${tag}_e"
expect_eq "$(pg "select count(*) from $s.market")" 250 "$n: CoinGecko's top 250"
expect_eq "$(pg "select count(*) from $s.global")" 1 "$n: the global figures"
expect_eq "$(pg "select count(distinct symbol) from $s.funding")" 2 "$n: funding of both perpetuals"
expect_eq "$(pg "select count(*) from $s.open_interest")" 2 "$n: open interest of both perpetuals"
expect_eq "$(pg "select count(*) from $s.book_top where symbol like '%-PERP'")" 2 "$n: book tops of both perpetuals"
expect_eq "$(pg "select count(*) > 0 from $s.indicator where symbol = 'BTC-USDT-PERP' and rsi_14 is not null and macd is not null and sma_20 is not null and ema_20 is not null and pivot is not null and fib_618 is not null")" t \
    "$n: RSI, MACD, SMA, EMA, pivots and Fibonacci levels"
finish
