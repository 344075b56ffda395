#!/usr/bin/env bash
# CLI behaviour: --check errors with file:line, --once output, --list-plugins, --describe, exit codes.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
B=$COINPIPE_BIN

# a typo in an option name: one error naming file, line, option, plugin and the valid names
{ conf_head; cat <<'C'
pipelines = (
  { name = "p"; interval = "1m";
    source = { plugin = "fake-source"; };
    sinks = ( { plugin = "stdout";
                symbls = ["BTCUSDT"]; } ); }
);
C
} > "$TMP/typo.conf"
$B --check -c "$TMP/typo.conf" > "$TMP/out" 2>&1; rc=$?
expect_eq "$rc" 1 "--check exits 1 on a typo"
expect_contains "$TMP/out" "typo.conf:6: unknown option 'symbls' for plugin 'stdout' (valid: format, header" "typo error names file:line and valid options"

# three errors in one file: all three reported in one pass
{ conf_head; cat <<'C'
pipelines = (
  { name = "p"; interval = "often";
    source = { plugin = "fake-source"; rows = "three"; };
    sinks = ( { plugin = "stdout"; format = "xml"; } ); }
);
C
} > "$TMP/three.conf"
$B --check -c "$TMP/three.conf" > "$TMP/out" 2>&1; rc=$?
expect_eq "$rc" 1 "--check exits 1 on three errors"
expect_contains "$TMP/out" "three.conf:3: option 'interval' for pipeline: \"often\" is not a duration" "error 1: bad duration"
expect_contains "$TMP/out" "three.conf:4: option 'rows' for plugin 'fake-source' expects an integer, got a string" "error 2: wrong type"
expect_contains "$TMP/out" "three.conf:5: option 'format' for plugin 'stdout' must be one of table, csv, jsonl, got \"xml\"" "error 3: bad enum"
expect_contains "$TMP/out" "3 errors" "error count"

# syntax error, missing file, missing required pieces
printf 'pipelines = ( { name = "p" ' > "$TMP/syntax.conf"
$B --check -c "$TMP/syntax.conf" > "$TMP/out" 2>&1
expect_contains "$TMP/out" "syntax.conf:1: syntax error" "syntax error with line"
$B --check -c "$TMP/none.conf" > "$TMP/out" 2>&1; rc=$?
expect_eq "$rc" 1 "missing config exits 1"
expect_contains "$TMP/out" "none.conf: cannot read config file" "missing config named"
{ conf_head; echo 'pipelines = ( { name = "p"; source = { plugin = "stdout"; }; } );'; } > "$TMP/shape.conf"
$B --check -c "$TMP/shape.conf" > "$TMP/out" 2>&1
expect_contains "$TMP/out" "needs interval" "pipeline without schedule"
expect_contains "$TMP/out" "plugin 'stdout' is a sink, but it is used as a source here" "wrong kind"
expect_contains "$TMP/out" "has no sinks" "pipeline without sinks"

# a valid config: --check, then --once prints the rows in each format
for fmt in jsonl csv table; do
{ conf_head; cat <<C
pipelines = (
  { name = "p"; interval = "1m";
    source = { plugin = "fake-source"; rows = 2; };
    sinks = ( { plugin = "stdout"; format = "$fmt"; } ); }
);
C
} > "$TMP/$fmt.conf"
done
$B --check -c "$TMP/jsonl.conf" > "$TMP/out" 2>&1; rc=$?
expect_eq "$rc" 0 "--check exits 0 on a valid config"
$B --once -c "$TMP/jsonl.conf" > "$TMP/out" 2> "$TMP/err"; rc=$?
expect_eq "$rc" 0 "--once exits 0"
expect_contains "$TMP/out" '{"stream":"ticker","exchange":"fake","symbol":"BTC-USDT","native_symbol":"BTCUSDT","ts":1700000000000,' "jsonl row: stream first, times as ms"
expect_contains "$TMP/out" '"last":"42001.12345678900","bid":"0.00000001","bid_size":null' "jsonl decimals verbatim as strings, NULL as null"
expect_eq "$(wc -l < "$TMP/out")" 2 "jsonl: one line per row"
expect_contains "$TMP/err" "rows_out=2" "stats at exit"
$B --once -c "$TMP/csv.conf" > "$TMP/out" 2>/dev/null
expect_eq "$(head -1 "$TMP/out" | tr -d '\r')" "exchange,symbol,native_symbol,ts,received_at,last,bid,bid_size,ask,ask_size,open,high,low,prev_close,change,change_pct,vwap,base_volume,quote_volume,open_time,close_time,trade_count" "csv header"
expect_contains "$TMP/out" "fake,BTC-USDT,BTCUSDT,2023-11-14T22:13:20.000Z," "csv ISO-8601 times"
expect_contains "$TMP/out" ",42000.12345678900,0.00000001,,,," "csv decimals verbatim, NULL empty"
$B --once -c "$TMP/table.conf" > "$TMP/out" 2>/dev/null
expect_contains "$TMP/out" "-- ticker (2 rows)" "table title"
expect_contains "$TMP/out" "42001.12345678900" "table decimal"

