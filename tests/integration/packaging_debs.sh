#!/usr/bin/env bash
# The Debian packages end to end: builds them (tools/build-debs.sh: dpkg-buildpackage,
# lintian without errors), installs them on this machine with apt-get, runs the installed
# coinpipe (--version, --check, --list-plugins from the installed plugin directory), checks
# the unit and man pages, builds examples/plugin-hello against the installed coinpipe-dev
# with pkg-config and loads it, then purges the packages and checks nothing is left.
# Needs root (apt-get); CI runs as root. Runs serialised (a lock) across build trees.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
SUDO=
if [ "$(id -u)" -ne 0 ]; then
    if sudo -n true 2> /dev/null; then SUDO="sudo -n"; else
        fail "installing packages needs root or password-less sudo"; finish; exit 1
    fi
fi
for tool in dpkg-buildpackage dh apt-get; do
    command -v $tool > /dev/null || { fail "$tool missing: run tools/install-deps.sh (tools/deps-debian.txt)"; finish; exit 1; }
done
exec 9> "${TMPDIR:-/tmp}/coinpipe-packaging-test.lock"
flock 9
export DEBIAN_FRONTEND=noninteractive
pkgs="coinpipe coinpipe-postgresql coinpipe-nats coinpipe-dev"
purge() { $SUDO apt-get purge -y -q $pkgs > "$TMP/purge.log" 2>&1; }
already=$(dpkg-query -W -f='${Package} ${Status}\n' $pkgs 2> /dev/null | grep -c "install ok installed")
[ "$already" -gt 0 ] && echo "note: coinpipe packages were installed before this test; they are replaced and purged"
trap 'purge; cleanup_lib' EXIT

t0=$(date +%s)
# one job at the lowest priority: the timing-sensitive tests ctest runs alongside keep their CPU
if COINPIPE_DEB_JOBS=1 nice -n 19 "$COINPIPE_SRC/tools/build-debs.sh" "$TMP/debs" > "$TMP/build.log" 2>&1; then
    pass "packages built and lintian reports no errors ($(($(date +%s) - t0))s)"
else
    fail "package build or lintian failed:"; sed 's/^/    /' "$TMP/build.log" >&2; finish; exit 1
fi
grep -E '^[EW]: ' "$TMP/debs/lintian.txt" | sed 's/^/    lintian: /'
for p in $pkgs; do
    deb=$(ls "$TMP/debs/${p}_"*.deb 2> /dev/null)
    [ -n "$deb" ] && echo "    $(basename "$deb"): $(stat -c %s "$deb") bytes" || fail "no $p package"
done
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
plugindir="/usr/lib/$multiarch/coinpipe/plugins"
dpkg-deb -c "$TMP/debs"/coinpipe-postgresql_*.deb | grep -q "\./usr/lib/$multiarch/coinpipe/plugins/postgresql.so$" \
    && pass "coinpipe-postgresql has the PostgreSQL sink" || fail "postgresql.so not in coinpipe-postgresql"
dpkg-deb -c "$TMP/debs"/coinpipe_*.deb | grep -q "postgresql.so" && fail "postgresql.so also in coinpipe" \
    || pass "coinpipe does not carry the PostgreSQL sink"
for so in nats.so nats_consumer.so; do
    dpkg-deb -c "$TMP/debs"/coinpipe-nats_*.deb | grep -q "\./usr/lib/$multiarch/coinpipe/plugins/$so$" \
        && pass "coinpipe-nats has $so" || fail "$so not in coinpipe-nats"
    dpkg-deb -c "$TMP/debs"/coinpipe_*.deb | grep -q "/$so$" && fail "$so also in coinpipe" || pass "coinpipe does not carry $so"
done
dpkg-deb -I "$TMP/debs"/coinpipe_*.deb | grep -q "libnats" && fail "coinpipe depends on libnats" || pass "coinpipe does not pull in libnats"
dpkg-deb -I "$TMP/debs"/coinpipe_*.deb | grep -q "libpq" && fail "coinpipe depends on libpq" || pass "coinpipe does not pull in libpq"
dpkg-deb -f "$TMP/debs"/coinpipe_*.deb Depends | grep -q "libmicrohttpd" \
    && pass "coinpipe depends on libmicrohttpd (opened at run time)" || fail "coinpipe lacks a libmicrohttpd dependency"
