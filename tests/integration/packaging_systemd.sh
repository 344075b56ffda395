#!/usr/bin/env bash
# The service integration: the built unit passes `systemd-analyze verify`, and coinpipe
# speaks the sd_notify protocol (READY=1 once running, WATCHDOG=1 keep-alives when
# WATCHDOG_USEC is set, STOPPING=1 on SIGTERM) to a stand-in for systemd's socket.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
unit="$COINPIPE_BUILD/systemd/coinpipe.service"
[ -f "$unit" ] && pass "unit built" || { fail "no $unit"; finish; exit 1; }
for key in "Type=notify" "DynamicUser=yes" "StateDirectory=coinpipe" 'ExecReload=/bin/kill -HUP $MAINPID' \
    "ProtectSystem=strict" "ProtectHome=yes" "NoNewPrivileges=yes" "PrivateTmp=yes" \
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
else
    echo "note: systemd-analyze not installed (Debian package systemd); verify not run"
fi

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
kill -TERM "$pid"
wait "$pid"
expect_eq "$?" 0 "SIGTERM exits 0"
wait_for "grep -q STOPPING=1 $TMP/notify.log" 10 && pass "STOPPING=1 sent on SIGTERM" || fail "no STOPPING=1"
wait "$listener" 2>/dev/null
# without NOTIFY_SOCKET nothing is sent and nothing fails
"$COINPIPE_BIN" --once -c "$TMP/n.conf" > /dev/null 2>&1
expect_eq "$?" 0 "--once outside systemd is unaffected"
finish