# --once with a failing source exits non-zero and says why
{ conf_head; cat <<'C'
pipelines = ( { name = "bad"; interval = "1m"; source = { plugin = "fake-source"; fail = true; };
                sinks = ( { plugin = "stdout"; } ); } );
C
} > "$TMP/fail.conf"
$B --once -c "$TMP/fail.conf" > /dev/null 2> "$TMP/err"; rc=$?
expect_eq "$rc" 1 "--once exits 1 when a source fails"
expect_contains "$TMP/err" 'pipeline=bad kind=source plugin=fake-source instance=fake-source msg="failing on purpose' "plugin log lines are tagged"
$B --once -c "$TMP/jsonl.conf" --pipeline nope > /dev/null 2> "$TMP/err"; rc=$?
expect_eq "$rc" 1 "--pipeline with an unknown name fails"
expect_contains "$TMP/err" "no pipeline named 'nope'" "unknown pipeline named"

# --list-plugins and --describe
$B --list-plugins -c "$TMP/jsonl.conf" > "$TMP/out" 2>&1
expect_contains "$TMP/out" "stdout             sink" "list shows stdout"
expect_contains "$TMP/out" "fake-source        source" "list shows the test source"
$B --describe stdout > "$TMP/out" 2>&1
expect_contains "$TMP/out" "format" "describe lists format"
expect_contains "$TMP/out" "one of: table csv jsonl" "describe lists enum choices"
expect_contains "$TMP/out" "retry_max_interval" "describe lists the core sink options"
$B --describe coingecko > "$TMP/out" 2>&1
expect_contains "$TMP/out" 'base_url          string      default: "https://api.coingecko.com"' "describe shows coingecko's base_url default, a host root"
$B --describe nosuch > "$TMP/out" 2>&1; rc=$?
expect_eq "$rc" 1 "describe of a missing plugin fails"
COINPIPE_PLUGIN_PATH="$COINPIPE_TEST_PLUGIN_DIR/bad" $B --list-plugins > "$TMP/out" 2>&1
expect_contains "$TMP/out" "bad_abi.so: plugin ABI 99.0 is incompatible" "list reports a broken plugin with its file"
expect_contains "$TMP/out" "coinpipe: $COINPIPE_TEST_PLUGIN_DIR/bad/abi1_sink.so: plugin ABI 1.1 is incompatible with this coinpipe's ABI 2.2 (major differs): rebuild the plugin against this version" "an ABI 1 plugin is refused with one line naming the file and both versions"
# a config naming an ABI 1 plugin fails --check at the plugin line
cat > "$TMP/abi1.conf" <<EOF
global = { plugin_path = ["$COINPIPE_TEST_PLUGIN_DIR", "$COINPIPE_TEST_PLUGIN_DIR/bad"]; };
pipelines = ( { name = "p"; interval = "1m";
    source = { plugin = "fake-source"; };
    sinks = ( { plugin = "abi1-sink"; } ); } );
