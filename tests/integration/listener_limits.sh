#!/usr/bin/env bash
# The listener under misuse: 64 idle connections do not deny /metrics and /health, an idle
# connection is closed within seconds, oversized request headers are refused, a bind beyond
# loopback is warned about, /health turns 503 when a sink dead-letters its batches, and with
# http_auth_token every path but /health needs the token, which no response ever contains.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
. "$COINPIPE_SRC/tests/services/free-port.sh"
command -v curl > /dev/null || { echo "SKIP: curl is not installed"; exit 77; }
port=$(free_port)
addr="127.0.0.1:$port"
token="s3cr3t-$RANDOM-token"
conf() { # conf LISTEN MODE [TOKEN]
    cat <<CONF
global = { state_dir = "$TMP/state"; log_format = "logfmt"; plugin_path = ["$COINPIPE_TEST_PLUGIN_DIR"];
           http_listen = "$1"; shutdown_timeout = "5s"; ${3:+http_auth_token = \"$3\";} };
pipelines = (
  { name = "p"; interval = "300ms"; source = { plugin = "fake-source"; rows = 2; };
    sinks = ( { plugin = "test-sink"; name = "store"; out = "$TMP/out.jsonl"; mode = "$2";
                retry_max_attempts = 1; } ); }
);
CONF
}
start() { # start CONF
    "$COINPIPE_BIN" -c "$1" > "$TMP/stdout" 2> "$TMP/err" &
    pid=$!
    PIDS+=("$pid")
    wait_port "$port" 20 || { fail "no listener"; cat "$TMP/err" >&2; finish; exit 1; }
}
stop() { kill -TERM "$pid"; wait "$pid"; }

# 1. idle connections
conf "$addr" ok > "$TMP/a.conf"
start "$TMP/a.conf"
python3 - "$port" 64 > "$TMP/idle.out" 2>&1 <<'PY' &
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
socks = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    socks.append(s)
print("opened", len(socks), flush=True)
time.sleep(2)
PY
idle=$!
wait_for "grep -q opened $TMP/idle.out" 10
expect_eq "$(curl -s -o /dev/null --max-time 2 -w '%{http_code}' "http://$addr/metrics")" 200 \
    "/metrics answers beside 64 idle connections"
expect_eq "$(curl -s -o /dev/null --max-time 2 -w '%{http_code}' "http://$addr/health")" 200 \
    "/health answers beside 64 idle connections"
wait "$idle"

# 2. an idle connection is closed within the idle timeout (3 s) plus slack
closed=$(python3 - "$port" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(10)
t = time.monotonic()
try:
    data = s.recv(100)
except OSError:
    data = b""
print("%.1f" % (time.monotonic() - t) if not data else "data")
PY
)
awk -v t="$closed" 'BEGIN { exit !(t != "data" && t + 0 >= 2 && t + 0 <= 5) }' \
    && pass "an idle connection is closed after ${closed}s" || fail "idle connection not closed in 2-5 s ($closed)"

# 3. oversized headers are refused and the listener goes on
big=$(head -c 40000 /dev/zero | tr '\0' 'x')
code=$(curl -s -o /dev/null --max-time 5 -w '%{http_code}' -H "X-Big: $big" "http://$addr/metrics")
[ "$code" = 431 ] || [ "$code" = 413 ] || [ "$code" = 000 ] && pass "40 kB of headers refused ($code)" \
    || fail "40 kB of headers answered $code"
expect_eq "$(curl -s -o /dev/null --max-time 2 -w '%{http_code}' "http://$addr/health")" 200 "served after a big request"
expect_not_contains "$TMP/err" "accepts connections from other hosts" "no warning on loopback"
stop

# 4. a sink that dead-letters every batch makes /health 503, naming it
conf "$addr" reject > "$TMP/b.conf"
start "$TMP/b.conf"
wait_for "[ \"\$(curl -s -o $TMP/h -w '%{http_code}' http://$addr/health)\" = 503 ]" 10 \
    && pass "/health is 503 while the sink dead-letters" || fail "/health stayed $(cat "$TMP/h")"
expect_contains "$TMP/h" "sink 'p/store' rejected its last batch" "/health names the sink"
expect_contains "$TMP/h" '"sink":"store","healthy":false' "/health lists the sink as unhealthy"
stop

# 4b. /health and /metrics read every sink's figures under the registry's lock while the sink's
# worker, dead-lettering under its own lock, logs the error into the registry: scraped hard while
# a fast pipeline dead-letters, the daemon must keep answering (it deadlocked once: the scrape
# waited for the sink, the sink for the registry)
conf "$addr" reject | sed 's/interval = "300ms"; source = { plugin = "fake-source"; rows = 2;/interval = "100ms"; source = { plugin = "fake-source"; rows = 2; batches = 50;/' > "$TMP/d.conf"
start "$TMP/d.conf"
python3 - "$port" > "$TMP/scrape.out" 2>&1 <<'PY'
import http.client, sys, threading, time
port, bad = int(sys.argv[1]), []
def scrape(path):
    end = time.time() + 6
    while time.time() < end and not bad:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            c.request("GET", path)
            c.getresponse().read()
            c.close()
        except Exception as e:
            bad.append("%s: %s" % (path, e))
ts = [threading.Thread(target=scrape, args=(p,)) for p in ("/health", "/metrics", "/health", "/api/v1/status")]
for t in ts: t.start()
for t in ts: t.join()
print("stuck: " + bad[0] if bad else "answered")
PY
expect_contains "$TMP/scrape.out" "answered" "/health and /metrics keep answering while a sink dead-letters fast"
kill -TERM "$pid"
wait_for "! kill -0 $pid 2>/dev/null" 15 && pass "exits after the scrape" || { fail "hung after the scrape"; kill -9 "$pid"; }
wait "$pid" 2>/dev/null

# 5. a bind beyond loopback is warned about; the token guards everything but /health
conf ":$port" ok "$token" > "$TMP/c.conf"
start "$TMP/c.conf"
expect_contains "$TMP/err" "http_listen \\\":$port\\\" accepts connections from other hosts" "warns on a wildcard bind"
expect_not_contains "$TMP/err" "no http_auth_token is set" "no token warning when a token is set"
expect_eq "$(curl -s -o "$TMP/r1" -w '%{http_code}' "http://$addr/metrics")" 401 "/metrics without the token: 401"
expect_eq "$(curl -s -o "$TMP/r2" -w '%{http_code}' -H "Authorization: Bearer wrong" "http://$addr/metrics")" 401 \
    "/metrics with a wrong token: 401"
expect_eq "$(curl -s -o "$TMP/r3" -w '%{http_code}' -H "Authorization: Bearer $token" "http://$addr/metrics")" 200 \
    "/metrics with the token: 200"
expect_eq "$(curl -s -o "$TMP/r4" -w '%{http_code}' "http://$addr/metrics?access_token=$token")" 200 \
    "/metrics with ?access_token: 200"
expect_eq "$(curl -s -o "$TMP/r5" -w '%{http_code}' "http://$addr/health")" 200 "/health needs no token"
expect_eq "$(curl -s -o "$TMP/r6" -w '%{http_code}' "http://$addr/")" 401 "/ without the token: 401"
curl -s -D - -o /dev/null "http://$addr/" > "$TMP/r7"
cat "$TMP"/r[1-7] > "$TMP/all"
expect_not_contains "$TMP/all" "$token" "no response carries the token"
expect_not_contains "$TMP/err" "$token" "the log does not carry the token"
stop
conf "0.0.0.0:$port" ok > "$TMP/d.conf"
start "$TMP/d.conf"
expect_contains "$TMP/err" "no http_auth_token is set" "warns that 0.0.0.0 without a token exposes the data"
stop
finish
