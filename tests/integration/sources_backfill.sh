#!/usr/bin/env bash
# `coinpipe backfill` against the mock exchange: Binance klines paged 1000 per request, the exact
# candle count for a range, an interrupted backfill (a page failing for good, then SIGINT) that
# resumes from its checkpoint without re-fetching pages or leaving gaps, progress in the log.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
B=$COINPIPE_BIN
export COINPIPE_HTTP_BACKOFF_MS=20

start_mock
# "rows distinct_open_times min max" of the ohlcv table
dbstat() {
    python3 - "$1" <<'P'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
print(*c.execute("select count(*), count(distinct open_time), min(open_time), max(open_time) from ohlcv").fetchone())
P
}

mkconf() { # $1 = name; state and database per name
    { cat <<C
global = { state_dir = "$TMP/$1.state"; log_format = "logfmt"; plugin_path = ["$COINPIPE_TEST_PLUGIN_DIR"]; };
pipelines = ( { name = "spot"; interval = "1m";
  source = { plugin = "binance-spot"; base_url = "$URL"; symbols = ["BNBBTC"]; streams = ["ohlcv"];
             kline_interval = "1m"; };
  sinks = ( { plugin = "sqlite"; path = "$TMP/$1.db"; } ); } );
C
    } > "$TMP/$1.conf"
}

FROM=2024-01-01 TO=2024-01-03          # 2 days of 1m candles = 2880
F=1704067200000 N=2880 M=60000

# 1. a whole range: 3 requests of limit 1000 (1000 + 1000 + 880), exactly 2880 rows, no gaps
mkconf full
ctl /_mock/reset
$B backfill --pipeline spot --from $FROM --to $TO -c "$TMP/full.conf" > /dev/null 2> "$TMP/full.err"; rc=$?
expect_eq "$rc" 0 "backfill exits 0"
klines > "$TMP/full.req"
expect_eq "$(wc -l < "$TMP/full.req")" 3 "2880 candles take 3 klines requests"
expect_eq "$(cut -d' ' -f2 "$TMP/full.req" | sort -u)" 1000 "every klines request asks for 1000"
expect_eq "$(cut -d' ' -f1 "$TMP/full.req" | tr '\n' ' ')" "$F $((F + 1000 * M)) $((F + 2000 * M)) " "pages follow each other"
expect_eq "$(dbstat "$TMP/full.db")" "$N $N $F $((F + (N - 1) * M))" "exactly $N candles, first to last, no duplicates"
expect_contains "$TMP/full.err" "backfill progress:" "progress in the log when not on a TTY"
expect_contains "$TMP/full.err" "100.0%" "progress reaches 100%"

# 2. page 2 fails for good: the run fails, page 1 is kept and checkpointed
mkconf cut
ctl /_mock/reset
ctl "/_mock/fault?path=/api/v3/klines&kind=status&status=500&count=-1&skip=1"
$B backfill --pipeline spot --from $FROM --to $TO -c "$TMP/cut.conf" > /dev/null 2> "$TMP/cut.err"; rc=$?
[ "$rc" -ne 0 ] && pass "a failing page makes the backfill fail (exit $rc)" || fail "backfill with a dead page exited 0"
expect_eq "$(dbstat "$TMP/cut.db" | cut -d' ' -f1)" 1000 "the first page was written"
expect_contains "$TMP/cut.err" "HTTP 500 after 4 attempts" "the failure is logged"
# ... and the rerun resumes at page 2: pages 2 and 3 only, the range complete and gap-free
ctl /_mock/reset
$B backfill --pipeline spot --from $FROM --to $TO -c "$TMP/cut.conf" > /dev/null 2> "$TMP/cut2.err"; rc=$?
expect_eq "$rc" 0 "the resumed backfill exits 0"
expect_contains "$TMP/cut2.err" "resumes at checkpoint $((F + 1000 * M))" "resume logged"
klines > "$TMP/cut2.req"
expect_eq "$(cut -d' ' -f1 "$TMP/cut2.req" | tr '\n' ' ')" "$((F + 1000 * M)) $((F + 2000 * M)) " "page 1 is not fetched again"
expect_eq "$(dbstat "$TMP/cut.db")" "$N $N $F $((F + (N - 1) * M))" "no gap and no duplicate after the resume"

# 3. SIGINT mid-way (every page slow): exits, then resumes without re-fetching what was done
mkconf int
ctl /_mock/reset
ctl "/_mock/fault?path=/api/v3/klines&kind=slow&delay_ms=1500&count=-1"
$B backfill --pipeline spot --from $FROM --to $TO -c "$TMP/int.conf" > /dev/null 2> "$TMP/int.err" &
pid=$!; PIDS+=($pid)
wait_for "[ \"\$(klines | wc -l)\" -ge 2 ]" 10 || fail "the slow backfill never reached page 2"
kill -INT $pid
wait $pid; rc=$?
done1=$(klines | wc -l)
[ "$done1" -lt 3 ] && pass "SIGINT stopped the backfill after $done1 of 3 pages (exit $rc)" || fail "SIGINT came too late ($done1 pages)"
have=$(dbstat "$TMP/int.db" | cut -d' ' -f1)
ctl /_mock/reset
$B backfill --pipeline spot --from $FROM --to $TO -c "$TMP/int.conf" > /dev/null 2> "$TMP/int2.err"; rc=$?
expect_eq "$rc" 0 "the backfill after SIGINT exits 0"
refetch=$(klines | wc -l)
expect_eq "$((refetch + have / 1000))" 3 "only the pages not written before SIGINT are fetched ($refetch)"
expect_eq "$(dbstat "$TMP/int.db")" "$N $N $F $((F + (N - 1) * M))" "no gap and no duplicate after SIGINT and resume"

kill "$MOCK" 2>/dev/null; wait "$MOCK" 2>/dev/null
finish
