#!/usr/bin/env bash
# Parquet files from coinpipe's encoder (every contract type, NULLs, one and several row groups,
# uncompressed, zstd and snappy, dictionary-encoded and PLAIN strings) read back by an independent
# reader, hyparquet from npm, and compared cell by cell with what was written (decimals as exact text); see tests/sinks/parquet_read.mjs.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
command -v node > /dev/null || { fail "node is missing"; finish; exit 1; }
services="$COINPIPE_SRC/tests/services"
if [ ! -d "$services/node_modules/hyparquet-compressors" ]; then
    (cd "$services" && { npm ci --no-audit --no-fund --loglevel=error || npm install --no-audit --no-fund --loglevel=error; }) >&2 \
        || { fail "npm could not install hyparquet"; finish; exit 1; }
fi
writer="$COINPIPE_BUILD/tests/test_parquet"
if "$writer" --write "$TMP" 2> "$TMP/write.err"; then pass "the encoder wrote the files"; else fail "test_parquet --write: $(cat "$TMP/write.err")"; fi
if SERVICES_DIR="$services" node "$COINPIPE_SRC/tests/sinks/parquet_read.mjs" "$TMP" > "$TMP/read.out" 2>&1; then
    pass "hyparquet read every file back cell for cell"
else
    fail "hyparquet disagrees:"; sed 's/^/    /' "$TMP/read.out" >&2
fi
expect_contains "$TMP/read.out" "ok: zstd_groups.parquet: 10 rows, 4 row groups, ZSTD, dictionary strings, 80 cells equal" "several zstd row groups"
expect_contains "$TMP/read.out" "ok: plain.parquet: 10 rows, 1 row groups, UNCOMPRESSED, dictionary strings, 80 cells equal" "one uncompressed row group"
expect_contains "$TMP/read.out" "ok: snappy_groups.parquet: 10 rows, 3 row groups, SNAPPY, dictionary strings, 80 cells equal" "snappy row groups"
expect_contains "$TMP/read.out" "ok: plain_strings.parquet: 10 rows, 1 row groups, UNCOMPRESSED, plain strings, 80 cells equal" "PLAIN strings"
# integer columns: DELTA_BINARY_PACKED (INT64 extremes, block and miniblock boundaries, single values),
# DECIMAL(18, 8) as INT64 and DECIMAL(9, 2) as INT32
if SERVICES_DIR="$services" node "$COINPIPE_SRC/tests/sinks/parquet_read_ints.mjs" "$TMP" > "$TMP/ints.out" 2>&1; then
    pass "hyparquet read the integer files back cell for cell"
else
    fail "hyparquet disagrees on the integer files:"; sed 's/^/    /' "$TMP/ints.out" >&2
fi
expect_contains "$TMP/ints.out" "ok: ints_delta.parquet: 1000 rows, 1 row groups, UNCOMPRESSED, 4 of 4 chunks DELTA_BINARY_PACKED, 4000 cells equal" "DELTA_BINARY_PACKED in one page"
expect_contains "$TMP/ints.out" "ok: ints_groups_zstd.parquet: 1000 rows, 8 row groups, ZSTD" "delta row groups of 129 rows"
expect_contains "$TMP/ints.out" "ok: ints_one_row.parquet: 1000 rows, 1000 row groups" "single values"
expect_contains "$TMP/ints.out" "ok: ints_plain.parquet: 1000 rows, 1 row groups, ZSTD, 0 of 4 chunks DELTA_BINARY_PACKED, 4000 cells equal" "PLAIN integers"
sed -i 's/"9223372036854775807"/"9223372036854775806"/' "$TMP/ints.json"
if SERVICES_DIR="$services" node "$COINPIPE_SRC/tests/sinks/parquet_read_ints.mjs" "$TMP" > "$TMP/ints_neg.out" 2>&1; then
    fail "a changed expected INT64 went unnoticed"
else
    expect_contains "$TMP/ints_neg.out" 'row 1, column a: read "9223372036854775807", want "9223372036854775806"' "a differing INT64 is reported"
fi
# a wrong expectation must be caught (the comparison can fail)
sed -i 's/43123.45000000/43123.45000001/' "$TMP/expected.json"
if SERVICES_DIR="$services" node "$COINPIPE_SRC/tests/sinks/parquet_read.mjs" "$TMP" > "$TMP/neg.out" 2>&1; then
    fail "a changed expected decimal went unnoticed"
else
    expect_contains "$TMP/neg.out" 'row 0, column price: read "43123.45000000", want "43123.45000001"' "a differing decimal is reported"
fi
finish
