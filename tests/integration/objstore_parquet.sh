#!/usr/bin/env bash
# End to end: pipelines from the mock exchange (binance-spot ticker, ohlcv, book_top, trade and the
# spread transform; binance-futures funding; coingecko markets) each write Parquet to the S3 server
# (s3-csv, zstd) and to Azurite (azure-blob, snappy) and rows to SQLite (decimal_as = "text") in the same
# run. An independent reader (hyparquet) reads every file back and every cell equals SQLite's
# row, decimals exact as text (tests/sinks/parquet_vs_sqlite.mjs); a changed SQLite cell is caught.
# A decimal a column cannot hold refuses its row, logged and counted in coinpipe_rows_invalid_total.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
: "${COINPIPE_TEST_S3_ENDPOINT:?run under tests/services/run.sh (make test)}"
: "${COINPIPE_TEST_AZURE_ENDPOINT:?run under tests/services/run.sh (make test)}"
azurite_up || fail "Azurite does not answer on port $COINPIPE_TEST_AZURE_PORT"
services="$COINPIPE_SRC/tests/services"
export COINPIPE_PLUGIN_PATH="$COINPIPE_BUILD_PLUGIN_DIR"
start_mock
prefix="e2e-$$-$RANDOM"
sinks() { # [a further sink]
    cat <<S
    sinks = ( { plugin = "sqlite"; path = "$TMP/rows.db"; decimal_as = "text"; },
              { plugin = "s3-csv"; bucket = "$COINPIPE_TEST_S3_BUCKET"; endpoint = "$COINPIPE_TEST_S3_ENDPOINT";
                region = "us-east-1"; prefix = "$prefix"; format = "parquet"; compression = "zstd";
                row_group_rows = 40; },
              { plugin = "azure-blob"; account = "$COINPIPE_TEST_AZURE_ACCOUNT";
                container = "$COINPIPE_TEST_AZURE_CONTAINER"; endpoint = "$COINPIPE_TEST_AZURE_ENDPOINT";
                account_key = "$COINPIPE_TEST_AZURE_KEY"; prefix = "$prefix"; format = "parquet";
                compression = "snappy"; block_size = "4K"; }${1:+,
              $1} );
S
}
# Binance's 8 decimals as DECIMAL(18, 8): INT64 decimals (a fourth sink, spot only)
p18="{ plugin = \"s3-csv\"; bucket = \"$COINPIPE_TEST_S3_BUCKET\"; endpoint = \"$COINPIPE_TEST_S3_ENDPOINT\";
                region = \"us-east-1\"; prefix = \"$prefix-p18\"; format = \"parquet\"; decimal_precision = 18;
                decimal_scale = 8; zstd_level = 3; row_group_rows = 300; }"
{ conf_head; cat <<C
pipelines = (
  { name = "spot"; interval = "1h";
    source = { plugin = "binance-spot"; base_url = "$URL"; symbols = ["BTCUSDT", "ETHUSDT"];
               streams = ["ticker", "ohlcv", "book_top", "trade"]; };
    transforms = ( { plugin = "spread"; } );
$(sinks "$p18") },
  { name = "futures"; interval = "1h";
    source = { plugin = "binance-futures"; base_url = "$URL"; symbols = ["BTCUSDT"]; streams = ["funding"]; };
$(sinks) },
  { name = "cg"; interval = "1h";
    source = { plugin = "coingecko"; base_url = "$URL"; streams = ["market"]; top = 20; };
$(sinks) }
);
C
} > "$TMP/c.conf"
if "$COINPIPE_BIN" --once -c "$TMP/c.conf" > /dev/null 2> "$TMP/err"; then
    pass "--once wrote SQLite, S3 and Azurite"
else
    fail "--once failed:"; sed 's/^/    /' "$TMP/err" >&2
fi
expect_not_contains "$TMP/err" "row not written to Parquet" "no row refused for its decimals"
aws=$(command -v /usr/bin/aws || command -v aws)
"$aws" --endpoint-url "$COINPIPE_TEST_S3_ENDPOINT" s3 cp --recursive "s3://$COINPIPE_TEST_S3_BUCKET/$prefix/" "$TMP/s3" > /dev/null 2>&1
mkdir -p "$TMP/az"
for b in $(python3 "$services/azure_blob.py" list "$COINPIPE_TEST_AZURE_CONTAINER" "$prefix/"); do
    mkdir -p "$TMP/az/$(dirname "$b")"
    python3 "$services/azure_blob.py" get "$COINPIPE_TEST_AZURE_CONTAINER" "$b" "$TMP/az/$b"
