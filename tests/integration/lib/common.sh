# Shared helpers for the shell integration tests (sourced, not run).
# SPDX-License-Identifier: MIT
set -u
: "${COINPIPE_BIN:?run through ctest (make test)}"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/coinpipe-it-XXXXXX")
PIDS=()
cleanup_lib() {
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
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
