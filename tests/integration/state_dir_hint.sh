#!/usr/bin/env bash
# A user who cannot write the default state directory (/var/lib/coinpipe) is told which option
# to set, instead of a bare "Permission denied" from deep inside; an explicit state_dir that
# cannot be written is reported with its file and line.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
[ "$(id -u)" = 0 ] && command -v setpriv > /dev/null || { echo "SKIP: needs root and setpriv to run as nobody"; exit 77; }
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups env -u STATE_DIRECTORY HOME=/nonexistent "$@"; }
as_nobody test -r "$COINPIPE_BIN" || { echo "SKIP: nobody cannot read the build tree"; exit 77; }
chmod 755 "$TMP"
cat > "$TMP/c.conf" <<CONF
global = { log_format = "logfmt"; plugin_path = ["$COINPIPE_TEST_PLUGIN_DIR"]; };
pipelines = ( { name = "p"; interval = "1m"; source = { plugin = "fake-source"; };
  sinks = ( { plugin = "stdout"; } ); } );
CONF
as_nobody test -w /var/lib/coinpipe 2> /dev/null && { echo "SKIP: nobody can write /var/lib/coinpipe"; exit 77; }
as_nobody "$COINPIPE_BIN" --once -c "$TMP/c.conf" > /dev/null 2> "$TMP/err"
expect_eq "$?" 1 "--once fails"
expect_contains "$TMP/err" "state directory /var/lib/coinpipe:" "names the directory"
expect_contains "$TMP/err" "it is the default because $TMP/c.conf sets no global.state_dir: set one you can write" \
    "says which option to set"
mkdir -m 555 "$TMP/ro"
sed -i "s|global = {|global = {\n  state_dir = \"$TMP/ro/state\";|" "$TMP/c.conf"
as_nobody "$COINPIPE_BIN" --once -c "$TMP/c.conf" > /dev/null 2> "$TMP/err2"
expect_eq "$?" 1 "--once fails with an unwritable state_dir"
expect_contains "$TMP/err2" "$TMP/c.conf:2: state directory $TMP/ro/state (global.state_dir): Permission denied" \
    "an explicit state_dir: file, line and the system's reason"
finish