done
n_s3=$(find "$TMP/s3" -name '*.parquet' 2>/dev/null | wc -l)
n_az=$(find "$TMP/az" -name '*.parquet' 2>/dev/null | wc -l)
[ "$n_s3" -ge 6 ] && pass "$n_s3 Parquet objects in S3" || fail "only $n_s3 Parquet objects in S3"
expect_eq "$n_az" "$n_s3" "as many blobs in Azurite"
compare() { # label dir
    if SERVICES_DIR="$services" node "$COINPIPE_SRC/tests/sinks/parquet_vs_sqlite.mjs" "$2" "$TMP/rows.db" > "$TMP/$1.out" 2>&1; then
        pass "$1: every Parquet cell equals SQLite's ($(tail -1 "$TMP/$1.out"))"
    else
        fail "$1: the Parquet files and SQLite differ:"; sed 's/^/    /' "$TMP/$1.out" >&2
    fi
}
"$aws" --endpoint-url "$COINPIPE_TEST_S3_ENDPOINT" s3 cp --recursive "s3://$COINPIPE_TEST_S3_BUCKET/$prefix-p18/" "$TMP/s3p18" > /dev/null 2>&1
compare s3 "$TMP/s3"
compare azure "$TMP/az"
compare s3p18 "$TMP/s3p18"
expect_contains "$TMP/s3p18.out" "decimals INT64(18,8);" "DECIMAL(18, 8) is INT64"
expect_contains "$TMP/s3.out" "decimals FIXED_LEN_BYTE_ARRAY(38,18);" "the default DECIMAL(38, 18) is 16 bytes"
for s in ticker ohlcv book_top trade spread; do
    expect_contains "$TMP/s3p18.out" "$s: " "the DECIMAL(18, 8) objects hold stream $s"
done
grep -q " 0 DELTA_BINARY_PACKED chunks" "$TMP/s3p18.out" && fail "no DELTA_BINARY_PACKED chunk" \
    || pass "integer columns are DELTA_BINARY_PACKED"
for s in ticker ohlcv book_top trade spread funding market; do
    expect_contains "$TMP/s3.out" "$s: " "S3 holds stream $s"
done
expect_contains "$TMP/s3.out" "codecs ZSTD;" "S3 objects are zstd"
expect_contains "$TMP/azure.out" "codecs SNAPPY;" "Azure blobs are snappy"
grep -q "dictionary-encoded chunks" "$TMP/s3.out" && ! grep -q " 0 dictionary-encoded chunks" "$TMP/s3.out" \
    && pass "strings are dictionary-encoded" || fail "no dictionary-encoded chunk"
# the comparison can fail: one decimal changed in SQLite by its last digit
sqlite3 "$TMP/rows.db" "UPDATE ohlcv SET close = close || '1' WHERE rowid IN (SELECT rowid FROM ohlcv LIMIT 1)" 2>/dev/null \
    || sqlite3 "$TMP/rows.db" "UPDATE ohlcv SET close = close || '1' WHERE open_time = (SELECT min(open_time) FROM ohlcv)"
if SERVICES_DIR="$services" node "$COINPIPE_SRC/tests/sinks/parquet_vs_sqlite.mjs" "$TMP/s3" "$TMP/rows.db" > "$TMP/neg.out" 2>&1; then
    fail "a changed decimal in SQLite went unnoticed"
else
    expect_contains "$TMP/neg.out" "FAIL: ohlcv: " "a changed decimal is reported"
fi

# a decimal the column cannot hold (decimal_scale = 0 for candles with cents): the row is refused
# with its stream, row, key and column, counted in coinpipe_rows_invalid_total, never rounded
. "$services/free-port.sh"
port=$(free_port)
{ cat <<C
global = { state_dir = "$TMP/state0"; log_format = "logfmt"; plugin_path = ["$COINPIPE_TEST_PLUGIN_DIR"];
           http_listen = "127.0.0.1:$port"; shutdown_timeout = "20s"; };
pipelines = ( { name = "scale0"; interval = "1h";
    source = { plugin = "binance-spot"; base_url = "$URL"; symbols = ["BTCUSDT"]; streams = ["ohlcv"]; };
    sinks = ( { plugin = "s3-csv"; bucket = "$COINPIPE_TEST_S3_BUCKET"; endpoint = "$COINPIPE_TEST_S3_ENDPOINT";
                region = "us-east-1"; prefix = "$prefix-scale0"; format = "parquet"; decimal_scale = 0; } ); } );
C
} > "$TMP/scale0.conf"
"$COINPIPE_BIN" -c "$TMP/scale0.conf" > /dev/null 2> "$TMP/scale0.err" &
pid=$!; PIDS+=($pid)
metric() { curl -sf "http://127.0.0.1:$port/metrics" | awk -v k="$1" 'index($0, k" ") == 1 { print $2 }'; }
if command -v curl > /dev/null && wait_for '[ "$(metric "coinpipe_rows_invalid_total{pipeline=\"scale0\"}")" -ge 1 ] 2>/dev/null' 30; then
    n=$(metric 'coinpipe_rows_invalid_total{pipeline="scale0"}')
    expect_eq "$n" "$(grep -c 'row not written to Parquet' "$TMP/scale0.err")" "each refused row counted once in coinpipe_rows_invalid_total ($n)"
else
    fail "no refused row counted"; sed 's/^/    /' "$TMP/scale0.err" >&2
fi
kill -TERM $pid; wait $pid
expect_contains "$TMP/scale0.err" "s3-csv: stream ohlcv, row 0 (exchange=binance, symbol=BTC-USDT, interval=1m, open_time=" "the refusal names stream, row and key"
expect_contains "$TMP/scale0.err" "has more digits after the point than the column's scale (DECIMAL(38, 0)): row not written to Parquet" "and the column's type"
finish
