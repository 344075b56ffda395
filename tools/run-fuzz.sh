#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang in build-fuzz/ and runs each one for a
# bounded time from a seed corpus made of tests/fixtures. Exits non-zero when a target crashes
# (the reproducer and the log stay in build-fuzz/fuzz-out/).
# Usage: tools/run-fuzz.sh [TARGET...]     FUZZ_SECONDS (default 20) per target, FUZZ_JOBS for the build
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-20}
if ! command -v clang > /dev/null; then
    echo "run-fuzz: clang not found; skipping the fuzz targets" >&2
    exit 0
fi
flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCOINPIPE_FUZZ=ON \
    "-DCMAKE_C_FLAGS=$flags" > /dev/null || exit 1
cmake --build build-fuzz -j"${FUZZ_JOBS:-2}" --target fuzz_all > build-fuzz/fuzz-build.log 2>&1 || {
    tail -30 build-fuzz/fuzz-build.log >&2
    exit 1
}
bin=build-fuzz/fuzz
out=build-fuzz/fuzz-out
fx=tests/fixtures
rm -rf "$out"
mkdir -p "$out"

# seed corpus of each target: fixture files (coinbase: a selector byte, then the payload)
seed() { # target files...
    local d="$out/$1/corpus"
    mkdir -p "$d"
    shift
    for f in "$@"; do cp "$f" "$d/"; done
}
seed fuzz_binance_ticker $fx/binance/ticker_24hr.json $fx/binance_futures/ticker_24hr.json
seed fuzz_binance_depth $fx/binance/depth.json $fx/binance_futures/depth.json
seed fuzz_binance_klines $fx/binance/klines.json
seed fuzz_binance_trades $fx/binance/trades.json
seed fuzz_binance_futures
for i in 0:premiumIndex 1:openInterest; do
    { printf '%s' "${i%%:*}"; cat "$fx/binance_futures/${i#*:}.json"; } > "$out/fuzz_binance_futures/corpus/${i#*:}"
done
printf '2[{"symbol":"BTCUSDT","fundingTime":1698768000000,"fundingRate":"0.00010000","markPrice":"34287.5"}]' \
    > "$out/fuzz_binance_futures/corpus/fundingRate"
seed fuzz_binance_ws $fx/binance_ws/*.txt
seed fuzz_coingecko_markets $fx/coingecko/coins_markets.json
seed fuzz_coingecko_simple $fx/coingecko/simple_price.json
seed fuzz_coingecko_global $fx/coingecko/global.json
seed fuzz_coingecko_coin $fx/coingecko/coin_bitcoin.json
seed fuzz_coingecko_chart $fx/coingecko/market_chart_range.json
seed fuzz_coinbase
n=0
for f in ticker book_level2 trades candles; do
    { printf '%s' $n; cat "$fx/coinbase/$f.json"; } > "$out/fuzz_coinbase/corpus/$f"
    n=$((n + 1))
done
seed fuzz_kraken
n=0
for f in ticker depth trades ohlc assetpairs; do
    { printf '%s' $n; cat "$fx/kraken/$f.json"; } > "$out/fuzz_kraken/corpus/$f"
    n=$((n + 1))
done
seed fuzz_config etc/coinpipe.conf etc/examples/*.conf
seed fuzz_jscan $fx/binance/*.json $fx/binance_futures/*.json $fx/coingecko/*.json $fx/coinbase/*.json $fx/kraken/*.json
seed fuzz_decimal
for d in 0 -0.0 0.00012300 43123.45000000 1.5e-7 1E+22 9007199254740993 123456789012345678901234567890 \
    2.2250738585072011e-308 4.9e-324 1e309 .5 5.; do
    printf '%s' "$d" > "$out/fuzz_decimal/corpus/$d"
done
# a kline's elements, read by core_batch_set_json_elements and the SDK wrapper's fallback
printf '%s' '1767195600000,"0.50000000","0.50095336","0.49975271","0.50051097","156.71706496",1767195659999,"78.35853248",1666,"76.28311180","38.14155590","0"]' \
    > "$out/fuzz_decimal/corpus/kline"
seed fuzz_alerts_expr
for x in 'ticker.last > 60000' 'change_pct(ticker.last, 1h) < -5' 'stale(ticker, 3m)' \
    'abs(zscore(ticker.last, 20)) > 4 and not (ticker.bid >= ticker.ask)' 'ticker.last + 0.2 == 0.3 || ticker.last * 3 != 1.5e-7' \
    'candle_gap(ohlcv) or ohlcv.volume == 0'; do
    printf '%s' "$x" > "$out/fuzz_alerts_expr/corpus/$(printf '%s' "$x" | md5sum | cut -c1-12)"
done
printf 'ticker.last > ticker.bid\0x\0x\0x\0x\0x\060000.00000000\0059999.9' > "$out/fuzz_alerts_expr/corpus/row"
seed fuzz_batch_deserialize
seed fuzz_http_response
printf 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-MBX-USED-WEIGHT-1m: 12\r\n\r\n[]' > "$out/fuzz_http_response/corpus/ok"
printf 'HTTP/1.1 429 Too Many\r\nRetry-After: 9223372036854775807\r\nContent-Length: 42\r\n\r\n{"code":-1003,"msg":"Too many requests."}' \
    > "$out/fuzz_http_response/corpus/retry_after"
printf 'HTTP/1.1 302 Found\r\nLocation: https://127.0.0.1/x\r\nContent-Length: 0\r\n\r\n' > "$out/fuzz_http_response/corpus/redirect"
printf 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n[]\r\n0\r\n\r\n' > "$out/fuzz_http_response/corpus/chunked"
{ printf 'HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n'; printf '[1,2,3]' | gzip -c; } > "$out/fuzz_http_response/corpus/gzip"
seed fuzz_parquet # column count, rows, row group size, zstd, then per column type and scale, then cells
printf '\x08\x05\x02\x01\x00\x00\x81\x00\x02\x00\x83\x08\x84\x00\x85\x12\x05\x00\x80\x00' > "$out/fuzz_parquet/corpus/types"
printf '\x01\x03\x00\x00\x05\x02\x11\x00\x00\x00\x00\x00\x00\x00\x00\x0843123.45\x11\x00\x00\x00\x00\x00\x00\x00\x00\x05-1e-2\x00' \
    > "$out/fuzz_parquet/corpus/decimals"
# 188 rows in groups of 129 (DELTA_BINARY_PACKED blocks and a short last one), INT64 and DECIMAL(18, 8)
printf '\x02\x3f\x40\x00\x80\xc0\x00\x11\x45\x08\x11\x21\x05\x21\x0b\x2d\x7f\x31\x09' > "$out/fuzz_parquet/corpus/delta"
# the spool's segment files (first byte: bit 0 a reused segment, bits 1-7 its first sequence
# number - 1): a segment of an earlier release, as a new segment 1, a reused segment 1 and a reused
# segment 3 (its records numbered below 3 are a spare's earlier data)
seed fuzz_spool
for h in 00 01 05; do
    { printf "\x$h"; cat tests/fixtures/spool/v1-payloads.seg; } > "$out/fuzz_spool/corpus/v1-$h"
done
for r in tests/fuzz/regressions/*/; do # inputs that once crashed a target stay in its corpus
    t=$(basename "$r")
    mkdir -p "$out/$t/corpus"
    cp "$r"* "$out/$t/corpus/"