dpkg-deb -c "$TMP/debs"/coinpipe_*.deb | grep -q "lib/systemd/system/coinpipe.service$" && pass "unit packaged" || fail "no unit in coinpipe"
for f in index.html app.js style.css lightweight-charts.standalone.production.js LICENSE-lightweight-charts.txt; do
    dpkg-deb -c "$TMP/debs"/coinpipe_*.deb | grep -q "\./usr/share/coinpipe/web/$f$" \
        && pass "the dashboard's $f is in coinpipe" || fail "usr/share/coinpipe/web/$f not in coinpipe"
done

(cd "$TMP/debs" && $SUDO apt-get install -y -q --allow-downgrades ./coinpipe_*.deb ./coinpipe-postgresql_*.deb ./coinpipe-nats_*.deb ./coinpipe-dev_*.deb) \
    > "$TMP/install.log" 2>&1
rc=$?
expect_eq "$rc" 0 "apt-get install ./*.deb"
[ $rc -eq 0 ] || { sed 's/^/    /' "$TMP/install.log" >&2; finish; exit 1; }
cd "$TMP"
export -n COINPIPE_PLUGIN_PATH 2> /dev/null
unset COINPIPE_PLUGIN_PATH
version=$(sed -n 's/^project(coinpipe VERSION \([0-9.]*\).*/\1/p' "$COINPIPE_SRC/CMakeLists.txt")
/usr/bin/coinpipe --version > "$TMP/version" 2>&1
expect_contains "$TMP/version" "coinpipe $version" "installed coinpipe --version"
[ -f /etc/coinpipe/coinpipe.conf ] && pass "default config installed" || fail "no /etc/coinpipe/coinpipe.conf"
expect_not_contains /etc/coinpipe/coinpipe.conf '"data/' "the installed config has no path relative to the working directory"
expect_contains /etc/coinpipe/coinpipe.conf 'path = "/var/lib/coinpipe/coinpipe.db"' "the installed config's database is in the state directory"
[ -f "/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)/coinpipe/plugins/plugin-packages" ] \
    && pass "plugin-packages installed beside the plugins" || fail "no plugin-packages beside the plugins"
dpkg-query -W -f='${Conffiles}\n' coinpipe | grep -q "/etc/coinpipe/coinpipe.conf" \
    && pass "coinpipe.conf is a conffile" || fail "coinpipe.conf is not a conffile"

/usr/bin/coinpipe --list-plugins > "$TMP/list" 2>&1
expect_eq "$?" 0 "--list-plugins succeeds"
missing=0
for so in "$COINPIPE_BUILD_PLUGIN_DIR"/*.so; do
    file=$(basename "$so")
    [ -f "$plugindir/$file" ] || { fail "plugin $file not installed in $plugindir"; missing=1; }
done
n_installed=$(tail -n +2 "$TMP/list" | wc -l)
n_built=$(ls "$COINPIPE_BUILD_PLUGIN_DIR"/*.so | wc -l)
expect_eq "$n_installed" "$n_built" "--list-plugins finds every built plugin ($n_built) from the installed path"
[ $missing -eq 0 ] && pass "every plugin is in $plugindir"
/usr/bin/coinpipe --describe stdout > "$TMP/describe" 2>&1
expect_contains "$TMP/describe" "file: $plugindir/stdout.so" "plugins load from $plugindir"

# --check the default config when all its plugins are installed, else a config of installed ones
wanted=$(sed -n 's/.*plugin *= *"\([^"]*\)".*/\1/p' /etc/coinpipe/coinpipe.conf | sort -u)
absent=""
for p in $wanted; do
    awk '{ print $1 }' "$TMP/list" | grep -qx "$p" || absent="$absent $p"
done
if [ -z "$absent" ]; then
    echo "note: every plugin of the default config is installed ($(echo $wanted)): checking /etc/coinpipe/coinpipe.conf"
    check_conf=/etc/coinpipe/coinpipe.conf
