#!/usr/bin/env bash
# Shutdown is bounded: after SIGTERM nothing waits longer than shutdown_timeout (a producer
# blocked on a spool that cannot be written, a source stalled by a rate limit, an exchange that
# went away); a second SIGTERM exits at once; then SIGTERM at 50 random moments of a
# four-pipeline --once against the mock exchange, which is killed at a random moment too while
# the state directory becomes unwritable.
# SPDX-License-Identifier: MIT
. "$(dirname "$0")/lib/common.sh"
B=$COINPIPE_BIN
# (a plain file where the state directory was: every new spool segment fails with ENOTDIR)
break_state() { rm -rf "$1" && : > "$1"; }
# ms since the epoch
now_ms() { date +%s%3N; }
# wait_exit PID LIMIT_MS: waits for PID to end; sets RC and took (ms); kills it after LIMIT_MS
wait_exit() {
    local t0; t0=$(now_ms)
    while kill -0 "$1" 2>/dev/null; do
        if [ $(($(now_ms) - t0)) -gt "$2" ]; then kill -9 "$1" 2>/dev/null; break; fi
        sleep 0.02
    done
    wait "$1"; RC=$?
    took=$(($(now_ms) - t0))
}

blocked_conf() { # $1 state dir, $2 shutdown_timeout
    cat <<C
global = { state_dir = "$1"; log_format = "logfmt"; plugin_path = ["$COINPIPE_TEST_PLUGIN_DIR"]; shutdown_timeout = "$2"; };
pipelines = ( { name = "p"; interval = "1m";
  source = { plugin = "fake-source"; rows = 5; batches = 3; sleep = "1s"; };
  sinks = ( { plugin = "test-sink"; out = "$1.out"; } ); } );
C
}

# start_blocked NAME TIMEOUT [--once]: a run whose producer blocks on a spool that cannot be
# written (the state directory is broken during the source's first second); sets pid
start_blocked() {
    blocked_conf "$TMP/$1.state" "$2" > "$TMP/$1.conf"
    $B ${3:-} -c "$TMP/$1.conf" > /dev/null 2> "$TMP/$1.err" &
    pid=$!; PIDS+=($pid)
    wait_for "[ -d $TMP/$1.state/spool ]" 10 || fail "$1: no spool directory"
    sleep 0.3; break_state "$TMP/$1.state"
    wait_for "grep -q 'overflow = block' $TMP/$1.err" 10 && pass "$1: the producer blocks on the spool" ||
        fail "$1: the producer never blocked"
}

# 1. --once: SIGTERM ends the wait in time
start_blocked b1 1s --once
kill -TERM $pid
wait_exit $pid 6000
[ "$took" -le 6000 ] && pass "--once ends ${took} ms after SIGTERM (shutdown_timeout 1s)" ||
    fail "--once still running 6 s after SIGTERM"
expect_eq "$RC" 1 "--once that did not queue everything exits 1"
expect_contains "$TMP/b1.err" "not queued; the next start collects it again" "the refused batch is logged"
expect_contains "$TMP/b1.err" "checkpoints not saved" "checkpoints stay behind the refused batch"

# 2. the daemon: the same wait ends at shutdown_timeout
start_blocked b2 1s
kill -TERM $pid
wait_exit $pid 6000
[ "$took" -le 6000 ] && pass "the daemon ends ${took} ms after SIGTERM (shutdown_timeout 1s)" ||
    fail "the daemon still running 6 s after SIGTERM"
expect_contains "$TMP/b2.err" "a second SIGINT or SIGTERM exits at once" "the stop log names the second signal"

# 3. a second SIGTERM exits at once, even with a long shutdown_timeout
start_blocked b3 60s
kill -TERM $pid; sleep 0.5
kill -0 $pid 2>/dev/null && pass "the first SIGTERM waits for the cycle (shutdown_timeout 60s)" ||
    fail "the first SIGTERM did not wait"
kill -TERM $pid
wait_exit $pid 3000
[ "$took" -le 1000 ] && pass "a second SIGTERM exits at once (${took} ms)" || fail "a second SIGTERM took ${took} ms"
expect_eq "$RC" 143 "exit status after a second SIGTERM is 128 + 15"
expect_contains "$TMP/b3.err" "received a second SIGTERM: exiting now; unconfirmed batches stay in the spool" \
    "the second SIGTERM is logged"

# 4. SIGTERM at random moments of a four-pipeline --once; the exchange is killed at a random
#    moment and the state directory becomes unwritable. Bound: shutdown_timeout + 5 s.
RUNS=${SHUTDOWN_RUNS:-50}
TIMEOUT_S=1
LIMIT_MS=$(((TIMEOUT_S + 5) * 1000))
one_run() { # $1 run number; prints "ok MS" or "FAIL ..."
    local d="$TMP/r$1" mpid cpid t_term t_kill t_break t0 rc took
    mkdir -p "$d"
    python3 "$COINPIPE_SRC/tests/mock_exchange/server.py" --port-file "$d/port" > /dev/null 2>&1 &
    mpid=$!
    local n=0; while [ ! -s "$d/port" ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n + 1)); done
    local url="http://127.0.0.1:$(cat "$d/port")"
    cat > "$d/c.conf" <<C
global = { state_dir = "$d/state"; log_format = "logfmt"; plugin_path = ["$COINPIPE_BUILD_PLUGIN_DIR"];
  shutdown_timeout = "${TIMEOUT_S}s"; };
