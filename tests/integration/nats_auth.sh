#!/usr/bin/env bash
# NATS with TLS (a CA made by the test) and user/password: a collector and a writer with the
# right CA and credentials move the rows; a wrong password is an error line naming the server's
# refusal, and the batch waits in the spool; a CA that did not sign the server's certificate
# is refused the same way. The secret is never logged.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
. "$(dirname "$0")/lib/nats.sh"
B=$COINPIPE_BIN
export COINPIPE_PLUGIN_PATH="$COINPIPE_BUILD_PLUGIN_DIR"
command -v openssl >/dev/null && command -v sqlite3 >/dev/null || { fail "openssl and sqlite3 needed"; finish; exit 1; }
cd "$TMP"
ca() { openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.pem" -subj "/CN=coinpipe test $1" -days 2 2>/dev/null; }
ca ca && ca otherca
openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' > ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile ext 2>/dev/null \
    && pass "test CA and server certificate made" || { fail "openssl failed"; finish; exit 1; }
nats_define n1
cat >> "$TMP/n1.nats.conf" <<C
tls { cert_file: "$TMP/server.pem", key_file: "$TMP/server.key" }
authorization { user: collector, password: "correct-horse" }
C
nats_start n1
url="tls://127.0.0.1:${NATS_PORT[n1]}"

collector() { # NAME PASSWORD CA
    { conf_head; cat <<C
pipelines = ( { name = "$1"; interval = "1h"; source = { plugin = "fake-source"; rows = 50; start = 5000; };
  sinks = ( { plugin = "nats"; servers = ["$url"]; tls_ca_file = "$TMP/$3.pem"; user = "collector"; password = "$2";
              ack_timeout = "1s"; retry_initial_interval = "200ms"; } ); } );
C
    } | sed "s|shutdown_timeout = \"20s\"|shutdown_timeout = \"2s\"|; s|state_dir = \"$TMP/state\"|state_dir = \"$TMP/state-$1\"|" > "$TMP/$1.conf"
    $B --once -c "$TMP/$1.conf" > /dev/null 2> "$TMP/$1.err"
}
collector wrongpw wrong-horse ca; rc=$?
expect_eq "$rc" 1 "a wrong password fails the run"
grep -q "level=error.*cannot connect to NATS: .*Authorization Violation" "$TMP/wrongpw.err" && pass "the refusal is named (Authorization Violation)" || fail "no error line naming the refusal"
expect_contains "$TMP/wrongpw.err" "1 batches not yet written stay in the spool" "the batch waits in the spool"
expect_not_contains "$TMP/wrongpw.err" "wrong-horse" "the password is not logged"
collector wrongca correct-horse otherca; rc=$?
expect_eq "$rc" 1 "a CA that did not sign the server's certificate fails the run"
grep -q "level=error.*closed for good" "$TMP/wrongca.err" && pass "the TLS failure is an error line" || fail "no error line for the TLS failure"
collector ok correct-horse ca; rc=$?
expect_eq "$rc" 0 "TLS and the right credentials publish"
{ conf_head; cat <<C
pipelines = ( { name = "wr"; batch_interval = "100ms";
  source = { plugin = "nats-consumer"; servers = ["$url"]; tls_ca_file = "$TMP/ca.pem"; user = "collector"; password = "correct-horse"; };
  sinks = ( { plugin = "sqlite"; path = "$TMP/w.db"; } ); } );
C
} | sed "s|state_dir = \"$TMP/state\"|state_dir = \"$TMP/state-wr\"|" > "$TMP/wr.conf"
$B -c "$TMP/wr.conf" > /dev/null 2> "$TMP/wr.err" &
W=$!; PIDS+=($W)
wait_for "[ \"\$(sqlite3 $TMP/w.db 'SELECT count(*) FROM ticker' 2>/dev/null)\" = 50 ]" 20 \
    && pass "the writer reads the 50 rows over TLS" || fail "the writer has $(sqlite3 "$TMP/w.db" 'SELECT count(*) FROM ticker' 2>&1) rows"
kill -TERM $W; wait $W; expect_eq "$?" 0 "the writer stops cleanly"
expect_not_contains "$TMP/wr.err" "correct-horse" "the password is not logged"
finish