EOF
$B run --check -c "$TMP/abi1.conf" > "$TMP/out" 2> "$TMP/err"; rc=$?
expect_eq "$rc" 1 "--check refuses a config with an ABI 1 plugin"
expect_eq "$(cat "$TMP/err")" "$TMP/abi1.conf:4: $COINPIPE_TEST_PLUGIN_DIR/bad/abi1_sink.so: plugin ABI 1.1 is incompatible with this coinpipe's ABI 2.2 (major differs): rebuild the plugin against this version
coinpipe: $TMP/abi1.conf: 1 error" "the ABI 1 refusal is one line with file:line first"
$B --version > "$TMP/out"
expect_contains "$TMP/out" "plugin ABI 2.2" "version shows the ABI"
# the command table: --help is written from it, each command has its own --help, and a word
# that names no command is refused before any config is read
$B --help > "$TMP/out" 2>&1; rc=$?
expect_eq "$rc" 0 "--help exits 0"
for c in run backfill gaps dead ddl status help; do
    expect_contains "$TMP/out" "  coinpipe $c " "--help lists the $c command"
done
expect_contains "$TMP/out" "--list-plugins" "--help lists the option commands"
expect_not_contains "$TMP/out" "describe-man" "--help hides the build's --describe-man"
$B gaps --help > "$TMP/out" 2>&1; rc=$?
expect_eq "$rc" 0 "gaps --help exits 0"
expect_contains "$TMP/out" "Usage: coinpipe gaps --pipeline NAME [--from DATE] [--to DATE] [--fill] [-c FILE]" "gaps --help: its usage line"
expect_contains "$TMP/out" "Exit status 0: no gaps, 1: gaps (left), 2: error." "gaps --help: its details"
$B help dead > "$TMP/out" 2>&1
expect_contains "$TMP/out" "Usage: coinpipe dead list|replay" "help dead = dead --help"
$B frobnicate -c "$TMP/none.conf" > "$TMP/out" 2>&1; rc=$?
expect_eq "$rc" 2 "an unknown command exits 2"
expect_contains "$TMP/out" "coinpipe: unknown command 'frobnicate'" "the unknown command is named"
expect_not_contains "$TMP/out" "cannot read config file" "no config is read for an unknown command"
$B ddl -c "$TMP/jsonl.conf" > "$TMP/out" 2>&1; rc=$?
expect_eq "$rc" 2 "ddl without a dialect exits 2"
expect_contains "$TMP/out" "ddl needs a dialect: one that a sink plugin renders (" "ddl says where dialects come from"
expect_contains "$TMP/out" "athena" "ddl names s3-csv's athena dialect"
expect_contains "$TMP/out" "postgresql" "ddl names postgresql's dialect"
$B dead -c "$TMP/jsonl.conf" > "$TMP/out" 2>&1; rc=$?
expect_eq "$rc" 2 "dead without an action exits 2"
expect_contains "$TMP/out" "dead needs 'list' or 'replay'" "dead names its actions"
$B --once -c "$TMP/jsonl.conf" extra > "$TMP/out" 2>&1; rc=$?
expect_eq "$rc" 2 "a stray argument exits 2"
expect_contains "$TMP/out" "coinpipe: unexpected argument 'extra'" "the stray argument is named"
$B --fill -c "$TMP/jsonl.conf" > "$TMP/out" 2>&1; rc=$?
expect_eq "$rc" 2 "--fill without gaps exits 2"
expect_contains "$TMP/out" "--fill goes with the gaps command" "--fill belongs to gaps"
$B gaps -c "$TMP/jsonl.conf" > "$TMP/out" 2>&1; rc=$?
expect_eq "$rc" 2 "gaps without --pipeline exits 2"
expect_contains "$TMP/out" "gaps needs --pipeline NAME" "gaps says what it needs"
$B backfill --pipeline p -c "$TMP/jsonl.conf" > "$TMP/out" 2>&1; rc=$?
expect_eq "$rc" 2 "backfill without --from exits 2"
expect_contains "$TMP/out" "backfill needs --pipeline NAME --from DATE" "backfill says what it needs"
$B status -c "$TMP/jsonl.conf" > "$TMP/out" 2>&1; rc=$?
expect_eq "$rc" 2 "status without an address exits 2"
expect_contains "$TMP/out" "sets no global.http_listen" "status says where the address comes from"
finish