done
FUZZ_WRITE_SEED="$out/fuzz_batch_deserialize/corpus/ticker" "$bin/fuzz_batch_deserialize" -runs=0 > /dev/null 2>&1
# and the payloads of a spool an earlier release wrote (the v1 layout, still read): each record
# of the segment is a 20-byte header (its u32 payload length at 4), then the payload
seg=tests/fixtures/spool/v1-payloads.seg
off=0
while [ $off -lt "$(stat -c %s $seg)" ]; do
    len=$(od -An -tu4 -j $((off + 4)) -N4 $seg | tr -d ' ')
    tail -c +$((off + 21)) $seg | head -c "$len" > "$out/fuzz_batch_deserialize/corpus/v1-at-$off"
    off=$((off + 20 + len))
done

# FUZZ_RUNS=N (what `make test` uses): a fixed seed and N inputs per target, so the same code
# always gives the same verdict and CI never fails on a lucky find; FUZZ_SECONDS=N instead
# explores with a random seed for N seconds (`make fuzz`, for hunting new bugs).
if [ -n "${FUZZ_RUNS:-}" ]; then
    limit=(-seed=1 -runs="$FUZZ_RUNS")
else
    limit=(-max_total_time="$secs")
fi
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=($(ls "$bin"))
fails=0
root=$(pwd)
for t in "${targets[@]}"; do
    d="$out/$t"
    mkdir -p "$d/corpus"
    # libconfig leaks on most parse errors (suppressed), and each leak makes libFuzzer run a full
    # leak scan: 100x slower. The config target checks memory errors but not leaks.
    leaks=1
    [ "$t" = fuzz_config ] && leaks=0
    started=$SECONDS
    (cd "$d" && ASAN_OPTIONS=detect_leaks=$leaks UBSAN_OPTIONS=print_stacktrace=1 \
        LSAN_OPTIONS="suppressions=$root/tests/fuzz/lsan.supp" \
        "../../fuzz/$t" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 -detect_leaks=$leaks corpus > log 2>&1)
    rc=$?
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$d/log" | grep -o '[0-9]*$')
    cov=$(grep -o 'cov: [0-9]*' "$d/log" | tail -1)
    if [ $rc -ne 0 ]; then
        echo "FUZZ FAIL $t (exit $rc): see $d/log and the crash-* file in $d" >&2
        grep -m5 -E 'ERROR|SUMMARY|runtime error' "$d/log" >&2
        fails=$((fails + 1))
    else
        echo "fuzz ok: $t  ${runs:-?} executions in $((SECONDS - started))s, ${cov:-cov ?}"
    fi
done
[ $fails -eq 0 ]
