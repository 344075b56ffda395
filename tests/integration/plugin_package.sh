#!/usr/bin/env bash
# A plugin shipped in a package of its own (postgresql → coinpipe-postgresql) that is not
# installed: the error names the package to install, not only the directories searched.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
mkdir -p "$TMP/inst/plugins"
cp "$COINPIPE_BIN" "$TMP/inst/coinpipe"
for so in "$COINPIPE_BUILD_PLUGIN_DIR"/*.so; do
    [ "$(basename "$so")" = postgresql.so ] || cp "$so" "$TMP/inst/plugins/"
done
cp "$COINPIPE_BUILD_PLUGIN_DIR/plugin-packages" "$TMP/inst/plugins/"
if [ -e /usr/local/lib/coinpipe/plugins/postgresql.so ]; then echo "SKIP: an installed postgresql.so would be found"; exit 77; fi
cat > "$TMP/c.conf" <<CONF
global = { state_dir = "$TMP/state"; };
pipelines = ( { name = "p"; interval = "1m"; source = { plugin = "binance-spot"; symbols = ["BTCUSDT"]; };
  sinks = ( { plugin = "postgresql"; conninfo = "host=127.0.0.1"; } ); } );
CONF
env -u COINPIPE_PLUGIN_PATH "$TMP/inst/coinpipe" --check -c "$TMP/c.conf" > /dev/null 2> "$TMP/err"
expect_eq "$?" 1 "--check fails"
expect_contains "$TMP/err" "plugin 'postgresql' not found: it is shipped in the package coinpipe-postgresql, which is not installed (e.g. apt-get install coinpipe-postgresql)" \
    "the error names the package to install"
finish
