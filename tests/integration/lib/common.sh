# Shared helpers for the shell integration tests (sourced, not run).
# SPDX-License-Identifier: MIT
set -u
: "${COINPIPE_BIN:?run through ctest (make test)}"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/coinpipe-it-XXXXXX")
PIDS=()
cleanup_lib() {
    local p t
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
    # give them up to 5 s to exit, so none still writes under $TMP while it is removed
    for p in "${PIDS[@]:-}"; do
        t=0
        while [ -n "$p" ] && kill -0 "$p" 2>/dev/null && [ $t -lt 50 ]; do sleep 0.1; t=$((t + 1)); done
    done
    rm -rf "$TMP"
}
trap cleanup_lib EXIT
FAILS=0
PASSES=0
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; PASSES=$((PASSES + 1)); }
# expect_contains FILE STRING DESCRIPTION
expect_contains() { if grep -qF -- "$2" "$1"; then pass "$3"; else fail "$3: '$2' not in $1:"; sed 's/^/    /' "$1" >&2; fi; }
expect_not_contains() { if grep -qF -- "$2" "$1"; then fail "$3: '$2' found in $1"; else pass "$3"; fi; }
expect_eq() { if [ "$1" = "$2" ]; then pass "$3"; else fail "$3: expected '$2', got '$1'"; fi; }
# wait_for COND_CMD TIMEOUT_S
wait_for() { local t=0; while ! eval "$1"; do sleep 0.1; t=$((t + 1)); [ $t -ge $(($2 * 10)) ] && return 1; done; return 0; }
finish() { echo "$PASSES passed, $FAILS failed"; [ "$FAILS" -eq 0 ]; }
conf_head() {
    cat <<CONF
global = { state_dir = "$TMP/state"; log_format = "logfmt"; plugin_path = ["$COINPIPE_TEST_PLUGIN_DIR"]; shutdown_timeout = "20s"; };
CONF
}
# start_mock: the mock exchange (tests/mock_exchange/server.py) on a free port of 127.0.0.1;
# sets MOCK (its pid, stopped at exit) and URL. ctl PATH calls one of its /_mock/ endpoints.
start_mock() {
    python3 "$COINPIPE_SRC/tests/mock_exchange/server.py" --port-file "$TMP/port" > /dev/null &
    MOCK=$!; PIDS+=($MOCK)
    wait_for "[ -s $TMP/port ]" 10 || { echo "mock exchange did not start" >&2; exit 1; }
    URL="http://127.0.0.1:$(cat "$TMP/port")"
}
ctl() { python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1]).read()' "$URL$1"; }
# klines requests in the mock's log since its last reset: one "startTime limit" line each
klines() {
    python3 - "$URL" <<'P'
import json, sys, urllib.parse, urllib.request
reqs = json.load(urllib.request.urlopen(sys.argv[1] + "/_mock/requests"))["requests"]
for r in reqs:
    if r["path"] == "/api/v3/klines":
        q = urllib.parse.parse_qs(r["query"])
        print(q["startTime"][0], q["limit"][0])
P
}
# azurite_up: the shared Azurite answers before an Azure test starts. One that died earlier in the
# run (seen once in CI, after the release tree: connections refused for the ASan tree) is started
# again from its own start script, same port, account and data (the container made again if it was
# lost), and the test says so on stderr.
azurite_up() {
    . "$COINPIPE_SRC/tests/services/free-port.sh"
    wait_port "$COINPIPE_TEST_AZURE_PORT" 2 && return 0
    echo "note: Azurite did not answer on port $COINPIPE_TEST_AZURE_PORT; starting it again. The end of its log:" >&2
    tail -n 20 "$COINPIPE_TEST_AZURE_DIR/server.log" 2>/dev/null | sed 's/^/    /' >&2
    "$COINPIPE_TEST_AZURE_DIR/start"
    wait_port "$COINPIPE_TEST_AZURE_PORT" 30 || return 1
    # a server killed before it saved its metadata has lost the container
    python3 "$COINPIPE_SRC/tests/services/azure_blob.py" mkcontainer "$COINPIPE_TEST_AZURE_CONTAINER" >&2
}
