#!/usr/bin/env bash
# Smoke test of the benchmark harness (bench/run.py) at N=5 symbols: no timing assertions.
# SPDX-License-Identifier: MIT
# Checks that `make bench`'s driver still generates the mock data, serves it with nginx, runs
# coinpipe, both Python baselines and the floors (transport, parse, SQLite write), counts the rows and writes the table.
# Skipped (77) where the bench-only packages are missing: bench/install-deps.sh installs them.
. "$(dirname "$0")/lib/common.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ] || [ ! -x /usr/bin/time ] ||
    ! command -v curl >/dev/null 2>&1 || ! "$PY" -c 'import pandas, requests' 2>/dev/null; then
    echo "skip: bench-only packages missing (run bench/install-deps.sh)"
    exit 77
fi
if [ ! -x "$COINPIPE_BUILD/bench/bench_parse_floor" ]; then
    echo "skip: $COINPIPE_BUILD/bench/bench_parse_floor not built"
    exit 77
fi
timeout 120 "$PY" "$COINPIPE_SRC/bench/run.py" --build "$COINPIPE_BUILD" --symbols 5 --scaling '' --rounds 1 \
    --quick --out "$TMP/results.md" 2> "$TMP/stderr"
rc=$?
expect_eq "$rc" 0 "bench/run.py exits 0"
[ "$rc" -eq 0 ] || sed 's/^/    /' "$TMP/stderr" >&2
touch "$TMP/results.md"
# 5 symbols: 5 tickers + 5 book_top + 5 spread + 5 x 500 candles
expect_contains "$TMP/results.md" "| coinpipe --once | 1 |" "table has the coinpipe row"
expect_contains "$TMP/results.md" "| 2,515 |" "rows counted: 2,515 per cycle"
expect_contains "$TMP/results.md" "| Python baseline, sequential | 1 |" "table has the sequential Python row"
expect_contains "$TMP/results.md" "| Python baseline, 16 threads | 1 |" "table has the threaded Python row"
expect_contains "$TMP/results.md" "| transport floor: curl, 16 parallel | 1 |" "table has the transport floor"
expect_contains "$TMP/results.md" "| parse floor: jscan (the project's scanner), same files | 1 |" "table has the parse floor"
expect_contains "$TMP/results.md" "(the Python baselines write the same count)" "baselines write the same rows"
expect_contains "$TMP/results.md" "| parse: json-c tree, same files (reference) | 1 |" "table has json-c for reference"
expect_contains "$TMP/results.md" "| write floor: SQLite, one prepared INSERT, one transaction | 1 |" "table has the write floor"
expect_contains "$TMP/results.md" "| wall: coinpipe / (transport + parse floor) |" "ratios computed"
expect_contains "$TMP/results.md" "| wall: coinpipe / slowest stage floor (" "the cycle against its slowest stage's floor"
expect_contains "$TMP/results.md" "| write: rows into SQLite (sq_write) | SQLite, one prepared INSERT" "each stage against its floor"
finish
