#!/usr/bin/env bash
# `coinpipe ddl` prints DDL for the streams a config writes (Athena and Snowflake over CSV and over
# Parquet objects); the PostgreSQL DDL runs on a real server (COINPIPE_TEST_PG, set by
# tests/services/run.sh) and --once writes the same tables.
set -euo pipefail
: "${COINPIPE_BIN:?run through ctest}"
if [ -z "${COINPIPE_TEST_PG:-}" ]; then
    echo "sinks_ddl: COINPIPE_TEST_PG is not set: run under tests/services/run.sh (make test)" >&2
    exit 1
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
schema="ddl_$$"
cat >"$dir/c.conf" <<CONF
global = { state_dir = "$dir/state"; plugin_path = ["$COINPIPE_TEST_PLUGIN_DIR"]; };
pipelines = (
  { name = "spot"; interval = "1m";
    source = { plugin = "binance-spot"; symbols = ["BTCUSDT"]; streams = ["ticker", "ohlcv"]; };
    sinks = ( { plugin = "s3-csv"; bucket = "my-bucket"; prefix = "lake/raw"; },
              { plugin = "postgresql"; conninfo = "$COINPIPE_TEST_PG"; schema = "$schema"; } ); }
);
CONF
"$COINPIPE_BIN" ddl athena -c "$dir/c.conf" >"$dir/athena.sql"
grep -q "CREATE EXTERNAL TABLE IF NOT EXISTS \`ohlcv\`" "$dir/athena.sql"
grep -q "'skip.header.line.count' = '1'" "$dir/athena.sql"
grep -q "LOCATION 's3://my-bucket/lake/raw/ticker/'" "$dir/athena.sql"
grep -q "storage.location.template' = 's3://my-bucket/lake/raw/ohlcv/year=\${year}/month=\${month}/day=\${day}/'" "$dir/athena.sql"
"$COINPIPE_BIN" ddl snowflake -c "$dir/c.conf" >"$dir/snowflake.sql"
grep -q "AUTO_INGEST = TRUE" "$dir/snowflake.sql"
grep -q "COPY INTO \"ticker\" FROM @coinpipe_stage/ticker/" "$dir/snowflake.sql"
# a sink writing Parquet: Athena reads it STORED AS PARQUET (native timestamps, the sink's decimal
# scale), Snowflake through a PARQUET file format, loading by column name
sed 's/prefix = "lake\/raw";/prefix = "lake\/pq"; format = "parquet"; decimal_scale = 12;/' "$dir/c.conf" >"$dir/pq.conf"
"$COINPIPE_BIN" ddl athena -c "$dir/pq.conf" >"$dir/athena_pq.sql"
grep -q "^STORED AS PARQUET$" "$dir/athena_pq.sql"
grep -q "^  \`open_time\` timestamp,$" "$dir/athena_pq.sql"
grep -q "^  \`close\` decimal(38,12),$" "$dir/athena_pq.sql"
grep -q "LOCATION 's3://my-bucket/lake/pq/ohlcv/'" "$dir/athena_pq.sql"
if grep -q "skip.header\|OpenCSVSerde" "$dir/athena_pq.sql"; then echo "sinks_ddl: CSV properties in the Parquet DDL" >&2; exit 1; fi
"$COINPIPE_BIN" ddl snowflake -c "$dir/pq.conf" >"$dir/snowflake_pq.sql"
grep -q "^CREATE FILE FORMAT IF NOT EXISTS coinpipe_parquet TYPE = PARQUET;$" "$dir/snowflake_pq.sql"
grep -q "STORAGE_INTEGRATION = coinpipe_s3 FILE_FORMAT = coinpipe_parquet;" "$dir/snowflake_pq.sql"
grep -q '^    "close" NUMBER(38,12),$' "$dir/snowflake_pq.sql"
grep -q "COPY INTO \"ticker\" FROM @coinpipe_stage/ticker/ FILE_FORMAT = (FORMAT_NAME = 'coinpipe_parquet')" "$dir/snowflake_pq.sql"
[ "$(grep -c '^  MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE;$' "$dir/snowflake_pq.sql")" -eq 2 ]
# decimal_precision 18: decimal(18,8) and NUMBER(18,8), the types of the INT64 decimals in the files
sed 's/prefix = "lake\/raw";/prefix = "lake\/pq"; format = "parquet"; decimal_precision = 18; decimal_scale = 8;/' "$dir/c.conf" >"$dir/p18.conf"
"$COINPIPE_BIN" ddl athena -c "$dir/p18.conf" | grep -q "^  \`close\` decimal(18,8),$"
"$COINPIPE_BIN" ddl snowflake -c "$dir/p18.conf" | grep -q '^    "close" NUMBER(18,8),$'
# azure-blob: Snowflake over an azure:// stage, Parquet like s3-csv's
sed 's/{ plugin = "s3-csv"; bucket = "my-bucket"; prefix = "lake\/raw"; }/{ plugin = "azure-blob"; account = "acct"; container = "lake"; prefix = "raw"; account_key = "a2V5"; format = "parquet"; }/' "$dir/c.conf" >"$dir/az.conf"
"$COINPIPE_BIN" ddl snowflake -c "$dir/az.conf" >"$dir/snowflake_az.sql"
grep -q "CREATE STAGE IF NOT EXISTS coinpipe_stage URL = 'azure://acct.blob.core.windows.net/lake/raw/'" "$dir/snowflake_az.sql"
grep -q "STORAGE_INTEGRATION = coinpipe_azure FILE_FORMAT = coinpipe_parquet;" "$dir/snowflake_az.sql"
grep -q "MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE;" "$dir/snowflake_az.sql"
"$COINPIPE_BIN" ddl postgresql -c "$dir/c.conf" >"$dir/pg.sql"
if "$COINPIPE_BIN" ddl nosuch -c "$dir/c.conf" >/dev/null 2>"$dir/err"; then exit 1; fi
grep -q "unknown dialect 'nosuch'" "$dir/err"
psql "$COINPIPE_TEST_PG" -v ON_ERROR_STOP=1 -q -f "$dir/pg.sql"
got=$(psql "$COINPIPE_TEST_PG" -At -c "SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.tables WHERE table_schema = '$schema'")
psql "$COINPIPE_TEST_PG" -q -c "DROP SCHEMA $schema CASCADE"
[ "$got" = "ohlcv,ticker" ] || { echo "sinks_ddl: tables in $schema: '$got'" >&2; exit 1; }
# the shipped configs: the DDL recorded before the sinks rendered it themselves (the core named
# the plugins then), byte for byte; each file holds what `coinpipe ddl DIALECT -c etc/...` printed
n=0
for expected in "$COINPIPE_SRC"/tests/fixtures/ddl/*.sql; do
    base=$(basename "$expected" .sql)
    conf=${base%.*}
    dialect=${base##*.}
    [ "$conf" = coinpipe ] && rel=etc/coinpipe.conf || rel=etc/examples/$conf.conf
    (cd "$COINPIPE_SRC" && COINPIPE_PLUGIN_PATH="$COINPIPE_BUILD_PLUGIN_DIR" "$COINPIPE_BIN" ddl "$dialect" -c "$rel") \
        >"$dir/got.sql" 2>"$dir/got.err" || { echo "sinks_ddl: ddl $dialect -c $rel failed:" >&2; cat "$dir/got.err" >&2; exit 1; }
    if ! cmp -s "$expected" "$dir/got.sql"; then
        echo "sinks_ddl: ddl $dialect -c $rel differs from tests/fixtures/ddl/$base.sql:" >&2
        diff "$expected" "$dir/got.sql" | head -20 >&2
        exit 1
    fi
    n=$((n + 1))
done
[ "$n" -eq 18 ] || { echo "sinks_ddl: $n recorded outputs compared, 18 expected" >&2; exit 1; }
echo "sinks_ddl: ok"
