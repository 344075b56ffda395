#!/usr/bin/env bash
# A third-party sink built out of tree (tests/plugins/oot/ledger.c, against the installed SDK
# through pkg-config only) takes part in `coinpipe ddl`: beside a shipped sink, alone in a
# dialect of its own, as the template of an unconfigured sink, and in the unknown-dialect
# message. The SDK's header-only helpers (utc, csv, schema, sql) must be installed for it to build.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
prefix="$TMP/prefix"
cmake --install "$COINPIPE_BUILD" --prefix "$prefix" > "$TMP/install.log" 2>&1 || { cat "$TMP/install.log"; fail "install"; finish; exit 1; }
for h in coinpipe buf streams utc csv schema sql; do
    [ -f "$prefix/include/coinpipe/$h.h" ] && pass "coinpipe/$h.h installed" || fail "coinpipe/$h.h not installed"
done
pc=$(find "$prefix" -name coinpipe.pc | head -1)
export PKG_CONFIG_PATH="$(dirname "$pc")"
sed -i "s|^prefix=.*|prefix=$prefix|; s|^includedir=.*|includedir=$prefix/include|; s|^plugindir=.*|plugindir=$TMP/plugins|" "$pc"
cp -r "$COINPIPE_SRC/tests/plugins/oot" "$TMP/src"
cmake -S "$TMP/src" -B "$TMP/obj" > "$TMP/build.log" 2>&1 && cmake --build "$TMP/obj" >> "$TMP/build.log" 2>&1 \
    && cmake --install "$TMP/obj" >> "$TMP/build.log" 2>&1
rc=$?
expect_eq "$rc" 0 "the ledger sink builds out of tree with -Werror"
[ $rc -eq 0 ] || { cat "$TMP/build.log" >&2; finish; exit 1; }
bin="$prefix/bin/coinpipe"
COINPIPE_PLUGIN_PATH="$TMP/plugins" "$bin" --describe ledger > "$TMP/describe" 2>&1
expect_contains "$TMP/describe" '`coinpipe ddl` dialects: postgresql, ledger-sql' "--describe lists the dialects a sink renders"

cat > "$TMP/both.conf" <<CONF
global = { state_dir = "$TMP/state"; plugin_path = ["$TMP/plugins"]; };
pipelines = (
  { name = "spot"; interval = "1m";
    source = { plugin = "binance-spot"; symbols = ["BTCUSDT"]; streams = ["ticker", "ohlcv"]; };
    transforms = ( { plugin = "indicators"; sma = [50]; } );
    sinks = ( { plugin = "postgresql"; schema = "s1"; },
              { plugin = "ledger"; dataset = "ds"; } ); }
);
CONF
"$bin" ddl postgresql -c "$TMP/both.conf" > "$TMP/pg.sql" 2> "$TMP/pg.err"; rc=$?
expect_eq "$rc" 0 "ddl postgresql with a shipped and a third-party sink"
expect_contains "$TMP/pg.sql" 'CREATE TABLE IF NOT EXISTS "s1"."ticker" (' "the postgresql sink's table"
expect_contains "$TMP/pg.sql" 'CREATE TABLE IF NOT EXISTS "ds"."ledger_ticker" (' "the out-of-tree sink's table"
expect_contains "$TMP/pg.sql" 'CREATE TABLE IF NOT EXISTS "ds"."ledger_indicator" (' "a transform's stream reaches the out-of-tree sink"
expect_contains "$TMP/pg.sql" '"sma_50" DOUBLE PRECISION,' "the indicator columns follow the transform's config"
expect_not_contains "$TMP/pg.sql" '"sma_20"' "no hand copy of the default indicator columns"
expect_eq "$(grep -c '^CREATE TABLE' "$TMP/pg.sql")" 6 "three streams for each of the two sinks"
expect_eq "$(grep -c '^CREATE SCHEMA IF NOT EXISTS "s1";$' "$TMP/pg.sql")" 1 "the postgresql sink's schema once"

"$bin" ddl ledger-sql -c "$TMP/both.conf" > "$TMP/own.sql" 2> "$TMP/own.err"; rc=$?
expect_eq "$rc" 0 "ddl in the out-of-tree sink's own dialect"
expect_eq "$(head -3 "$TMP/own.sql")" "$(printf -- '-- coinpipe ledger-sql DDL for %s\n\n-- ledger-sql: the ledger sink'"'"'s tables' "$TMP/both.conf")" "its header first"
expect_not_contains "$TMP/own.sql" '"s1".' "only the sinks that render the dialect"

cat > "$TMP/none.conf" <<CONF
global = { state_dir = "$TMP/state"; plugin_path = ["$TMP/plugins"]; };
pipelines = (
  { name = "spot"; interval = "1m";
    source = { plugin = "binance-spot"; symbols = ["BTCUSDT"]; streams = ["ticker"]; };
    sinks = ( { plugin = "stdout"; } ); }
);
CONF
"$bin" ddl ledger-sql -c "$TMP/none.conf" > "$TMP/tpl.sql" 2> "$TMP/tpl.err"; rc=$?
expect_eq "$rc" 0 "ddl for a sink that is not configured"
expect_contains "$TMP/tpl.sql" "(no pipeline has a matching sink: every pipeline's streams)" "said so in the header"
expect_contains "$TMP/tpl.sql" 'CREATE TABLE IF NOT EXISTS "coinpipe"."ledger_ticker" (' "rendered for the option defaults"
"$bin" ddl nosuch -c "$TMP/none.conf" > /dev/null 2> "$TMP/unknown.err"; rc=$?
expect_eq "$rc" 2 "an unknown dialect"
expect_contains "$TMP/unknown.err" "unknown dialect 'nosuch'" "named"
expect_contains "$TMP/unknown.err" "ledger-sql" "with the dialects the plugins render, the out-of-tree one too"
sed 's/streams = \["ticker"\]/streams = ["tickers"]/' "$TMP/none.conf" > "$TMP/bad.conf"
"$bin" ddl postgresql -c "$TMP/bad.conf" > /dev/null 2> "$TMP/bad.err"; rc=$?
expect_eq "$rc" 1 "a source that cannot declare its streams fails the command"
# the source's check refuses the config as it loads (as --check and a start do), file:line first
expect_contains "$TMP/bad.err" "option 'streams' for plugin 'binance-spot': unknown stream \"tickers\" (this source collects: ticker," "the source says why"
expect_eq "$(head -c $((${#TMP} + 10)) "$TMP/bad.err")" "$TMP/bad.conf:" "the config's file:line first"
finish