pipelines = (
 { name = "bs"; interval = "1m"; source = { plugin = "binance-spot"; base_url = "$url";
     symbols = ["BTCUSDT", "ETHBTC", "BNBBTC"]; streams = ["ticker", "book_top", "ohlcv", "trade"]; };
   sinks = ( { plugin = "stdout"; format = "jsonl"; } ); },
 { name = "bf"; interval = "1m"; source = { plugin = "binance-futures"; base_url = "$url"; symbols = ["BTCUSDT"]; };
   sinks = ( { plugin = "stdout"; format = "jsonl"; } ); },
 { name = "cg"; interval = "1m"; source = { plugin = "coingecko"; base_url = "$url";
     streams = ["market", "spot_price", "global"]; coins = ["bitcoin", "ethereum"]; };
   sinks = ( { plugin = "stdout"; format = "jsonl"; } ); },
 { name = "cb"; interval = "1m"; source = { plugin = "coinbase"; base_url = "$url"; symbols = ["BTC-USD"];
     streams = ["ticker", "ohlcv", "trade", "book_top"]; };
   sinks = ( { plugin = "stdout"; format = "jsonl"; } ); } );
C
    # moments in ms after the start: SIGTERM, the exchange's end, the state directory's
    t_term=$((RANDOM % 1200)); t_kill=$((RANDOM % 2000)); t_break=$((RANDOM % 1200))
    t0=$(now_ms)
    $B --once -c "$d/c.conf" > "$d/out.jsonl" 2> "$d/err" &
    cpid=$!
    local termed=0 killed=0 broken=0 alive=0 elapsed
    while :; do
        elapsed=$(($(now_ms) - t0))
        [ $killed = 0 ] && [ "$elapsed" -ge $t_kill ] && { kill -9 $mpid 2>/dev/null; killed=1; }
        [ $broken = 0 ] && [ "$elapsed" -ge $t_break ] && { break_state "$d/state"; broken=1; }
        if [ $termed = 0 ] && [ "$elapsed" -ge $t_term ]; then
            kill -TERM $cpid 2>/dev/null && alive=1; termed=$(now_ms)
        fi
        kill -0 $cpid 2>/dev/null || break
        [ $termed != 0 ] && [ $(($(now_ms) - termed)) -gt $LIMIT_MS ] && break
        sleep 0.01
    done
    kill -9 $mpid 2>/dev/null
    if kill -0 $cpid 2>/dev/null; then
        kill -9 $cpid; wait $cpid 2>/dev/null
        echo "FAIL run $1: still running $LIMIT_MS ms after SIGTERM (term at $t_term ms, exchange killed at $t_kill ms, state broken at $t_break ms); last lines:"
        tail -n 5 "$d/err" | sed 's/^/    /'
        return
    fi
    wait $cpid; rc=$?
    took=$(( $(now_ms) - (termed ? termed : $(now_ms)) ))
    if [ $rc -gt 128 ] && [ $rc != 143 ]; then
        echo "FAIL run $1: exit status $rc (term at $t_term ms)"; tail -n 5 "$d/err" | sed 's/^/    /'; return
    fi
    if grep -q "AddressSanitizer\|LeakSanitizer\|runtime error" "$d/err"; then
        echo "FAIL run $1: sanitizer report"; grep -m3 "AddressSanitizer\|LeakSanitizer\|runtime error" "$d/err"; return
    fi
    if grep -q '^{' "$d/out.jsonl" && ! python3 -c 'import json, sys
for l in open(sys.argv[1]):
    json.loads(l)' "$d/out.jsonl" 2>/dev/null; then
        # a row cut mid-line by the end of the process is allowed only as the last line
        python3 -c 'import json, sys
ls = open(sys.argv[1]).read().split("\n")
for l in ls[:-1]:
    json.loads(l)' "$d/out.jsonl" 2>/dev/null || { echo "FAIL run $1: invalid jsonl in the sink's output"; return; }
    fi
    echo "ok $took $rc $alive $(grep -c '^{' "$d/out.jsonl")"
    rm -rf "$d"
}
t_start=$(now_ms)
max=0; bad=0; running=0; wrote=0
for i in $(seq 1 2 "$RUNS"); do
    one_run "$i" > "$TMP/run.$i" &
    p1=$!
    [ "$i" -lt "$RUNS" ] && { one_run $((i + 1)) > "$TMP/run.$((i + 1))" & }
    wait
done
for i in $(seq 1 "$RUNS"); do
    r=$(head -n 1 "$TMP/run.$i")
    case "$r" in
    ok*)
        read -r _ t _ a rows <<< "$r"
        [ "$t" -gt "$max" ] && max=$t
        running=$((running + a)); [ "$rows" -gt 0 ] && wrote=$((wrote + 1)) ;;
    *) bad=$((bad + 1)); cat "$TMP/run.$i" >&2 ;;
    esac
done
[ "$bad" -eq 0 ] && pass "$RUNS random SIGTERMs: every run ended within shutdown_timeout + 5 s (slowest ${max} ms after SIGTERM, $(( ($(now_ms) - t_start) / 1000 )) s in all)" ||
    fail "$bad of $RUNS random SIGTERMs overran shutdown_timeout + 5 s or crashed"
# the runs must have been real: most got their SIGTERM mid-run, and some collected rows first
[ "$running" -ge $((RUNS / 4)) ] && pass "$running of $RUNS runs were still collecting at SIGTERM" ||
    fail "only $running of $RUNS runs were running at SIGTERM"
[ "$wrote" -ge 1 ] && pass "$wrote of $RUNS runs wrote rows before they stopped" || fail "no run wrote a row"
finish
