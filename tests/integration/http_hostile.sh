#!/usr/bin/env bash
# The HTTP service against a hostile server (tests/integration/lib/hostile_http.py): a gzip
# bomb, a 200 MB body, an endless chunked body, a slow-loris header, a huge Retry-After and
# redirects to another host or to ftp://. Four pipelines (workers = 4) ask it at once. Each
# `coinpipe --once` ends within its timeouts with a clear error, and its peak RSS stays under
# http_memory_budget (32 MB here) plus 50 MB; the same bomb and endless body under a budget too
# large to bind take it past that bound (the control that shows the check can fail).
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
export COINPIPE_PLUGIN_PATH="$COINPIPE_BUILD_PLUGIN_DIR" COINPIPE_HTTP_BACKOFF_MS=100
# in the ASan tree, freed blocks would wait in ASan's quarantine (256 MB): RSS is measured without it
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0"
budget_mb=32
# The bound is the budget plus 50 MB; in the ASan tree (shadow memory, redzones, a bigger idle
# process) plus the RSS of a benign failing run, measured first (the retryafter case).
limit_kb=$(((budget_mb + 50) * 1024))
asan=0
ldd "$COINPIPE_BIN" 2>/dev/null | grep -q libasan && asan=1
run_case() { # mode max-seconds expected-stderr-text [extra global options [budget-mb [over]]]
    local mode=$1 max=$2 want=$3 budget=${5:-$budget_mb} over=${6:-}
    rm -f "$TMP/port" "$TMP/$mode.log"
    python3 "$COINPIPE_SRC/tests/integration/lib/hostile_http.py" "$mode" "$TMP/port" "$TMP/$mode.log" &
    local srv=$!; PIDS+=($srv)
    wait_for "[ -s $TMP/port ]" 30 || { fail "$mode: the hostile server did not start"; return; }
    cat > "$TMP/$mode.conf" <<C
global = { state_dir = "$TMP/state-$mode"; log_format = "logfmt"; plugin_path = ["$COINPIPE_TEST_PLUGIN_DIR"];
           http_memory_budget = "${budget}M"; ${4:-} };
pipelines = ( $(for i in 1 2 3 4; do printf '%s{ name = "hostile%d"; interval = "1m";
  source = { plugin = "binance-spot"; base_url = "http://127.0.0.1:%s"; symbols = ["BTCUSDT"]; };
  sinks = ( { plugin = "stdout"; } ); }\n' "${sep:-}" $i "$(cat "$TMP/port")"; sep=,; done) );
C
    # peak RSS of the child (KiB) from getrusage, wall seconds, exit code
    python3 - "$COINPIPE_BIN" "$TMP/$mode.conf" "$TMP/$mode.err" > "$TMP/$mode.res" <<'PY'
import resource, subprocess, sys, time
t = time.monotonic()
with open(sys.argv[3], "w") as err:
    rc = subprocess.call([sys.argv[1], "--once", "-c", sys.argv[2]], stdout=subprocess.DEVNULL, stderr=err, timeout=300)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, int(time.monotonic() - t), rc)
PY
    read -r rss secs rc < "$TMP/$mode.res"
    kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null
    expect_eq "$rc" 1 "$mode: --once fails"
    if [ "$secs" -le "$max" ]; then pass "$mode: ends in ${secs}s (at most ${max}s)"; else fail "$mode: took ${secs}s (over ${max}s)"; fi
    if [ "$mode" = retryafter ] && [ $asan = 1 ] && [ -z "${base_kb:-}" ]; then
        base_kb=$rss
        limit_kb=$((limit_kb + base_kb))
    fi
    if [ -n "$over" ]; then # the control: without a budget that binds, the bound does not hold
        if [ "$rss" -ge "$limit_kb" ]; then pass "$mode with a ${budget} MB budget: peak RSS $((rss / 1024)) MB, past the $((limit_kb / 1024)) MB bound"
        else fail "$mode with a ${budget} MB budget: peak RSS $((rss / 1024)) MB, under $((limit_kb / 1024)) MB: the RSS check would not catch a missing budget"; fi
    elif [ "$rss" -lt "$limit_kb" ]; then pass "$mode: peak RSS $((rss / 1024)) MB under $((limit_kb / 1024)) MB"
    else fail "$mode: peak RSS $((rss / 1024)) MB over $((limit_kb / 1024)) MB"; fi
    expect_contains "$TMP/$mode.err" "$want" "$mode: the error says why"
}
run_case retryafter 15 "longer than retry_after_max (300 s): its requests fail until"
run_case bomb 30 "would exceed the memory budget (http_memory_budget = 32 MiB;"
run_case huge 30 "would exceed the memory budget (http_memory_budget = 32 MiB;"
run_case endless 30 "would exceed the memory budget (http_memory_budget = 32 MiB;"
# The control: the same bomb and endless body with a budget far above them (4 GiB) take the
# process past the bound (only the 64 MiB cap per body holds), so the cases above measure the budget.
run_case bomb 30 "response body larger than 64 MiB" "" 4096 over
run_case endless 30 "response body larger than 64 MiB" "" 4096 over
run_case redirect 15 "redirect to http://localhost:"
expect_eq "$(grep -c '^localhost' "$TMP/redirect.log")" 0 "redirect: nothing was sent to the other host"
run_case redirectftp 15 "redirect to ftp://127.0.0.1"
run_case redirect 15 "only same-host https redirects are followed" 'http_redirects = "same-host-https";'
# slow-loris: 4 attempts of the 10 s request timeout, then the cycle fails
run_case slowloris 60 "failed after 4 attempts: Operation timed out"
finish