else
    echo "note: default config names plugins not installed ($absent): checking a config of installed plugins instead"
    check_conf="$TMP/installed.conf"
    src=$(awk '$2 == "source" { print $1 }' "$TMP/list" | grep -x coingecko || awk '$2 == "source" { print $1; exit }' "$TMP/list")
    printf 'pipelines = ( { name = "p"; interval = "1m"; source = { plugin = "%s"; };\n  sinks = ( { plugin = "stdout"; } ); } );\n' \
        "${src:-coingecko}" > "$check_conf"
fi
/usr/bin/coinpipe --check -c "$check_conf" > "$TMP/check" 2>&1
expect_eq "$?" 0 "coinpipe --check -c $check_conf"
expect_contains "$TMP/check" "OK" "--check says OK"
if [ "$check_conf" = /etc/coinpipe/coinpipe.conf ]; then
    (cd "$TMP" && /usr/bin/coinpipe --check) > "$TMP/check2" 2>&1
    expect_eq "$?" 0 "coinpipe --check uses /etc/coinpipe/coinpipe.conf by default"
fi

if command -v systemd-analyze > /dev/null; then
    systemd-analyze verify /lib/systemd/system/coinpipe.service > "$TMP/verify" 2>&1
    rc=$?
    expect_eq "$rc" 0 "systemd-analyze verify of the installed unit (man pages included)"
    [ $rc -eq 0 ] || sed 's/^/    /' "$TMP/verify" >&2
fi
for page in 1/coinpipe 5/coinpipe.conf 7/coinpipe-plugin; do
    f="/usr/share/man/man${page%%/*}/${page#*/}.${page%%/*}.gz"
    if [ -f "$f" ]; then
        w=$(MANWIDTH=80 man --warnings -l "$f" 2>&1 > /dev/null)
        expect_eq "$w" "" "installed ${page#*/}(${page%%/*}) renders without warnings"
    else
        fail "man page $f not installed"
    fi
done

# the example plugin, built against the installed SDK only
ex=/usr/share/doc/coinpipe-dev/examples/plugin-hello
if [ ! -d "$ex" ]; then # a system that excludes /usr/share/doc from dpkg installs
    dpkg-deb -x "$TMP/debs"/coinpipe-dev_*.deb "$TMP/devpkg"
    ex="$TMP/devpkg$ex"
fi
cp -r "$ex" "$TMP/hello-src"
expect_eq "$(pkg-config --variable=plugindir coinpipe)" "$plugindir" "pkg-config plugindir is the installed plugin directory"
(cmake -S "$TMP/hello-src" -B "$TMP/hello-obj" && cmake --build "$TMP/hello-obj") > "$TMP/hello.log" 2>&1
rc=$?
expect_eq "$rc" 0 "examples/plugin-hello builds against coinpipe-dev with pkg-config"
[ $rc -eq 0 ] || sed 's/^/    /' "$TMP/hello.log" >&2
COINPIPE_PLUGIN_PATH="$TMP/hello-obj" /usr/bin/coinpipe --list-plugins > "$TMP/list2" 2>&1
expect_contains "$TMP/list2" "hello              source" "installed coinpipe loads the example plugin"
sed "1i global = { state_dir = \"$TMP/state\"; };" "$TMP/hello-src/hello.conf" > "$TMP/hello.conf"
COINPIPE_PLUGIN_PATH="$TMP/hello-obj" /usr/bin/coinpipe --once -c "$TMP/hello.conf" > "$TMP/hello.out" 2> "$TMP/hello.err"
expect_eq "$?" 0 "installed coinpipe runs the example plugin (--once)"
expect_contains "$TMP/hello.out" '"coin_id":"ethereum"' "example plugin rows reach the installed stdout sink"

purge
rc=$?
expect_eq "$rc" 0 "apt-get purge"
[ $rc -eq 0 ] || sed 's/^/    /' "$TMP/purge.log" >&2
left=$(dpkg-query -W -f='${Package} ${Status}\n' $pkgs 2> /dev/null | grep -v "not-installed" || true)
expect_eq "$left" "" "no package state left after purge"
for path in /usr/bin/coinpipe /etc/coinpipe "/usr/lib/$multiarch/coinpipe" /usr/include/coinpipe \
    /lib/systemd/system/coinpipe.service /etc/systemd/system/multi-user.target.wants/coinpipe.service; do
    [ -e "$path" ] && fail "$path left after purge"
done
pass "no files left after purge"
echo "total $(($(date +%s) - t0))s"
finish
