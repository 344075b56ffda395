#!/usr/bin/env bash
# PostgreSQL stopped for 60 s (COINPIPE_PG_OUTAGE_S) while a pipeline writes every second,
# then started again: every row the source emitted arrives exactly once.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
: "${COINPIPE_TEST_PG:?run under tests/services/run.sh (make test)}"
outage=${COINPIPE_PG_OUTAGE_S:-60}
pgctl() {
    if [ -n "${COINPIPE_TEST_PG_RUNAS:-}" ]; then
        runuser -u "$COINPIPE_TEST_PG_RUNAS" -- "$COINPIPE_TEST_PG_BIN/pg_ctl" -D "$COINPIPE_TEST_PG_DATA" -w -t 60 "$@"
    else
        "$COINPIPE_TEST_PG_BIN/pg_ctl" -D "$COINPIPE_TEST_PG_DATA" -w -t 60 "$@"
    fi
}
psqlq() { psql "$COINPIPE_TEST_PG" -Atqc "$1" 2>/dev/null; }
prefix="dur$$_"
start=$(( $(date +%s) * 1000 ))
{ conf_head; cat <<C
pipelines = ( { name = "pgdown"; interval = "1s";
  source = { plugin = "fake-source"; rows = 5; start = ${start}L; };
  sinks = ( { plugin = "postgresql"; conninfo = "$COINPIPE_TEST_PG"; table_prefix = "$prefix";
              retry_initial_interval = "200ms"; retry_max_interval = "2s"; } ); } );
C
} > "$TMP/pg.conf"
export COINPIPE_PLUGIN_PATH="$COINPIPE_BUILD_PLUGIN_DIR"
"$COINPIPE_BIN" -c "$TMP/pg.conf" > /dev/null 2> "$TMP/pg.err" &
pid=$!; PIDS+=($pid)
wait_for "[ \"\$(psqlq 'select count(*) from ${prefix}ticker')\" -gt 0 ] 2>/dev/null" 30 || fail "no rows before the outage"
# the server was started with options (port, socket dir) that `pg_ctl start` must be given again
opts=$(cut -d' ' -f2- "$COINPIPE_TEST_PG_DATA/postmaster.opts")
pgctl -m fast stop > /dev/null || fail "pg_ctl stop"
sleep "$outage"
kill -0 $pid 2>/dev/null && pass "coinpipe kept running through a ${outage}s outage" || fail "coinpipe died during the outage"
eval "pgctl -l \"$COINPIPE_TEST_PG_DIR/restart.log\" -o '$opts' start" > /dev/null || fail "pg_ctl start"
wait_for "[ -n \"\$(psqlq 'select 1')\" ]" 30 || fail "PostgreSQL did not come back"
expect_contains "$TMP/pg.err" "retrying in" "the outage is retried with backoff"
# let it catch up, then stop; everything queued is written before exit
sleep 4
kill -TERM $pid; wait $pid; rc=$?
expect_eq "$rc" 0 "SIGTERM after recovery exits 0"
rows_in=$(grep -o 'rows_in=[0-9]*' "$TMP/pg.err" | tail -1 | cut -d= -f2)
count=$(psqlq "select count(*) from ${prefix}ticker")
distinct=$(psqlq "select count(distinct ts) from ${prefix}ticker")
span=$(psqlq "select max(extract(epoch from ts) * 1000)::bigint - min(extract(epoch from ts) * 1000)::bigint + 1 from ${prefix}ticker")
[ -n "$count" ] && [ -n "$rows_in" ] || fail "could not count rows (count='$count', rows_in='$rows_in')"
expect_eq "$count" "$rows_in" "every emitted row arrived ($rows_in)"
expect_eq "$distinct" "$count" "exactly once: no duplicates"
expect_eq "$span" "$count" "no holes in the key range"
[ "${rows_in:-0}" -ge $(( (outage + 4) * 5 )) ] && pass "rows were collected during the outage too" || fail "too few rows: $rows_in"
psqlq "drop table if exists ${prefix}ticker" > /dev/null
finish
