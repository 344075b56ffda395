#!/usr/bin/env bash
# The service integration: the built unit passes `systemd-analyze verify`, and coinpipe
# speaks the sd_notify protocol (READY=1 once running, WATCHDOG=1 keep-alives when
# WATCHDOG_USEC is set, RELOADING=1 then READY=1 on SIGHUP, STOPPING=1 on SIGTERM) to a
# stand-in for systemd's socket.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
unit="$COINPIPE_BUILD/systemd/coinpipe.service"
[ -f "$unit" ] && pass "unit built" || { fail "no $unit"; finish; exit 1; }
for key in "Type=notify" "DynamicUser=yes" "StateDirectory=coinpipe" 'ExecReload=/bin/kill -HUP $MAINPID' \
    "WatchdogSec=60s" "ProtectSystem=strict" "ProtectHome=yes" "NoNewPrivileges=yes" "PrivateTmp=yes" \
    "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX"; do
    grep -qxF -- "$key" "$unit" || fail "unit lacks $key"
done
pass "unit has Type=notify, the dynamic user, state directory, reload and hardening"
if command -v systemd-analyze > /dev/null; then
    # verify needs ExecStart to exist: check a copy that runs the build tree's binary
    sed "s|^ExecStart=[^ ]*|ExecStart=$COINPIPE_BIN|" "$unit" > "$TMP/coinpipe.service"
    systemd-analyze verify --man=no "$TMP/coinpipe.service" > "$TMP/verify" 2>&1
    rc=$?
    expect_eq "$rc" 0 "systemd-analyze verify passes"
    [ $rc -eq 0 ] || cat "$TMP/verify" >&2
    # the template for sharded collectors, as instance 1-3 (shard 1/3)
    sed "s|^ExecStart=[^ ]*|ExecStart=$COINPIPE_BIN|" "$COINPIPE_BUILD/systemd/coinpipe@.service" > "$TMP/coinpipe@.service"
    systemd-analyze verify --man=no "$TMP/coinpipe@1-3.service" > "$TMP/verify@" 2>&1
    expect_eq "$?:$(cat "$TMP/verify@")" "0:" "systemd-analyze verify passes coinpipe@1-3.service without a remark"
else
    echo "note: systemd-analyze not installed (Debian package systemd); verify not run"
fi
for key in "Environment=COINPIPE_SHARD=%I" "StateDirectory=coinpipe-%i" "WorkingDirectory=%S/coinpipe-%i" "Type=notify"; do
    grep -qxF -- "$key" "$COINPIPE_BUILD/systemd/coinpipe@.service" || fail "coinpipe@.service lacks $key"
done
pass "coinpipe@.service gives each instance its shard and state directory"

# sd_notify: a datagram socket standing in for systemd
cat > "$TMP/notify.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(30)
with open(sys.argv[2], "a") as out:
    while True:
        try:
            msg = s.recv(4096).decode()
        except socket.timeout:
            break
        out.write(msg.replace("\n", " ") + "\n")
        out.flush()
        if "STOPPING=1" in msg:
            break
PY
python3 "$TMP/notify.py" "$TMP/notify.sock" "$TMP/notify.log" &
PIDS+=($!)
listener=$!
wait_for "[ -S $TMP/notify.sock ]" 10 || fail "notify socket not created"
{ conf_head; cat <<CONF
pipelines = ( { name = "p"; interval = "500ms"; source = { plugin = "fake-source"; };
                sinks = ( { plugin = "test-sink"; out = "$TMP/sink.out"; } ); } );
CONF
} > "$TMP/n.conf"
NOTIFY_SOCKET="$TMP/notify.sock" WATCHDOG_USEC=400000 "$COINPIPE_BIN" -c "$TMP/n.conf" > /dev/null 2> "$TMP/err" &
pid=$!
PIDS+=("$pid")
wait_for "grep -q READY=1 $TMP/notify.log 2>/dev/null" 20 && pass "READY=1 sent" || fail "no READY=1"
expect_contains "$TMP/notify.log" "STATUS=running 1 pipelines" "STATUS sent with READY"
wait_for "[ \$(grep -c WATCHDOG=1 $TMP/notify.log) -ge 3 ]" 10 && pass "WATCHDOG=1 keep-alives sent" || fail "no watchdog pings"
# SIGHUP: RELOADING=1 (with MONOTONIC_USEC) then READY=1 again, also when the new config is refused
kill -HUP "$pid"
wait_for "grep -q RELOADING=1 $TMP/notify.log" 10 && pass "RELOADING=1 sent on SIGHUP" || fail "no RELOADING=1"
expect_contains "$TMP/notify.log" "MONOTONIC_USEC=" "RELOADING=1 carries MONOTONIC_USEC"
wait_for "[ \$(grep -c READY=1 $TMP/notify.log) -ge 2 ]" 20 && pass "READY=1 after the reload" || fail "no READY=1 after reload"
cp "$TMP/n.conf" "$TMP/n.good"
echo "pipelines = (" > "$TMP/n.conf"   # a broken config: the reload is refused, the service keeps running
kill -HUP "$pid"
wait_for "[ \$(grep -c RELOADING=1 $TMP/notify.log) -ge 2 ]" 10 || fail "no second RELOADING=1"
wait_for "[ \$(grep -c READY=1 $TMP/notify.log) -ge 3 ]" 20 && pass "READY=1 after a refused reload" || fail "no READY=1 after a refused reload"
expect_contains "$TMP/err" "reload refused" "the refused reload is logged"
cp "$TMP/n.good" "$TMP/n.conf"
kill -TERM "$pid"
wait "$pid"
expect_eq "$?" 0 "SIGTERM exits 0"
wait_for "grep -q STOPPING=1 $TMP/notify.log" 10 && pass "STOPPING=1 sent on SIGTERM" || fail "no STOPPING=1"
wait "$listener" 2>/dev/null
# without NOTIFY_SOCKET nothing is sent and nothing fails
"$COINPIPE_BIN" --once -c "$TMP/n.conf" > /dev/null 2>&1
expect_eq "$?" 0 "--once outside systemd is unaffected"
finish
