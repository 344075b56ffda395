#!/usr/bin/env bash
# Installs coinpipe into a temporary prefix, builds examples/plugin-hello against it with
# pkg-config only, and loads the result with --list-plugins and --once.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
prefix="$TMP/prefix"
cmake --install "$COINPIPE_BUILD" --prefix "$prefix" > "$TMP/install.log" 2>&1 || { cat "$TMP/install.log"; fail "install"; finish; exit 1; }
[ -f "$prefix/include/coinpipe/coinpipe.h" ] && pass "header installed" || fail "header not installed"
[ -f "$prefix/include/coinpipe/buf.h" ] && pass "buffer header installed" || fail "buf.h not installed"
pc=$(find "$prefix" -name coinpipe.pc | head -1)
[ -n "$pc" ] && pass "coinpipe.pc installed" || fail "no coinpipe.pc"
export PKG_CONFIG_PATH="$(dirname "$pc")"
# the .pc was generated for the configured prefix; point it at the temporary one
sed -i "s|^prefix=.*|prefix=$prefix|; s|^includedir=.*|includedir=$prefix/include|; s|^plugindir=.*|plugindir=$TMP/plugins|" "$pc"
expect_eq "$(pkg-config --cflags coinpipe | xargs)" "-I$prefix/include" "pkg-config --cflags"
cp -r "$COINPIPE_SRC/examples/plugin-hello" "$TMP/src"
cmake -S "$TMP/src" -B "$TMP/obj" > "$TMP/build.log" 2>&1 && cmake --build "$TMP/obj" >> "$TMP/build.log" 2>&1 \
    && cmake --install "$TMP/obj" >> "$TMP/build.log" 2>&1
rc=$?
expect_eq "$rc" 0 "example plugin builds out of tree with -Wall -Wextra -Werror"
[ $rc -eq 0 ] || cat "$TMP/build.log" >&2
[ -f "$TMP/plugins/hello.so" ] && pass "example plugin installed" || fail "hello.so missing"
bin="$prefix/bin/coinpipe"
COINPIPE_PLUGIN_PATH="$TMP/plugins" "$bin" --list-plugins > "$TMP/list" 2>&1
expect_contains "$TMP/list" "hello              source    1.0.0    Example out-of-tree source" "installed coinpipe lists the plugin"
expect_contains "$TMP/list" "stdout             sink" "installed coinpipe finds its own plugins"
"$bin" --describe stdout > "$TMP/describe" 2>&1
expect_contains "$TMP/describe" "file: $(cd "$prefix" && pwd -P)/" "plugins come from the relocated install prefix"
cd "$TMP" && sed "1i global = { state_dir = \"$TMP/state\"; };" "$TMP/src/hello.conf" > "$TMP/hello.conf"
COINPIPE_PLUGIN_PATH="$TMP/plugins" "$bin" --once -c "$TMP/hello.conf" > "$TMP/out" 2> "$TMP/err"; rc=$?
expect_eq "$rc" 0 "--once with the example plugin"
expect_contains "$TMP/out" '"coin_id":"ethereum","vs_currency":"usd"' "example rows printed"
expect_contains "$TMP/out" '"price":"42.000000001"' "decimal kept verbatim"
COINPIPE_PLUGIN_PATH="$TMP/plugins" "$bin" --once -c "$TMP/hello.conf" > /dev/null 2> "$TMP/err2"
expect_contains "$TMP/err2" "hello cycle 2" "state store survives a restart"
# the plugin's own check callback, built out of tree: --check and a start report it at the option's line
cat > "$TMP/bad_hello.conf" <<EOF
global = { state_dir = "$TMP/state"; };
pipelines = ( { name = "hello"; interval = "1m";
    source = { plugin = "hello";
               coins = ["bitcoin", "Ether Eum"];
               price = "forty-two"; };
    sinks = ( { plugin = "stdout"; format = "jsonl"; } ); } );
EOF
COINPIPE_PLUGIN_PATH="$TMP/plugins" "$bin" run --check -c "$TMP/bad_hello.conf" > "$TMP/out" 2> "$TMP/err3"; rc=$?
expect_eq "$rc" 1 "--check refuses what the out-of-tree plugin's check refuses"
expect_eq "$(cat "$TMP/err3")" "$TMP/bad_hello.conf:5: option 'price' for plugin 'hello': \"forty-two\" is not a decimal number such as \"42.00\"
$TMP/bad_hello.conf:4: option 'coins' for plugin 'hello': \"Ether Eum\" is not a coin id (lowercase letters, digits, dashes: \"bitcoin\")
coinpipe: $TMP/bad_hello.conf: 2 errors" "each report on its own line, the option's file:line first"
COINPIPE_PLUGIN_PATH="$TMP/plugins" "$bin" --once -c "$TMP/bad_hello.conf" > "$TMP/out" 2> "$TMP/err4"; rc=$?
expect_eq "$rc" 1 "a start refuses the same config"
expect_eq "$(cat "$TMP/err4")" "$(cat "$TMP/err3")" "a start reports the same lines as --check"
finish
